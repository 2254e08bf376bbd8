// Broadcasts through the real CLI: `nself realtime broadcast` writes the row
// and exits; the running server delivers it to Node `ws` clients.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, Project, sleep } from './harness.mjs';

let project;
before(async () => {
  project = await Project.create({ env: { REALTIME_BROADCAST_POLL_MS: '50' } });
  await project.mustRealtime(['init']);
  await project.mustRealtime(['channel', 'create', 'general']);
  await project.mustRealtime(['channel', 'create', 'random']);
  await project.mustRealtime(['start']);
});
after(async () => project.cleanup());

async function login(user, channel = null) {
  const client = await Client.connect(project.url(`?token=${project.token(user)}`));
  await client.next('auth_ok');
  if (channel) {
    client.send({ type: 'subscribe', channel });
    await client.next('subscribed');
  }
  return client;
}

// Returns once the pong of a ping sent now has arrived: whatever the server had
// queued for the client before the ping is in client.events by then.
async function barrier(client) {
  const ref = `barrier-${Math.random()}`;
  client.send({ type: 'ping', ref });
  await client.next((event) => event.type === 'pong' && event.ref === ref);
}

// No channel broadcast arrives before the pong of a ping sent now. (System
// announcements of earlier tests may still be replayed to new connections.)
async function expectNone(client) {
  await barrier(client);
  assert.deepEqual(client.events.filter((event) => event.type === 'broadcast' && event.channel !== null), []);
}

test('a channel broadcast reaches its subscribers only', async () => {
  const alice = await login('alice', 'general');
  const bob = await login('bob', 'random');
  const result = await project.mustRealtime(['broadcast', 'general', 'news', '{"a":1}']);
  assert.match(result.stdout, /Broadcast 'news' to channel 'general' queued now \(id: [0-9a-f-]{36}\)/);
  const event = await alice.next('broadcast');
  assert.equal(event.channel, 'general');
  assert.equal(event.event, 'news');
  assert.deepEqual(event.payload, { a: 1 });
  assert.match(event.id, /^[0-9a-f-]{36}$/);
  assert.match(event.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(event.expires_at, null);
  await expectNone(alice);
  await expectNone(bob);
  await alice.close();
  await bob.close();
});

test('--all reaches every connection, and --json prints the stored broadcast', async () => {
  const alice = await login('alice', 'general');
  const bob = await login('bob');
  const result = await project.mustRealtime(['broadcast', '--all', 'notice', '"hello"', '--json']);
  const stored = JSON.parse(result.stdout).broadcast;
  assert.equal(stored.channel, null);
  assert.equal(stored.payload, 'hello');
  for (const client of [alice, bob]) {
    const event = await client.next('broadcast');
    assert.equal(event.id, stored.id);
    assert.equal(event.channel, null);
    assert.equal(event.payload, 'hello');
  }
  // Without --expires an announcement never expires: a later connection gets it too.
  const carol = await login('carol');
  assert.equal((await carol.next('broadcast')).id, stored.id);
  await Promise.all([alice.close(), bob.close(), carol.close()]);
});

test('--at +3s is delivered when due, also across a server restart', async () => {
  const result = await project.mustRealtime(['broadcast', 'general', 'later', '[1,2,3]', '--at', '+3s']);
  assert.match(result.stdout, /scheduled for \d{4}-/);
  const written = Date.now();
  await project.mustRealtime(['stop']);
  await project.mustRealtime(['start']);
  const alice = await login('alice', 'general');
  const event = await alice.next((e) => e.type === 'broadcast' && e.event === 'later', 8000);
  assert.equal(event.event, 'later');
  assert.deepEqual(event.payload, [1, 2, 3]);
  assert.ok(Date.now() - written >= 2900, 'not delivered before it was due');
  await expectNone(alice);
  await alice.close();
});

test('an announcement with --expires is shown to later connections until it expires', async () => {
  const alice = await login('alice');
  await project.mustRealtime(['broadcast', '--all', 'maintenance', '{"at":"22:00"}', '--expires', '+2s']);
  const event = await alice.next((e) => e.type === 'broadcast' && e.event === 'maintenance');
  assert.match(event.expires_at, /Z$/);
  const bob = await login('bob');
  assert.equal((await bob.next((e) => e.type === 'broadcast' && e.event === 'maintenance')).id, event.id);
  await sleep(2200);
  // Announcements are replayed while the auth is handled, before its reply:
  // after the barrier, one replayed would be in carol's events.
  const carol = await login('carol');
  await barrier(carol);
  assert.equal(carol.events.filter((e) => e.event === 'maintenance').length, 0);
  await Promise.all([alice.close(), bob.close(), carol.close()]);
});

test('an expiry in the past, bad JSON, an unknown channel and bad times are refused', async () => {
  const alice = await login('alice', 'general');
  const cases = [
    [['broadcast', 'general', 'x', '{}', '--expires', '2020-01-01T00:00:00Z'], /never be delivered/],
    [['broadcast', 'general', 'x', '{}', '--at', '+10s', '--expires', '+5s'], /never be delivered/],
    [['broadcast', 'general', 'x', '{not json}'], /payload is not valid JSON/],
    [['broadcast', 'general', 'x', '{"a":1'], /payload is not valid JSON/],
    [['broadcast', 'nowhere', 'x', '{}'], /no channel with id or slug 'nowhere'/],
    [['broadcast', 'general', 'x', '{}', '--at', 'tomorrow'], /--at: 'tomorrow' is not a time/],
    [['broadcast', 'general', 'x', '{}', '--at', '+5y'], /not a time/],
    [['broadcast', 'general', '', '{}'], /event name must be 1 to 128 bytes/],
  ];
  for (const [args, message] of cases) {
    const result = await project.realtime(args);
    assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
  }
  const usage = await project.realtime(['broadcast', 'general', 'x']);
  assert.equal(usage.code, 2);
  await sleep(300);
  await expectNone(alice);
  await alice.close();
});
