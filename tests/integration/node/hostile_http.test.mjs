// Hostile clients without a token (issue 16, items 1 and 2; docs/SECURITY.md
// A5-A7 and C1-C6): a wrong-secret flood on the admin API, sockets that never
// authenticate, too many connections or connects from one address, and
// X-Forwarded-For from trusted and untrusted peers.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Client, Project, sleep } from './harness.mjs';

const run = promisify(execFile);

const env = (dir) =>
  Object.fromEntries(
    readFileSync(join(dir, '.env'), 'utf8')
      .split('\n')
      .map((line) => /^([A-Z_]+)=(.*)$/.exec(line))
      .filter(Boolean)
      .map((m) => [m[1], m[2].replace(/^"|"$/g, '')]),
  );

async function sqlite(project, sql) {
  const { stdout } = await run('sqlite3', [join(project.dir, '.nself/realtime/realtime.db'), sql]);
  return stdout.trim();
}

async function start(extra) {
  const project = await Project.create({ env: extra });
  await project.mustRealtime(['init']);
  await project.mustRealtime(['channel', 'create', 'general']);
  await project.mustRealtime(['start']);
  project.adminSecret = env(project.dir).REALTIME_ADMIN_SECRET;
  return project;
}

// A GET from `localAddress` (loopback has all of 127/8): {status, headers, body}.
function get(project, path, { headers = {}, localAddress = '127.0.0.1' } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port: project.port, host: '127.0.0.1', localAddress }, () => {
      const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${lines}\r\n`);
    });
    let data = '';
    socket.on('data', (chunk) => (data += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, ...rest] = data.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      const fields = Object.fromEntries(
        head.split('\r\n').slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      resolve({ status, headers: fields, body: rest.join('\r\n\r\n') });
    });
  });
}

const upgradeRequest = (path = '/', extra = '') =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

// A raw upgrade: resolves with {socket, status, head} once the response head arrived.
function rawUpgrade(project, { path = '/', extra = '', localAddress = '127.0.0.1' } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port: project.port, host: '127.0.0.1', localAddress }, () =>
      socket.write(upgradeRequest(path, extra)),
    );
    let data = '';
    const onData = (chunk) => {
      data += chunk.toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const head = data.slice(0, end);
      resolve({ socket, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)[1]), head, rest: data.slice(end + 4) });
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
}

// A WebSocket client from `localAddress`; rejects with "HTTP <status> <body>" when refused.
function connect(project, { query = '', headers = {}, localAddress = '127.0.0.1' } = {}) {
  return new Promise((resolve, reject) => {
    Client.connect(project.url(query), { headers, localAddress }).then(resolve, reject);
  });
}

async function refusal(promise) {
  try {
    const client = await promise;
    client.close();
  } catch (error) {
    return error.message;
  }
  return 'connected';
}

// Each from an address of its own (the direct server limits connects per address).
let spare = 0;
const spareAddress = () => `127.0.9.${1 + (spare++ % 250)}`;
async function health(project) {
  return JSON.parse((await get(project, '/health', { localAddress: spareAddress() })).body);
}

// ---- item 1: failed admin authentication

let proxied;  // loopback is a trusted proxy: X-Forwarded-For names the client
let direct;   // nothing trusted
before(async () => {
  proxied = await start({
    REALTIME_TRUSTED_PROXIES: '127.0.0.1',
    REALTIME_ADMIN_AUTH_FAILURES_PER_MINUTE: '5',
    REALTIME_MAX_CONNECTIONS_PER_IP: '2',
  });
  direct = await start({
    WEBSOCKET_MAX_CONNECTIONS: '30',
    REALTIME_MAX_UNAUTHENTICATED_CONNECTIONS: '10',
    REALTIME_MAX_UNAUTHENTICATED_PER_IP: '0',
    REALTIME_MAX_CONNECTIONS_PER_IP: '12',
    REALTIME_CONNECTS_PER_IP_PER_SECOND: '5',
  });
});
after(async () => {
  await proxied?.cleanup();
  await direct?.cleanup();
});

let floodStart = 0;  // the audit log's last id before the flood

test('a wrong-secret flood gets 429 after the limit and writes a bounded number of capped audit rows', async () => {
  floodStart = Number(await sqlite(proxied, 'SELECT coalesce(max(id), 0) FROM audit_log'));
  // 2,000 pipelined requests with a wrong secret and a 7 KB target on one keep-alive connection.
  const pad = 'A'.repeat(7 * 1024);
  const request =
    `GET /api/stats?pad=${pad} HTTP/1.1\r\nHost: x\r\nX-Realtime-Admin-Secret: wrong\r\n` +
    'X-Forwarded-For: 198.51.100.1\r\n\r\n';
  const count = 2000;
  const statuses = await new Promise((resolve, reject) => {
    const socket = net.connect(proxied.port, '127.0.0.1', () => socket.write(request.repeat(count)));
    let data = '';
    let found = [];
    socket.on('data', (chunk) => {
      data += chunk;
      found = [...data.matchAll(/HTTP\/1\.1 (\d{3}) /g)];
      if (found.length >= count) {
        clearTimeout(timer);
        socket.destroy();
        resolve(found.map((m) => Number(m[1])));
      }
    });
    socket.on('error', reject);
    const timer = setTimeout(() => reject(new Error(`only ${found.length} responses`)), 60000);
  });
  assert.equal(statuses.length, count);
  assert.deepEqual(statuses.slice(0, 5), [403, 403, 403, 403, 403]);
  assert.ok(statuses.slice(5).every((s) => s === 429), `then 429: ${[...new Set(statuses.slice(5))]}`);

  // The blocked address is refused even with the right secret (its guesses are not checked);
  // another address is served.
  const blocked = await get(proxied, '/api/stats', {
    headers: { 'X-Realtime-Admin-Secret': proxied.adminSecret, 'X-Forwarded-For': '198.51.100.1' },
  });
  assert.equal(blocked.status, 429);
  assert.ok(Number(blocked.headers['retry-after']) >= 1, JSON.stringify(blocked.headers));
  assert.equal(JSON.parse(blocked.body).error.code, 'too_many_failures');
  const other = await get(proxied, '/api/stats', {
    headers: { 'X-Realtime-Admin-Secret': proxied.adminSecret, 'X-Forwarded-For': '198.51.100.2' },
  });
  assert.equal(other.status, 200);

  // One row for the flood so far (its first failure), its target capped at 256 bytes.
  await sleep(300);
  const rows = await sqlite(
    proxied,
    `SELECT length(target), details FROM audit_log WHERE action = 'auth.failed' AND id > ${floodStart} ORDER BY id`,
  );
  const lines = rows.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, rows);
  const [length, details] = lines[0].split('|');
  assert.ok(Number(length) <= 256, `stored target of ${length} bytes`);
  assert.equal(JSON.parse(details).address, '198.51.100.1');
  assert.equal(JSON.parse(details).code, 'forbidden');
});

// ---- item 2: connections

test('X-Forwarded-For names the client only from a trusted proxy, and per-address caps use it', async () => {
  const fromProxy = await connect(proxied, {
    query: `?token=${proxied.token('xff-a')}`,
    headers: { 'X-Forwarded-For': '203.0.113.7' },
  });
  const second = await connect(proxied, {
    query: `?token=${proxied.token('xff-b')}`,
    headers: { 'X-Forwarded-For': '10.9.9.9, 203.0.113.7' },
  });
  // REALTIME_MAX_CONNECTIONS_PER_IP=2: the third from 203.0.113.7 is refused, another client is not.
  const third = await rawUpgrade(proxied, {
    path: `/?token=${proxied.token('xff-c')}`,
    extra: 'X-Forwarded-For: 203.0.113.7\r\n',
  });
  assert.equal(third.status, 429, third.head);
  assert.match(third.head, /Retry-After: \d+/i);
  third.socket.destroy();
  const elsewhere = await connect(proxied, {
    query: `?token=${proxied.token('xff-d')}`,
    headers: { 'X-Forwarded-For': '203.0.113.8' },
  });
  const listed = await get(proxied, '/api/connections', {
    headers: { 'X-Realtime-Admin-Secret': proxied.adminSecret },
  });
  const addresses = JSON.parse(listed.body).connections.map((c) => c.remote_address).sort();
  assert.deepEqual(addresses, ['203.0.113.7', '203.0.113.7', '203.0.113.8']);
  await Promise.all([fromProxy.close(), second.close(), elsewhere.close()]);

  // From an untrusted peer the header is ignored: the peer is the client.
  const spoofed = await connect(direct, {
    query: `?token=${direct.token('spoof')}`,
    headers: { 'X-Forwarded-For': '203.0.113.7' },
    localAddress: '127.0.0.5',
  });
  const seen = await get(direct, '/api/connections', {
    headers: { 'X-Realtime-Admin-Secret': direct.adminSecret },
    localAddress: spareAddress(),
  });
  assert.deepEqual(JSON.parse(seen.body).connections.map((c) => c.remote_address), ['127.0.0.5']);
  await spoofed.close();
});

test('sockets that never authenticate cannot keep a real user out', async () => {
  // WEBSOCKET_MAX_CONNECTIONS=30 and 30 upgrades without a token: only 10 are admitted.
  const attackers = [];
  const statuses = [];
  for (let i = 0; i < 30; ++i) {
    const raw = await rawUpgrade(direct, { localAddress: `127.0.1.${1 + (i % 10)}` });
    statuses.push(raw.status);
    if (raw.status === 101) attackers.push(raw.socket);
    else {
      assert.equal(raw.status, 503, raw.head);
      assert.match(raw.head, /Retry-After: 5/);
      assert.match(raw.rest, /"code":"too_many_unauthenticated"/);
      raw.socket.destroy();
    }
  }
  assert.equal(statuses.filter((s) => s === 101).length, 10);
  assert.equal((await health(direct)).unauthenticated, 10);
  // A real user with a token connects and is served meanwhile.
  const user = await connect(direct, { query: `?token=${direct.token('real')}`, localAddress: '127.0.0.20' });
  const ok = await user.next('auth_ok');
  assert.equal(ok.user_id, 'real');
  user.send({ type: 'message', channel: 'general', content: 'still here', ref: 'm1' });
  assert.equal((await user.next('ack')).ref, 'm1');
  // Once the attackers go, a client authenticating by message gets in, and its
  // auth_ok takes it out of the unauthenticated count.
  for (const socket of attackers) socket.destroy();
  await sleep(200);
  assert.equal((await health(direct)).unauthenticated, 0);
  const late = await connect(direct, { localAddress: '127.0.0.21' });
  assert.equal((await health(direct)).unauthenticated, 1);
  late.send({ type: 'auth', token: direct.token('late'), ref: 'a' });
  await late.next('auth_ok');
  assert.equal((await health(direct)).unauthenticated, 0);
  await Promise.all([user.close(), late.close()]);
});

test('one address is capped in connections (HTTP phase included) and in connects per second', async () => {
  // REALTIME_MAX_CONNECTIONS_PER_IP=12: idle TCP connections in their HTTP phase count.
  const idle = [];
  for (let i = 0; i < 12; ++i) {
    idle.push(
      await new Promise((resolve) => {
        const socket = net.connect({ port: direct.port, host: '127.0.0.1', localAddress: '127.0.2.1' }, () =>
          resolve(socket),
        );
      }),
    );
    if (i % 5 === 4) await sleep(1100);  // stay under 5 connects a second
  }
  await sleep(1100);
  const thirteenth = await refusal(connect(direct, { query: `?token=${direct.token('cap')}`, localAddress: '127.0.2.1' }));
  assert.match(thirteenth, /HTTP 429/);
  const other = await connect(direct, { query: `?token=${direct.token('cap2')}`, localAddress: '127.0.2.2' });
  await other.close();
  idle[0].destroy();
  await sleep(200);
  const again = await connect(direct, { query: `?token=${direct.token('cap3')}`, localAddress: '127.0.2.1' });
  await again.close();
  for (const socket of idle) socket.destroy();

  // REALTIME_CONNECTS_PER_IP_PER_SECOND=5: the sixth connect within a second is refused.
  await sleep(1100);
  const answers = [];
  for (let i = 0; i < 6; ++i) answers.push(await get(direct, '/health', { localAddress: '127.0.3.1' }));
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200, 429]);
  assert.equal(JSON.parse(answers[5].body).error.code, 'too_many_connects');
  assert.equal(answers[5].headers['retry-after'], '1');
  assert.equal((await get(direct, '/health', { localAddress: '127.0.3.2' })).status, 200);
  await sleep(1100);
  assert.equal((await get(direct, '/health', { localAddress: '127.0.3.1' })).status, 200);
});

test('connections refused for their address hold few descriptors: past 64 waiting, they are closed at once', async () => {
  // Each refused connection used to wait up to 2 s for its request (to be
  // told 429): an address over REALTIME_MAX_CONNECTIONS_PER_IP could still
  // hold every descriptor of the server with idle sockets (bench/hostile.mjs,
  // idle-tcp: 1,024 of 1,024, and real users could not connect).
  const pid = JSON.parse((await direct.mustRealtime(['status', '--json'])).stdout).pid;
  const descriptors = () => readdirSync(`/proc/${pid}/fd`).length;
  await sleep(2500); // earlier tests' refused sockets are gone
  const before = descriptors();
  const sockets = [];
  let closedByServer = 0;
  await Promise.all(
    Array.from({ length: 300 }, () =>
      new Promise((resolve) => {
        const socket = net.connect({ port: direct.port, host: '127.0.0.1', localAddress: '127.0.4.1' }, resolve);
        socket.on('error', resolve);
        socket.on('close', () => ++closedByServer);
        sockets.push(socket);
      }),
    ),
  );
  await sleep(300);
  const held = descriptors() - before;
  // 12 admitted (REALTIME_MAX_CONNECTIONS_PER_IP), at most 64 refused waiting.
  assert.ok(held <= 12 + 64 + 8, `the server holds ${held} more descriptors`);
  assert.ok(closedByServer >= 300 - 12 - 64 - 8, `${closedByServer} closed by the server`);
  // Another address is served meanwhile.
  const other = await connect(direct, { query: `?token=${direct.token('refused-other')}`, localAddress: '127.0.4.2' });
  await other.close();
  for (const socket of sockets) socket.destroy();
});

test('with the default limits, idle sockets of one address hold at most 256 + 64 descriptors and others connect', async () => {
  // 4 x REALTIME_MAX_UNAUTHENTICATED_PER_IP (64) caps the connections of an
  // address that have not sent a request yet: before, 2,000 idle sockets from one address took
  // every descriptor (bench/hostile.mjs idle-tcp without a per-address cap:
  // 8 of 20 real connects succeeded).
  const plain = await start({});
  try {
    const pid = JSON.parse((await plain.mustRealtime(['status', '--json'])).stdout).pid;
    const descriptors = () => readdirSync(`/proc/${pid}/fd`).length;
    const before = descriptors();
    const sockets = [];
    await Promise.all(
      Array.from({ length: 700 }, () =>
        new Promise((resolve) => {
          const socket = net.connect({ port: plain.port, host: '127.0.0.1', localAddress: '127.0.5.1' }, resolve);
          socket.on('error', resolve);
          sockets.push(socket);
        }),
      ),
    );
    await sleep(300);
    const held = descriptors() - before;
    assert.ok(held <= 256 + 64 + 8, `the server holds ${held} more descriptors`);
    const other = await connect(plain, { query: `?token=${plain.token('idle-other')}`, localAddress: '127.0.5.2' });
    await other.close();
    // The address itself is told why once a request comes (429), not held.
    const refused = await refusal(connect(plain, { query: `?token=${plain.token('idle-same')}`, localAddress: '127.0.5.1' }));
    assert.match(refused, /HTTP 429|socket hang up|ECONNRESET/);
    for (const socket of sockets) socket.destroy();
    await sleep(300);
    const again = await connect(plain, { query: `?token=${plain.token('idle-same')}`, localAddress: '127.0.5.1' });
    await again.close();
  } finally {
    await plain.cleanup();
  }
});

test('a flood that goes on is summarized in one row per address, written at the latest at stop', async () => {
  await proxied.mustRealtime(['stop']);
  const rows = (
    await sqlite(
      proxied,
      `SELECT target, details FROM audit_log WHERE action = 'auth.failed' AND id > ${floodStart} ORDER BY id`,
    )
  )
    .split('\n')
    .filter(Boolean);
  // The flood's first failure (above), then one summary of the rest.
  assert.equal(rows.length, 2, rows.join('\n'));
  const [target, details] = rows[1].split('|');
  assert.equal(target, '');
  const summary = JSON.parse(details);
  assert.equal(summary.code, 'summary');
  assert.equal(summary.address, '198.51.100.1');
  assert.equal(summary.count, 2000);  // 1,999 of the flood and the blocked right secret
});
