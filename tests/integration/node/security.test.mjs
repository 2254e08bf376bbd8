// Security through the real binary (docs/SECURITY.md lists each rule and its
// test here): origin checks, encryption at rest, content filters, the channel
// permissions of every request and API route, and secrets kept out of logs,
// metrics, audit rows and error events.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Client, Project, signToken } from './harness.mjs';

const run = promisify(execFile);
const ENCRYPTION_KEY = randomBytes(32).toString('hex');
const ALLOWED_ORIGIN = 'https://app.example.com';

let project;
let adminSecret;
let base;
// Every text the server sent to a client or answered over HTTP, checked for secrets at the end.
const seen = [];

function env(dir) {
  const text = readFileSync(join(dir, '.env'), 'utf8');
  return Object.fromEntries(
    text.split('\n').filter((line) => /^[A-Z_]+=/.test(line)).map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1)];
    }),
  );
}

async function connect(sub, options = {}, extra = {}) {
  const client = await Client.connect(project.url(`?token=${project.token(sub, extra)}`), options);
  client.ws.on('message', (data) => seen.push(data.toString()));
  await client.next('auth_ok');
  return client;
}

async function api(method, path, { secret = adminSecret, token = null, body } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (secret !== null) headers['x-realtime-admin-secret'] = secret;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  seen.push(text);
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function sqlite(sql) {
  const { stdout } = await run('sqlite3', [join(project.dir, '.nself/realtime/realtime.db'), sql]);
  return stdout;
}

before(async () => {
  project = await Project.create({
    env: {
      REALTIME_LOG_LEVEL: 'debug',
      REALTIME_ALLOWED_ORIGINS: `${ALLOWED_ORIGIN}, http://localhost:5173`,
      REALTIME_ENCRYPTION_KEY: ENCRYPTION_KEY,
      REALTIME_CONTENT_FILTERS: String.raw`\b\d{4}-\d{4}-\d{4}-\d{4}\b, (?i)password=\S+`,
      // A1 refuses ~100 calls from one address; past the failure limit (A5,
      // tested in hostile_http.test.mjs) they would get 429 instead.
      REALTIME_ADMIN_AUTH_FAILURES_PER_MINUTE: '0',
    },
  });
  await project.mustRealtime(['init']);
  adminSecret = env(project.dir).REALTIME_ADMIN_SECRET;
  assert.ok(adminSecret);
  await project.mustRealtime(['channel', 'create', 'general']);
  await project.mustRealtime(['channel', 'create', 'lobby', 'presence']);
  await project.mustRealtime(['channel', 'create', 'secret-team', 'private']);
  await project.mustRealtime(['channel', 'members', 'secret-team', 'add', 'alice']);
  await project.mustRealtime(['start']);
  base = `http://127.0.0.1:${project.port}`;
});
after(async () => project.cleanup());

// ---- origins (REALTIME_ALLOWED_ORIGINS)

test('origin: a browser upgrade from an origin not listed is refused with 403', async () => {
  await assert.rejects(
    Client.connect(project.url(`?token=${project.token('eve')}`), { origin: 'https://evil.example' }),
    /HTTP 403/,
  );
  await assert.rejects(Client.connect(project.url(), { origin: 'null' }), /HTTP 403/);
  await assert.rejects(Client.connect(project.url(), { origin: 'http://app.example.com' }), /HTTP 403/);
});

test('origin: a listed origin (any case) and a client without Origin connect', async () => {
  const browser = await connect('alice', { origin: 'HTTPS://APP.example.com' });
  await browser.close();
  const local = await connect('alice', { origin: 'http://localhost:5173' });
  await local.close();
  const backend = await connect('alice');
  await backend.close();
});

// ---- encryption at rest (REALTIME_ENCRYPTION_KEY)

test('encryption: content is sealed in the database and plaintext in history', async () => {
  const alice = await connect('alice');
  alice.send({ type: 'subscribe', channel: 'general' });
  await alice.next('subscribed');
  alice.send({ type: 'message', channel: 'general', content: { text: 'launch code swordfish' }, ref: 'm1' });
  await alice.next('ack');
  const live = await alice.next('message');
  assert.deepEqual(live.content, { text: 'launch code swordfish' });

  alice.send({ type: 'history', channel: 'general', ref: 'h1' });
  const history = await alice.next('history');
  assert.deepEqual(history.messages.at(-1).content, { text: 'launch code swordfish' });
  await alice.close();

  const raw = await sqlite('SELECT content FROM messages');
  assert.ok(!raw.includes('swordfish'), `the stored row holds the plaintext: ${raw}`);
  assert.match(raw, /^"nself-enc:v1:[A-Za-z0-9_-]+"$/m);
  const api_history = await api('GET', '/api/channels/general/messages');
  assert.equal(api_history.status, 200);
  assert.deepEqual(api_history.body.messages.at(-1).content, { text: 'launch code swordfish' });
});

// ---- content filters (REALTIME_CONTENT_FILTERS)

test('filters: matches are redacted before delivery and storage (WebSocket and API)', async () => {
  const alice = await connect('alice');
  alice.send({ type: 'subscribe', channel: 'general' });
  await alice.next('subscribed');
  alice.send({
    type: 'message', channel: 'general', ref: 'f1',
    content: { text: 'card 4111-1111-1111-1111 and PASSWORD=hunter2 ok', n: 4111 },
  });
  const live = await alice.next('message');
  assert.deepEqual(live.content, { text: 'card [redacted] and [redacted] ok', n: 4111 });

  const published = await api('POST', '/api/channels/general/messages', {
    body: { content: 'api says password=opensesame', user_id: 'bot' },
  });
  assert.equal(published.status, 201);
  assert.equal(published.body.message.content, 'api says [redacted]');
  const relayed = await alice.next('message');
  assert.equal(relayed.content, 'api says [redacted]');

  const history = await api('GET', '/api/channels/general/messages');
  const texts = JSON.stringify(history.body.messages);
  assert.ok(!texts.includes('hunter2') && !texts.includes('opensesame') && !texts.includes('4111-1111'));
  await alice.close();
});

// Issue 16 item 14: filters matched string values only, so a secret in an
// object key, or anywhere in presence metadata, went through as sent.
test('filters: object keys and presence metadata are redacted too', async () => {
  const alice = await connect('alice');
  alice.send({ type: 'subscribe', channel: 'general' });
  await alice.next('subscribed');
  alice.send({
    type: 'message', channel: 'general', ref: 'k1',
    content: { 'password=hunter3': 'password=hunter4', nested: [{ 'card 4111-2222-3333-4444': 1 }] },
  });
  const live = await alice.next('message');
  assert.deepEqual(live.content, { '[redacted]': '[redacted]', nested: [{ 'card [redacted]': 1 }] });
  const published = await api('POST', '/api/channels/general/messages', {
    body: { content: { 'password=apikey5': true }, user_id: 'bot' },
  });
  assert.equal(published.status, 201);
  assert.deepEqual(published.body.message.content, { '[redacted]': true });
  assert.deepEqual((await alice.next('message')).content, { '[redacted]': true });

  // Presence metadata: bob sees alice's update, a later subscriber the state.
  const bob = await connect('bob');
  bob.send({ type: 'subscribe', channel: 'lobby', ref: 'b' });
  await bob.next('presence_state');
  alice.send({ type: 'subscribe', channel: 'lobby', ref: 'a' });
  await alice.next('presence_state');
  await bob.next((event) => event.type === 'presence_join' && event.user_id === 'alice');
  alice.send({
    type: 'presence', status: 'away',
    meta: { note: 'my PASSWORD=hunter6', 'password=hunter7': 'desk', card: '4111-5555-6666-7777' },
  });
  const expected = { note: 'my [redacted]', '[redacted]': 'desk', card: '[redacted]' };
  const update = await bob.next((event) => event.type === 'presence_update' && event.user_id === 'alice');
  assert.deepEqual(update.meta, expected);
  const carol = await connect('carol');
  carol.send({ type: 'subscribe', channel: 'lobby', ref: 'c' });
  const state = await carol.next('presence_state');
  assert.deepEqual(state.members.find((member) => member.user_id === 'alice').meta, expected);

  const history = JSON.stringify((await api('GET', '/api/channels/general/messages')).body.messages);
  // The rows of realtime.presence are written behind the events: wait for alice's away row.
  let presence = '';
  for (let tries = 0; tries < 100 && !presence.includes('desk'); ++tries) {
    presence = await sqlite("SELECT metadata FROM presence WHERE status = 'away'");
    if (!presence.includes('desk')) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(presence.includes('desk'), `no away row for alice: ${presence}`);
  for (const secret of ['hunter3', 'hunter4', 'apikey5', 'hunter6', 'hunter7', '2222-3333', '5555-6666']) {
    assert.ok(!history.includes(secret), `${secret} in history: ${history}`);
    assert.ok(!presence.includes(secret), `${secret} in realtime.presence: ${presence}`);
  }
  await Promise.all([alice.close(), bob.close(), carol.close()]);
});

// ---- channel permissions: a private channel, member alice, non-member bob

test('permissions: a non-member can neither read nor write a private channel by any request', async () => {
  const bob = await connect('bob');
  const refused = async (request, ref) => {
    bob.send({ ...request, ref });
    const reply = await bob.next((event) => event.ref === ref);
    assert.equal(reply.type, 'error', `${request.type} was not refused: ${JSON.stringify(reply)}`);
    assert.equal(reply.code, 'forbidden', JSON.stringify(reply));
  };
  await refused({ type: 'subscribe', channel: 'secret-team' }, 'p-sub');
  await refused({ type: 'subscribe', channel: 'secret-team', history: 10 }, 'p-sub-history');
  await refused({ type: 'history', channel: 'secret-team' }, 'p-history');
  await refused({ type: 'message', channel: 'secret-team', content: 'intrusion' }, 'p-message');
  await refused({ type: 'presence', status: 'online', channel: 'secret-team' }, 'p-presence');
  await refused({ type: 'read', channel: 'secret-team', seq: 1 }, 'p-read');
  // typing carries no ref: its refusal is the next error.
  bob.send({ type: 'typing', channel: 'secret-team', typing: true });
  const typing = await bob.next('error');
  assert.equal(typing.code, 'forbidden');

  // By id as well as by slug.
  const channel = (await api('GET', '/api/channels/secret-team')).body.channel;
  await refused({ type: 'subscribe', channel: channel.id }, 'p-sub-id');
  await refused({ type: 'history', channel: channel.id }, 'p-history-id');
  await refused({ type: 'message', channel: channel.id, content: 'x' }, 'p-message-id');

  // Nothing bob tried reached the channel.
  const history = await api('GET', '/api/channels/secret-team/messages');
  assert.equal(history.body.messages.length, 0);
  await bob.close();
});

test('permissions: members and admins may use the private channel; bob sees none of it', async () => {
  const bob = await connect('bob');
  bob.send({ type: 'subscribe', channel: 'general' });
  await bob.next('subscribed');
  const alice = await connect('alice');
  alice.send({ type: 'subscribe', channel: 'secret-team', ref: 's' });
  await alice.next('subscribed');
  const admin = await connect('root', {}, { role: 'admin' });
  admin.send({ type: 'subscribe', channel: 'secret-team', ref: 's' });
  await admin.next('subscribed');
  alice.send({ type: 'message', channel: 'secret-team', content: 'members only', ref: 'm' });
  await alice.next('ack');
  await admin.next((event) => event.type === 'message' && event.content === 'members only');
  alice.send({ type: 'read', channel: 'secret-team', seq: 1, ref: 'r' });
  alice.send({ type: 'ping', ref: 'after-read' });
  await alice.next('pong');
  // Control: a message alice sends after, on a channel bob is in, reaches him;
  // anything of the private channel meant for him would have come first.
  alice.send({ type: 'message', channel: 'general', content: 'control after members only', ref: 'c' });
  await alice.next((event) => event.type === 'ack' && event.ref === 'c');
  await bob.next((event) => event.type === 'message' && event.content === 'control after members only');
  assert.ok(!bob.events.some((event) => JSON.stringify(event).includes('members only') &&
    event.content !== 'control after members only'));
  await Promise.all([alice.close(), admin.close(), bob.close()]);
});

test('permissions: a member removed while subscribed stops receiving the channel', async () => {
  await api('POST', '/api/channels/secret-team/members', { body: { user_id: 'carol' } });
  const carol = await connect('carol');
  carol.send({ type: 'subscribe', channel: 'secret-team', ref: 's' });
  await carol.next('subscribed');
  carol.send({ type: 'subscribe', channel: 'general', ref: 'g' });
  await carol.next((event) => event.type === 'subscribed' && event.ref === 'g');
  const removed = await api('DELETE', '/api/channels/secret-team/members/carol');
  assert.equal(removed.status, 200);
  await api('POST', '/api/channels/secret-team/messages', { body: { content: 'after carol left' } });
  carol.send({ type: 'message', channel: 'secret-team', content: 'carol writes', ref: 'cw' });
  const reply = await carol.next((event) => event.ref === 'cw');
  assert.equal(reply.type, 'error');
  assert.equal(reply.code, 'forbidden');
  // Control: a message posted after the private one, to a channel carol is in,
  // reaches her; the private one would have come first.
  await api('POST', '/api/channels/general/messages', { body: { content: 'control after carol left' } });
  await carol.next((event) => event.type === 'message' && event.content === 'control after carol left');
  assert.ok(!carol.events.some((event) => event.content === 'after carol left'),
    'a removed member still received a private message');
  await carol.close();
});

test('permissions: a member whose id has a + is removed by either form, path or query', async () => {
  // Path segments are RFC 3986: '+' is itself. Query strings are form-encoded:
  // '+' is a space there, so a '+' in ?user_id= is written %2B.
  const removeVia = {
    'eve+x@example.com': '/api/channels/secret-team/members/eve+x@example.com',
    'eve+y@example.com': '/api/channels/secret-team/members/eve%2By%40example.com',
    'eve+z@example.com': '/api/channels/secret-team/members?user_id=eve%2Bz%40example.com',
  };
  for (const [user, path] of Object.entries(removeVia)) {
    const added = await api('POST', '/api/channels/secret-team/members', { body: { user_id: user } });
    assert.ok(added.status === 200 || added.status === 201, JSON.stringify(added.body));
    const eve = await connect(user);
    eve.send({ type: 'subscribe', channel: 'secret-team', ref: 's' });
    await eve.next('subscribed');
    eve.send({ type: 'subscribe', channel: 'general', ref: 'g' });
    await eve.next((event) => event.type === 'subscribed' && event.ref === 'g');
    const removed = await api('DELETE', path);
    assert.equal(removed.status, 200, `DELETE ${path}: ${JSON.stringify(removed.body)}`);
    await eve.next('unsubscribed');
    const private_ = `after ${user} left`;
    await api('POST', '/api/channels/secret-team/messages', { body: { content: private_ } });
    const control = `control after ${user} left`;
    await api('POST', '/api/channels/general/messages', { body: { content: control } });
    await eve.next((event) => event.type === 'message' && event.content === control);
    assert.ok(!eve.events.some((event) => event.content === private_),
      `${user} still received the private channel after DELETE ${path}`);
    const members = await api('GET', '/api/channels/secret-team/members');
    assert.ok(!members.body.members.some((member) => member.user_id === user), `${user} is still a member`);
    await eve.close();
  }
  // In a query string a bare '+' is a space: that user is not a member.
  await api('POST', '/api/channels/secret-team/members', { body: { user_id: 'dan+q@example.com' } });
  const space = await api('DELETE', '/api/channels/secret-team/members?user_id=dan+q@example.com');
  assert.equal(space.status, 404);
  const members = await api('GET', '/api/channels/secret-team/members');
  assert.ok(members.body.members.some((member) => member.user_id === 'dan+q@example.com'));
  const path = await api('DELETE', '/api/channels/secret-team/members/dan+q@example.com');
  assert.equal(path.status, 200);
});

test('permissions: a sender need not be subscribed; a subscribed one keeps the permission read when it subscribed', async () => {
  // docs/PROTOCOL.md ("message") and docs/CLI.md (members): a connection reads
  // membership and can_send at its first subscribe or send, so a new one sees
  // a CLI change (database only) at once (docs/SECURITY.md P11).
  await api('POST', '/api/channels/secret-team/members', { body: { user_id: 'frank' } });
  const subscribed = await connect('frank');
  subscribed.send({ type: 'message', channel: 'secret-team', content: 'not subscribed', ref: 'n' });
  assert.equal((await subscribed.next((event) => event.ref === 'n')).type, 'ack');
  subscribed.send({ type: 'subscribe', channel: 'secret-team', ref: 's' });
  await subscribed.next('subscribed');
  // Removed with the CLI: the database only, no call to the server.
  await project.mustRealtime(['channel', 'members', 'secret-team', 'remove', 'frank']);
  subscribed.send({ type: 'message', channel: 'secret-team', content: 'still subscribed', ref: 'k' });
  assert.equal((await subscribed.next((event) => event.ref === 'k')).type, 'ack');
  const other = await connect('frank');
  other.send({ type: 'message', channel: 'secret-team', content: 'read again', ref: 'r' });
  const refused = await other.next((event) => event.ref === 'r');
  assert.equal(refused.type, 'error');
  assert.equal(refused.code, 'forbidden');
  subscribed.send({ type: 'unsubscribe', channel: 'secret-team', ref: 'u' });
  await subscribed.next('unsubscribed');
  subscribed.send({ type: 'subscribe', channel: 'secret-team', ref: 's2' });
  const again = await subscribed.next((event) => event.ref === 's2');
  assert.equal(again.type, 'error');
  assert.equal(again.code, 'forbidden');
  await subscribed.close();
  await other.close();
});

test('permissions: every admin route refuses no credentials, bad tokens, non-admin tokens and wrong secrets', async () => {
  const routes = [
    ['GET', '/api/stats'],
    ['GET', '/api/connections'],
    ['DELETE', '/api/connections/nope'],
    ['GET', '/api/channels'],
    ['POST', '/api/channels', { name: 'Hijack', slug: 'hijack' }],
    ['GET', '/api/channels/secret-team'],
    ['DELETE', '/api/channels/secret-team'],
    ['POST', '/api/channels/secret-team/archive'],
    ['GET', '/api/channels/secret-team/members'],
    ['POST', '/api/channels/secret-team/members', { user_id: 'bob' }],
    ['DELETE', '/api/channels/secret-team/members?user_id=alice'],
    ['DELETE', '/api/channels/secret-team/members/alice'],
    ['POST', '/api/channels/secret-team/messages', { content: 'forged' }],
    ['GET', '/api/channels/secret-team/messages'],
    ['GET', '/api/channels/secret-team/presence'],
    ['POST', '/api/broadcasts', { channel: null, event: 'forged', payload: 1 }],
    ['GET', '/api/broadcasts'],
    ['DELETE', '/api/broadcasts/00000000-0000-4000-8000-000000000000'],
    ['POST', '/api/cleanup'],
  ];
  const userToken = project.token('bob');
  const expiredAdmin = signToken(project.secret, { sub: 'root', role: 'admin', exp: 1 });
  const forgedAdmin = signToken('not-the-secret', { sub: 'root', role: 'admin' });
  const hasuraUser = project.token('bob', {
    'https://hasura.io/jwt/claims': { 'x-hasura-user-id': 'bob', 'x-hasura-default-role': 'user' },
  });
  for (const [method, path, body] of routes) {
    const cases = [
      [{ secret: null }, 401],
      [{ secret: 'wrong-secret' }, 403],
      [{ secret: `${adminSecret}x` }, 403],
      [{ secret: adminSecret.slice(0, -1) }, 403],
      [{ secret: null, token: userToken }, 403],
      [{ secret: null, token: hasuraUser }, 403],
      [{ secret: null, token: expiredAdmin }, 401],
      [{ secret: null, token: forgedAdmin }, 401],
      [{ secret: null, token: 'garbage' }, 401],
    ];
    for (const [credentials, status] of cases) {
      const response = await api(method, path, { ...credentials, body });
      assert.equal(response.status, status, `${method} ${path} with ${JSON.stringify(credentials)}`);
    }
  }
  // None of the refused calls changed anything.
  const channels = await api('GET', '/api/channels');
  assert.ok(channels.body.channels.some((c) => c.slug === 'secret-team'));
  assert.ok(!channels.body.channels.some((c) => c.slug === 'hijack'));
  const members = await api('GET', '/api/channels/secret-team/members');
  assert.deepEqual(members.body.members.map((m) => m.user_id), ['alice']);
  // And an admin token is let in.
  const admin = await api('GET', '/api/stats', { secret: null, token: project.token('root', { role: 'admin' }) });
  assert.equal(admin.status, 200);
});

// ---- secrets never in logs, metrics, errors or audit rows (runs last: after all the traffic above)

test('secrets: no token, secret or key appears in the log, /metrics, audit rows or error events', async () => {
  // More traffic with secrets in the wrong places: a bad auth message, a bad
  // upgrade token, an admin secret sent as a token.
  const token = project.token('leaky');
  const badToken = `${token.slice(0, -4)}AAAA`;
  const bad = await Client.connect(project.url());
  bad.ws.on('message', (data) => seen.push(data.toString()));
  bad.send({ type: 'auth', token: badToken });
  await bad.next('error');
  await bad.closed;
  await assert.rejects(Client.connect(project.url(`?token=${badToken}`)), /HTTP 401/);
  await api('GET', '/api/stats', { secret: null, token: adminSecret });
  const metrics = await fetch(`${base}/metrics`).then((r) => r.text());

  const logs = await project.realtime(['logs', '--no-follow', '-n', '5000']);
  assert.equal(logs.code, 0);
  const audit = await sqlite('SELECT * FROM audit_log');
  assert.ok(audit.includes('auth.failed'), 'failed authentications are audited');
  const stats = await project.realtime(['stats', '--json']);

  const secrets = {
    'the JWT secret': project.secret,
    'the admin secret': adminSecret,
    'the encryption key': ENCRYPTION_KEY,
    'a token': token,
    'a bad token': badToken,
    'a token signature': token.split('.')[2],
    'the filtered password': 'hunter2',
  };
  const places = {
    log: logs.stdout,
    '/metrics': metrics,
    'audit rows': audit,
    'events and API replies': seen.join('\n'),
    'CLI output': stats.stdout + stats.stderr,
  };
  for (const [where, text] of Object.entries(places)) {
    for (const [what, secret] of Object.entries(secrets)) {
      assert.ok(!text.includes(secret), `${what} appears in the ${where}`);
    }
  }
});

test('encryption: a wrong key is a clear error at start, the right key starts again', async () => {
  await project.mustRealtime(['stop']);
  const wrong = randomBytes(32).toString('hex');
  project.env.REALTIME_ENCRYPTION_KEY = wrong;
  const failed = await project.realtime(['start']);
  assert.notEqual(failed.code, 0);
  assert.match(failed.stderr, /REALTIME_ENCRYPTION_KEY does not match/);
  assert.ok(!failed.stderr.includes(wrong) && !failed.stderr.includes(ENCRYPTION_KEY));

  delete project.env.REALTIME_ENCRYPTION_KEY;
  const missing = await project.realtime(['start']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /encrypted: set REALTIME_ENCRYPTION_KEY/);

  project.env.REALTIME_ENCRYPTION_KEY = 'abc';
  const malformed = await project.realtime(['start']);
  assert.notEqual(malformed.code, 0);
  assert.match(malformed.stderr, /REALTIME_ENCRYPTION_KEY \(environment\): the key must be 64 hexadecimal/);

  project.env.REALTIME_ENCRYPTION_KEY = ENCRYPTION_KEY;
  await project.mustRealtime(['start']);
  const alice = await connect('alice');
  alice.send({ type: 'history', channel: 'general', ref: 'h' });
  const history = await alice.next('history');
  assert.ok(history.messages.some((m) => JSON.stringify(m.content).includes('swordfish')));
  await alice.close();
});
