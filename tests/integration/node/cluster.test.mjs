// Cluster mode (docs/SCALING.md): a real redis-server and three
// `nself realtime start` processes on one PostgreSQL database (the one
// scripts/test-env.sh starts; SQLite shared by the three otherwise), clients
// spread over the nodes. Checks: every subscriber on every node gets every
// message of a channel in seq order; a node killed with -9 does not stop the
// others; Redis stopped and started again mid-traffic loses no acked message
// and the cluster recovers by itself.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Client, Project, createPostgresDatabase, freePort, fullHistory, signToken, sleep } from './harness.mjs';

const secret = randomBytes(16).toString('hex');
// Shared by every node, as docs/SCALING.md asks: `stats` and `connections` ask every node.
const adminSecret = randomBytes(16).toString('hex');
let redis;
let redisPort;
let database;
let nodes = [];
let sqlitePath = null;

function startRedis() {
  const child = spawn(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output}`)));
  });
}

async function stopRedis() {
  const exited = new Promise((resolve) => redis.once('exit', resolve));
  redis.kill('SIGKILL');
  await exited;
}

// One node: its own project directory and port, the shared database, Redis and JWT secret.
async function makeNode(name, databaseUrl, sqlitePath, limits = {}) {
  const project = await Project.create({
    databaseUrl,
    env: {
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      REALTIME_NODE_ID: name,
      REALTIME_MAX_MESSAGES_PER_SECOND: '100000',
      ...limits,
      ...(sqlitePath ? { REALTIME_SQLITE_PATH: sqlitePath } : {}),
    },
  });
  project.secret = secret;
  writeFileSync(
    join(project.dir, '.env'),
    `WEBSOCKET_HOST=127.0.0.1\nWEBSOCKET_PORT=${project.port}\nREALTIME_JWT_SECRET=${secret}\n` +
      `REALTIME_ADMIN_SECRET=${adminSecret}\n`,
  );
  project.name = name;
  return project;
}

const token = (user) => signToken(secret, { sub: user, exp: Math.floor(Date.now() / 1000) + 3600 });

async function connect(node, user) {
  const client = await Client.connect(node.url(`?token=${token(user)}`));
  await client.next('auth_ok');
  return client;
}

async function subscribe(client, channel, extra = {}) {
  const ref = `s${Math.random()}`;
  client.send({ type: 'subscribe', channel, ref, ...extra });
  const reply = await client.next((e) => e.ref === ref && (e.type === 'subscribed' || e.type === 'error'), 10000);
  assert.equal(reply.type, 'subscribed', JSON.stringify(reply));
  return reply;
}

// Records every message event of `channel` a client receives, in arrival order.
function recorder(client, channel) {
  const seqs = [];
  client.ws.on('message', (data) => {
    for (const line of data.toString().split('\n')) {
      const event = JSON.parse(line);
      if (event.type === 'message' && event.channel === channel) seqs.push(event.seq);
    }
  });
  return seqs;
}

// A subscriber that behaves like the SDK after a Redis outage: a node that
// catches its subscribers up from the store may send more than a client can
// take at once; the client is then closed as a slow consumer (1008) and, like
// the SDK, reconnects and resumes with `since` (then pages with `history`).
// Records every seq it gets, live or replayed, in arrival order.
function resilientRecorder(node, user, channel) {
  const state = { seqs: [], reconnects: 0, client: null, closing: false, resuming: null };
  const last = () => state.seqs.at(-1) ?? 0;
  const record = (seq) => {
    if (seq > last()) state.seqs.push(seq);
    else state.out_of_order = (state.out_of_order ?? 0) + (state.seqs.includes(seq) ? 0 : 1);
  };
  const attach = async (client, since) => {
    state.client = client;
    const live = { buffering: since !== undefined, pending: [] };
    client.ws.on('message', (data) => {
      for (const line of data.toString().split('\n')) {
        const event = JSON.parse(line);
        if (event.type !== 'message' || event.channel !== channel) continue;
        if (live.buffering) live.pending.push(event.seq);
        else record(event.seq);
      }
    });
    client.closed.then(({ code }) => {
      if (state.closing || code !== 1008) return;
      state.reconnects += 1;
      state.resuming = (async () => attach(await connect(node, user), last()))();
    });
    if (since === undefined) {
      await subscribe(client, channel);
      return;
    }
    // Resume: replay after `since`, page the rest up to the channel's seq at
    // subscribe time, then what arrived live meanwhile.
    const subscribed = await subscribe(client, channel, { since });
    const upTo = subscribed.seq;
    while (last() < upTo) {
      const ref = `p${last()}`;
      client.send({ type: 'history', channel, limit: 1000, before: Math.min(last() + 1001, upTo + 1), ref });
      const page = await client.next((e) => e.type === 'history' && e.ref === ref, 10000);
      const fresh = page.messages.filter((m) => m.seq > last());
      if (fresh.length === 0) break;
      for (const m of fresh) record(m.seq);
    }
    live.buffering = false;
    for (const seq of live.pending) if (seq > last()) record(seq);
  };
  return {
    state,
    start: async () => attach(await connect(node, user)),
    stop: async () => {
      state.closing = true;
      await state.resuming;
      await state.client.close();
    },
  };
}

// Sends `count` messages on `client`, at most `window` unacked; resolves with the acked seqs.
async function send(client, channel, count, { window = 20, stop = () => false } = {}) {
  const acked = [];
  let inFlight = 0;
  let sent = 0;
  const done = new Promise((resolve) => {
    client.ws.on('message', (data) => {
      const event = JSON.parse(data.toString());
      if (event.type === 'ack' && event.channel === channel) {
        acked.push(event.seq);
        inFlight -= 1;
      } else if (event.type === 'error' && String(event.ref ?? '').startsWith('m')) {
        inFlight -= 1; // unavailable: not acked, may be retried by a real client
      }
      if (sent >= count && inFlight === 0) resolve();
    });
  });
  while (sent < count && !stop()) {
    while (inFlight < window && sent < count) {
      client.send({ type: 'message', channel, content: { n: sent }, ref: `m${sent}` });
      sent += 1;
      inFlight += 1;
    }
    await sleep(2);
  }
  count = sent;
  if (inFlight > 0) await Promise.race([done, sleep(15000)]);
  return acked;
}

// The connections of `user` that the cluster's limits count in Redis (the
// per-node counts of its `uconn:` hash, whatever the key prefix).
async function connectionsCounted(user) {
  const cli = (...args) => promisify(execFile)('redis-cli', ['-p', String(redisPort), ...args]);
  const keys = (await cli('--scan', '--pattern', `*uconn:${user}`)).stdout.split('\n').filter(Boolean);
  let total = 0;
  for (const key of keys) {
    for (const count of (await cli('HVALS', key)).stdout.split('\n').filter(Boolean)) total += Number(count);
  }
  return total;
}

async function waitForCount(user, expected, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let counted;
  while ((counted = await connectionsCounted(user)) !== expected) {
    if (Date.now() > deadline) throw new Error(`${user}: ${counted} connections counted in Redis, not ${expected}`);
    await sleep(20);
  }
}

async function waitFor(predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await sleep(20);
  }
}

// Every node of `which` reports Redis connected again (both links).
async function waitForRedisEverywhere(which, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (const node of which) {
    for (;;) {
      const body = await (await fetch(`http://127.0.0.1:${node.port}/health`)).json();
      if (body.cluster?.redis === 'connected' && body.degraded === false) break;
      if (Date.now() > deadline) throw new Error(`${node.name}: Redis link not back: ${JSON.stringify(body.cluster)}`);
      await sleep(100);
    }
  }
}

function assertConsecutive(seqs, from, to, who) {
  const expected = [];
  for (let seq = from; seq <= to; seq += 1) expected.push(seq);
  assert.deepEqual(seqs, expected, `${who}: messages not complete and in seq order`);
}

before(async () => {
  redisPort = await freePort();
  redis = await startRedis();
  database = await createPostgresDatabase();
  if (!database && process.env.NSELF_TEST_REQUIRE_SERVICES === '1') {
    throw new Error('NSELF_TEST_POSTGRES_URL is not set');
  }
  const first = await makeNode('n1', database?.url ?? null, null);
  sqlitePath = database ? null : join(first.dir, 'shared.db');
  if (sqlitePath) first.env.REALTIME_SQLITE_PATH = sqlitePath;
  nodes = [first, await makeNode('n2', database?.url ?? null, sqlitePath), await makeNode('n3', database?.url ?? null, sqlitePath)];
  await first.mustRealtime(['init']);
  await first.mustRealtime(['channel', 'create', 'room']);
  await first.mustRealtime(['channel', 'create', 'fast', '--ephemeral']);
  await first.mustRealtime(['channel', 'create', 'redis']);
  await first.mustRealtime(['channel', 'create', 'lobby', 'presence']);
  await first.mustRealtime(['channel', 'create', 'quiet']);
  await first.mustRealtime(['channel', 'create', 'resubscribe']);
  for (const node of nodes) await node.mustRealtime(['start']);
});

after(async () => {
  for (const node of nodes) await node.cleanup();
  if (redis && redis.exitCode === null) await stopRedis();
  await database?.drop();
});

test('every subscriber on every node gets every message in seq order', async () => {
  for (const channel of ['room', 'fast']) {
    const subscribers = [];
    for (const node of nodes) {
      for (let i = 0; i < 2; i += 1) {
        const client = await connect(node, `reader-${node.name}-${i}`);
        await subscribe(client, channel);
        subscribers.push({ client, seqs: recorder(client, channel), who: `${channel} reader on ${node.name}` });
      }
    }
    // Senders on two nodes at once, on top of each other.
    const senders = [await connect(nodes[0], 'alice'), await connect(nodes[1], 'bob')];
    const acked = await Promise.all(senders.map((sender) => send(sender, channel, 150)));
    const all = acked.flat().sort((a, b) => a - b);
    assert.equal(all.length, 300, `${channel}: every message acked`);
    const first = all[0];
    const last = all[all.length - 1];
    assertConsecutive(all, first, last, `${channel} acks`);
    for (const { seqs } of subscribers) await waitFor(() => seqs.length >= 300 || seqs.at(-1) >= last, 10000, `${channel} delivery`);
    for (const { seqs, who } of subscribers) assertConsecutive(seqs, first, last, who);
    for (const client of [...senders, ...subscribers.map((s) => s.client)]) await client.close();
  }
});

// A client on one node that leaves `channel` and comes back with `since`
// (the last seq it saw), `cycles` times, reading a few live messages each
// time. Records every seq it gets, replayed or live: a seq above last + 1 is
// a gap (a message neither replayed nor delivered), one at or below last a
// repeat.
async function resubscribeCycles(node, user, channel, cycles) {
  const client = await connect(node, user);
  const state = { last: 0, gaps: [], repeats: 0, live: 0, replies: new Map() };
  const take = (seq) => {
    if (seq > state.last + 1) state.gaps.push(`${state.last + 1}-${seq - 1}`);
    if (seq <= state.last) state.repeats += 1;
    state.last = Math.max(state.last, seq);
  };
  client.ws.on('message', (data) => {
    for (const line of data.toString().split('\n')) {
      const event = JSON.parse(line);
      if (event.channel !== channel) continue;
      if (event.type === 'message') {
        take(event.seq);
        state.live += 1;
      } else if (event.type === 'history') {
        for (const message of event.messages) take(message.seq);
        state.replies.set(event.ref, event);
      } else if (event.type === 'subscribed' || event.type === 'unsubscribed' || event.type === 'error') {
        if (event.type === 'subscribed' && state.last === 0) state.last = event.seq;
        if (!state.replies.has(event.ref) || event.type === 'error') state.replies.set(event.ref, event);
      }
    }
  });
  const request = async (frame, ref, final) => {
    client.send({ ...frame, ref });
    await waitFor(() => state.replies.get(ref)?.type === final || state.replies.get(ref)?.type === 'error', 10000, `${final} ${ref}`);
    assert.equal(state.replies.get(ref).type, final, JSON.stringify(state.replies.get(ref)));
  };
  await request({ type: 'subscribe', channel }, 'first', 'subscribed');
  for (let cycle = 0; cycle < cycles; cycle += 1) {
    await request({ type: 'unsubscribe', channel }, `u${cycle}`, 'unsubscribed');
    await request({ type: 'subscribe', channel, since: state.last }, `s${cycle}`, 'history');
    const seen = state.live;
    await waitFor(() => state.live >= seen + 3, 10000, `live messages after resubscribe ${cycle}`);
  }
  await client.close();
  return state;
}

test('subscribers on another node than the sender leave and come back with since under traffic: nothing lost', async () => {
  const sender = await connect(nodes[0], 'carol');
  let stop = false;
  const sending = send(sender, 'resubscribe', 1_000_000, { window: 10, stop: () => stop });
  try {
    const results = await Promise.all([
      resubscribeCycles(nodes[1], 'dora', 'resubscribe', 40),
      resubscribeCycles(nodes[1], 'erin', 'resubscribe', 40),
      resubscribeCycles(nodes[2], 'fay', 'resubscribe', 40),
    ]);
    for (const [index, result] of results.entries()) {
      assert.deepEqual(result.gaps, [], `reader ${index}: messages neither replayed nor delivered`);
    }
    console.log('resubscribe figures', results.map(({ last, repeats }) => ({ last, repeats })));
  } finally {
    stop = true;
    await sending;
    await sender.close();
  }
});

// Presence events a client got for `user` in `channel`, in arrival order.
function presenceLog(client, channel) {
  const log = [];
  client.ws.on('message', (data) => {
    for (const line of data.toString().split('\n')) {
      const event = JSON.parse(line);
      if (event.channel === channel && /^presence_(join|leave|update)$/.test(event.type)) log.push(event);
    }
  });
  return log;
}

async function joinLobby(node, user) {
  const client = await connect(node, user);
  const reply = await subscribe(client, 'lobby');
  const state = await client.next((e) => e.type === 'presence_state' && e.ref === reply.ref, 10000);
  return { client, members: state.members.map((m) => m.user_id).sort() };
}

test('presence across nodes: a user on two nodes is one member, seen the same from every node', async () => {
  const observer = await joinLobby(nodes[2], 'watcher');
  const seen = presenceLog(observer.client, 'lobby');
  // pat connects through n1 and then n2: one join, from whichever node was first.
  const patA = await joinLobby(nodes[0], 'pat');
  assert.deepEqual(patA.members, ['pat', 'watcher'], 'presence_state lists the members of every node');
  const patB = await joinLobby(nodes[1], 'pat');
  assert.deepEqual(patB.members, ['pat', 'watcher']);
  const newcomer = await joinLobby(nodes[1], 'newcomer');
  assert.deepEqual(newcomer.members, ['newcomer', 'pat', 'watcher']);
  // A status set through one node reaches the others and is what a later
  // presence_state says.
  patB.client.send({ type: 'presence', channel: 'lobby', status: 'away', meta: { mood: 'busy' } });
  await waitFor(() => seen.some((e) => e.type === 'presence_update' && e.user_id === 'pat'), 5000, 'presence_update across nodes');
  const late = await connect(nodes[0], 'late');
  const lateReply = await subscribe(late, 'lobby');
  const lateState = await late.next((e) => e.type === 'presence_state' && e.ref === lateReply.ref, 10000);
  const pat = lateState.members.find((m) => m.user_id === 'pat');
  assert.equal(pat.status, 'away', JSON.stringify(lateState));
  assert.deepEqual(pat.meta, { mood: 'busy' });
  // pat's first connection goes: still a member (its other one is on n2).
  // Control: once n1 has counted the close, late (also on n1) leaves; its
  // presence script runs on n1's one Redis connection after pat's, and its
  // leave is published after anything pat's published, so it comes first.
  await patA.client.close();
  await waitForCount('pat', 1);
  await late.close();
  await waitFor(() => seen.some((e) => e.type === 'presence_leave' && e.user_id === 'late'), 5000, 'presence_leave of late');
  assert.ok(!seen.some((e) => e.type === 'presence_leave' && e.user_id === 'pat'), 'no leave while pat is on n2');
  // Its last one goes: one leave. Control: newcomer, on n2 too, leaves after.
  await patB.client.close();
  await waitFor(() => seen.some((e) => e.type === 'presence_leave' && e.user_id === 'pat'), 5000, 'presence_leave of pat');
  await newcomer.client.close();
  await waitFor(() => seen.some((e) => e.type === 'presence_leave' && e.user_id === 'newcomer'), 5000, 'presence_leave of newcomer');
  const patEvents = seen.filter((e) => e.user_id === 'pat').map((e) => e.type);
  assert.deepEqual(patEvents, ['presence_join', 'presence_update', 'presence_leave'], JSON.stringify(seen));
  await observer.client.close();
});

test('/health and status show the cluster: every node, Redis connected', async () => {
  let body;
  const deadline = Date.now() + 6000;
  do {
    body = await (await fetch(`http://127.0.0.1:${nodes[1].port}/health`)).json();
    if (body.cluster?.nodes?.length === 3) break;
    await sleep(200);
  } while (Date.now() < deadline);
  assert.equal(body.degraded, false, JSON.stringify(body));
  assert.equal(body.cluster.redis, 'connected');
  assert.equal(body.cluster.node_id, 'n2');
  assert.deepEqual(body.cluster.nodes.map((n) => n.id).sort(), ['n1', 'n2', 'n3']);
  const status = await nodes[0].mustRealtime(['status', '--json']);
  const parsed = JSON.parse(status.stdout);
  assert.equal(parsed.cluster.node_id, 'n1');
  const human = await nodes[0].mustRealtime(['status']);
  for (const name of ['n1', 'n2', 'n3']) assert.match(human.stdout, new RegExp(`^${name} `, 'm'));
});

test('stats and connections show every node of the cluster', async () => {
  const clients = [];
  for (const node of nodes) clients.push(await connect(node, `on-${node.name}`));
  await subscribe(clients[1], 'room');
  const listed = JSON.parse((await nodes[0].mustRealtime(['connections', '--json'])).stdout);
  assert.deepEqual(listed.unreachable_nodes, []);
  for (const node of nodes) {
    const mine = listed.connections.filter((c) => c.user_id === `on-${node.name}`);
    assert.equal(mine.length, 1, `${node.name}: ${JSON.stringify(listed.connections)}`);
    assert.equal(mine[0].node, node.name);
  }
  assert.deepEqual(listed.connections.find((c) => c.user_id === 'on-n2').subscriptions, ['room']);
  const table = (await nodes[2].mustRealtime(['connections'])).stdout;
  assert.match(table, /NODE/);
  assert.match(table, /on-n1/);
  const stats = JSON.parse((await nodes[1].mustRealtime(['stats', '--json'])).stdout);
  assert.ok(stats.active_connections >= 3, JSON.stringify(stats));
  assert.ok(stats.online_users >= 3, JSON.stringify(stats));
  assert.deepEqual(stats.cluster.nodes.map((n) => n.id).sort(), ['n1', 'n2', 'n3']);
  assert.equal(
    stats.cluster.nodes.reduce((sum, n) => sum + n.connections, 0),
    stats.active_connections,
    'the per-node figures add up',
  );
  const human = (await nodes[1].mustRealtime(['stats'])).stdout;
  assert.match(human, /Active Connections/);
  for (const name of ['n1', 'n2', 'n3']) assert.match(human, new RegExp(`^${name} `, 'm'));
  for (const client of clients) await client.close();
});

test('broadcasts, now and scheduled, reach every node\'s connections exactly once', async () => {
  const clients = [];
  for (const node of nodes) {
    const client = await connect(node, `b-${node.name}`);
    await subscribe(client, 'room');
    clients.push(client);
  }
  const ids = [];
  for (const args of [
    ['broadcast', 'room', 'news', '{"n":1}', '--json'],
    ['broadcast', '--all', 'notice', '"hello"', '--expires', '+20s', '--json'],
    ['broadcast', 'room', 'later', '[1]', '--at', '+2s', '--json'],
  ]) {
    ids.push(JSON.parse((await nodes[1].mustRealtime(args)).stdout).broadcast.id);
  }
  const got = (client, id) => client.events.filter((e) => e.type === 'broadcast' && e.id === id).length;
  await waitFor(() => clients.every((client) => ids.every((id) => got(client, id) >= 1)), 10000,
    () => `every broadcast on every node: ${JSON.stringify(clients.map((c) => ids.map((id) => got(c, id))))}`);
  // Still once, after a control: a broadcast written after all three were
  // delivered everywhere, claimed by whichever node polls first and relayed by
  // the bus like them, reaches every connection; then a ping barrier on each.
  const control = JSON.parse((await nodes[2].mustRealtime(['broadcast', 'room', 'control', '{}', '--json'])).stdout).broadcast.id;
  await waitFor(() => clients.every((client) => got(client, control) >= 1), 10000, 'the control broadcast on every node');
  for (const client of clients) {
    const ref = `barrier-${Math.random()}`;
    client.send({ type: 'ping', ref });
    await client.next((e) => e.type === 'pong' && e.ref === ref);
  }
  for (const client of clients) assert.equal(got(client, control), 1, 'the control broadcast delivered once');
  for (const [index, client] of clients.entries()) {
    for (const id of ids) assert.equal(got(client, id), 1, `${nodes[index].name}: broadcast ${id} delivered once`);
  }
  for (const client of clients) await client.close();
});

test('typing, archiving and channel_deleted reach every node', async () => {
  await nodes[0].mustRealtime(['channel', 'create', 'spread']);
  await nodes[0].mustRealtime(['channel', 'create', 'doomed']);
  const admin = (node, method, path) => fetch(`http://127.0.0.1:${node.port}${path}`, {
    method,
    headers: { 'x-realtime-admin-secret': adminSecret },
  });
  const clients = [];
  for (const node of nodes) {
    const client = await connect(node, `t-${node.name}`);
    await subscribe(client, 'spread');
    await subscribe(client, 'doomed');
    clients.push(client);
  }
  const [c1, c2, c3] = clients;
  // Typing through n1: the others get it, the typist does not.
  c1.send({ type: 'typing', channel: 'spread', typing: true });
  for (const client of [c2, c3]) {
    const typing = await client.next((e) => e.type === 'typing' && e.user_id === 't-n1', 5000);
    assert.equal(typing.channel, 'spread');
    assert.equal(typing.typing, true);
  }
  c1.send({ type: 'ping', ref: 'typist' });
  await c1.next((e) => e.type === 'pong' && e.ref === 'typist');
  assert.ok(!c1.events.some((e) => e.type === 'typing'), JSON.stringify(c1.events));

  // Archived through n2's API. Barrier: typing from c2 (n2) published after
  // it; once n1 and n3 delivered that, they have applied the archive.
  assert.equal((await admin(nodes[1], 'POST', '/api/channels/spread/archive')).status, 200);
  c2.send({ type: 'typing', channel: 'spread', typing: true });
  for (const client of [c1, c3]) {
    await client.next((e) => e.type === 'typing' && e.user_id === 't-n2' && e.typing === true, 5000);
  }
  for (const [index, client] of [c1, c3].entries()) {
    const ref = `late-${index}`;
    client.send({ type: 'message', channel: 'spread', content: 'after the archive', ref });
    const reply = await client.next((e) => e.ref === ref, 5000);
    assert.equal(reply.type, 'error', JSON.stringify(reply));
    assert.equal(reply.code, 'forbidden', JSON.stringify(reply));
  }

  // Deleted through n3's API: every node's subscriber is told.
  assert.equal((await admin(nodes[2], 'DELETE', '/api/channels/doomed')).status, 200);
  for (const client of clients) {
    const deleted = await client.next((e) => e.type === 'channel_deleted', 5000);
    assert.equal(deleted.channel, 'doomed');
  }
  for (const client of clients) await client.close();
});

test('Redis stopped and started mid-traffic: no acked message lost, the cluster recovers', async (t) => {
  // Subscribers on every node; after the outage a node catches its own up
  // from the store, and one that gets too much at once resumes with since.
  const subscribers = [];
  for (const node of nodes) {
    const recorder = resilientRecorder(node, `r-${node.name}`, 'redis');
    await recorder.start();
    subscribers.push({ node, recorder, seqs: recorder.state.seqs });
  }
  const senders = [await connect(nodes[0], 'carol'), await connect(nodes[1], 'dave')];
  let stopping = false;
  const traffic = Promise.all(senders.map((sender) => send(sender, 'redis', 1e9, { window: 5, stop: () => stopping })));
  await sleep(500);
  await stopRedis();
  await sleep(1500); // nodes serve alone meanwhile
  // /health: still 200, degraded, with the Redis link's state.
  const down = await fetch(`http://127.0.0.1:${nodes[0].port}/health`);
  assert.equal(down.status, 200);
  const downBody = await down.json();
  assert.equal(downBody.degraded, true, JSON.stringify(downBody));
  assert.equal(downBody.cluster.redis, 'degraded');
  redis = await startRedis();
  await sleep(1500);
  stopping = true;
  const acked = (await traffic).flat().sort((a, b) => a - b);
  assert.ok(acked.length > 50, `only ${acked.length} messages acked`);
  const last = acked.at(-1);
  // Every subscriber has every acked message, in order (live, or filled from
  // the store after the bus came back).
  for (const { seqs, node, recorder } of subscribers) {
    await waitFor(() => seqs.at(-1) >= last, 15000, () => {
      const seen = new Set(seqs);
      const missing = acked.filter((seq) => !seen.has(seq));
      return `catch-up after Redis restart on ${node.name}: last acked ${last}, last received ${seqs.at(-1)}, ` +
        `${seqs.length} received after ${recorder.state.reconnects} reconnects, ${missing.length} acked missing (first ${missing.slice(0, 5)})`;
    });
  }
  t.diagnostic(`${acked.length} acked; resumes after a slow-consumer close: ${subscribers.map((s) => `${s.node.name} ${s.recorder.state.reconnects}`).join(', ')}`);
  for (const { seqs, node, recorder } of subscribers) {
    assert.equal(recorder.state.out_of_order ?? 0, 0, `${node.name}: messages out of seq order`);
    const seen = new Set(seqs);
    for (const seq of acked) assert.ok(seen.has(seq), `${node.name}: acked seq ${seq} missing`);
  }
  // A client that reconnects and subscribes with since gets what was stored
  // after its last seq (here: the first acked one), then pages the rest.
  const late = await connect(nodes[2], 'late');
  const ref = 'since';
  late.send({ type: 'subscribe', channel: 'redis', since: acked[0] - 1, ref });
  const replay = await late.next((e) => e.type === 'history' && e.ref === ref, 10000);
  assert.equal(replay.messages[0].seq, acked[0]);
  const stored = new Set((await fullHistory(late, 'redis')).map((m) => m.seq));
  for (const seq of acked) assert.ok(stored.has(seq), `acked seq ${seq} not stored`);
  // Recovered: a new message from n1 reaches n3 by the bus alone.
  const probe = await connect(nodes[0], 'probe');
  const [seq] = await send(probe, 'redis', 1);
  await waitFor(() => subscribers[2].seqs.includes(seq), 5000, 'delivery across nodes after recovery');
  for (const client of [...senders, late, probe]) await client.close();
  for (const { recorder } of subscribers) await recorder.stop();
  await waitForRedisEverywhere(nodes);
});

test('Redis down while a node stores more than a page of messages, back after the traffic: the others read them all', async () => {
  // Nothing arrives after Redis is back to open a gap: the resync alone must
  // read every message the other node stored meanwhile, page after page.
  const reader = resilientRecorder(nodes[1], 'quiet-reader', 'quiet');
  await reader.start();
  const writer = await connect(nodes[0], 'quiet-writer');
  const [first] = await send(writer, 'quiet', 1);
  await waitFor(() => reader.state.seqs.includes(first), 5000, 'the first message across nodes');
  await stopRedis();
  // The writer's node knows Redis is gone before the messages are sent.
  for (const deadline = Date.now() + 10000; ;) {
    const body = await (await fetch(`http://127.0.0.1:${nodes[0].port}/health`)).json();
    if (body.cluster?.redis === 'degraded') break;
    if (Date.now() > deadline) throw new Error(`n1 did not see Redis go: ${JSON.stringify(body.cluster)}`);
    await sleep(20);
  }
  const acked = await send(writer, 'quiet', 5000, { window: 50 });
  assert.equal(acked.length, 5000, 'every message stored while Redis is down');
  redis = await startRedis();
  const last = Math.max(...acked);
  await waitFor(() => reader.state.seqs.at(-1) >= last, 15000, () => `resync: last acked ${last}, ` +
    `last received ${reader.state.seqs.at(-1)} after ${reader.state.reconnects} reconnects`);
  const seen = new Set(reader.state.seqs);
  for (const seq of acked) assert.ok(seen.has(seq), `seq ${seq} missing on n2`);
  assert.equal(reader.state.out_of_order ?? 0, 0);
  await writer.close();
  await reader.stop();
  await waitForRedisEverywhere(nodes);
});

test('a node killed with -9: the others keep delivering to each other, its members leave', async (t) => {
  const [n1, n2, n3] = nodes;
  const a = await connect(n1, 'ka');
  const b = await connect(n2, 'kb');
  const c = await connect(n3, 'kc');
  for (const client of [a, b, c]) await subscribe(client, 'room');
  const seqsB = recorder(b, 'room');
  // A member present only through n3, watched from n2.
  const watcher = await joinLobby(n2, 'kill-watcher');
  const gone = await joinLobby(n3, 'kill-member');
  assert.ok(gone.members.includes('kill-watcher'));
  const seenByWatcher = presenceLog(watcher.client, 'lobby');
  const pid = Number(readFileSync(join(n3.dir, '.nself/realtime', `server-${n3.port}.pid`), 'utf8'));
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  await c.closed;
  const acked = await send(a, 'room', 20);
  await waitFor(() => seqsB.at(-1) === acked.at(-1), 5000, 'delivery after a node died');
  assertConsecutive(seqsB, acked[0], acked.at(-1), 'n2 reader');
  // n3's members leave once its heartbeat key expires and a survivor reaps it
  // (ttl 6 s + reap interval 2 s by default).
  await waitFor(() => seenByWatcher.some((e) => e.type === 'presence_leave' && e.user_id === 'kill-member'), 15000,
    'presence_leave of a dead node\'s member');
  t.diagnostic(`presence_leave of a member of the killed node after ${Date.now() - killedAt} ms`);
  const after = await joinLobby(n1, 'after-kill');
  assert.ok(!after.members.includes('kill-member'), JSON.stringify(after.members));
  await a.close();
  await b.close();
  await watcher.client.close();
  await after.client.close();
});

test('limits across nodes: connections per user and messages per second are counted cluster-wide', async (t) => {
  // Two more nodes with low limits (the others run with high ones for traffic).
  const limits = { REALTIME_MAX_CONNECTIONS_PER_USER: '2', REALTIME_MAX_MESSAGES_PER_SECOND: '20' };
  const l1 = await makeNode('l1', database?.url ?? null, sqlitePath, limits);
  const l2 = await makeNode('l2', database?.url ?? null, sqlitePath, limits);
  nodes.push(l1, l2);
  for (const node of [l1, l2]) await node.mustRealtime(['start']);

  // Connections: one on each node is the limit of 2; a third, on either, is refused.
  const first = await connect(l1, 'multi');
  const second = await connect(l2, 'multi');
  await waitForCount('multi', 2); // auth_ok goes out after the cluster-wide count
  // Every event a client got, in order (Client.next takes them out of `events`).
  const logged = (client) => {
    const log = [];
    client.ws.on('message', (data) => log.push(JSON.parse(data.toString())));
    return log;
  };
  // Refused before auth_ok (issue 16 item 17: the sixth connection got
  // auth_ok, then too_many_connections and 4008): with ?token= ...
  // (The server may answer in the upgrade's packet: Client.events has all.)
  const third = await Client.connect(l1.url(`?token=${token('multi')}`));
  const refused = await third.next(() => true, 5000); // the first event
  assert.equal(refused.code, 'too_many_connections', JSON.stringify(refused));
  assert.equal((await third.closed).code, 4008);
  assert.deepEqual(third.events, [], 'nothing after the refusal');
  // ... and with an auth message followed, in the same frame, by requests
  // that must not be served: the error carries the auth's ref.
  const fourth = await Client.connect(l2.url());
  const fourthLog = logged(fourth);
  fourth.ws.send(JSON.stringify([
    { type: 'auth', token: token('multi'), ref: 'auth' },
    { type: 'subscribe', channel: 'room', ref: 'sub' },
    { type: 'ping', ref: 'ping' },
  ]));
  assert.equal((await fourth.closed).code, 4008);
  assert.deepEqual(fourthLog.map((e) => [e.type, e.ref, e.code]), [['error', 'auth', 'too_many_connections']],
    JSON.stringify(fourthLog));
  await waitForCount('multi', 2); // the refused ones hold no slot
  // A connection that closes frees its slot on the cluster.
  await second.close();
  await waitForCount('multi', 1);
  // auth_ok now means admitted: the requests sent with the auth wait for it
  // and are answered after it, in order.
  const again = await Client.connect(l2.url());
  const againLog = logged(again);
  again.ws.send(JSON.stringify([
    { type: 'auth', token: token('multi'), ref: 'auth' },
    { type: 'subscribe', channel: 'room', ref: 'sub' },
    { type: 'message', channel: 'room', content: 'after the admission', ref: 'again' },
  ]));
  const answer = await again.next((e) => e.ref === 'again', 5000);
  assert.equal(answer.type, 'ack', JSON.stringify(answer));
  assert.deepEqual(againLog.filter((e) => e.ref !== undefined).map((e) => [e.type, e.ref]),
    [['auth_ok', 'auth'], ['subscribed', 'sub'], ['ack', 'again']], JSON.stringify(againLog));
  assert.equal(again.ws.readyState, 1, 'a freed slot is usable from another node');
  await waitForCount('multi', 2);
  await first.close();
  await again.close();

  // Messages: 20 per second for the user, whichever node it sends through.
  const a = await connect(l1, 'chatty');
  const b = await connect(l2, 'chatty');
  const outcome = { acked: 0, limited: 0 };
  for (const client of [a, b]) {
    client.ws.on('message', (data) => {
      const event = JSON.parse(data.toString());
      if (event.type === 'ack') outcome.acked += 1;
      if (event.type === 'error' && event.code === 'rate_limited') outcome.limited += 1;
    });
  }
  const started = Date.now();
  for (let i = 0; i < 15; i += 1) {
    a.send({ type: 'message', channel: 'room', content: { i }, ref: `a${i}` });
    b.send({ type: 'message', channel: 'room', content: { i }, ref: `b${i}` });
  }
  await waitFor(() => outcome.acked + outcome.limited === 30, 5000, 'an answer to every message');
  const elapsed = (Date.now() - started) / 1000;
  t.diagnostic(`30 messages through two nodes in ${elapsed.toFixed(3)} s: ${outcome.acked} acked, ${outcome.limited} rate_limited`);
  // One bucket of 20 (plus its refill meanwhile); per node it would be 30.
  assert.ok(outcome.acked <= 20 + Math.ceil(20 * elapsed) + 1, JSON.stringify(outcome));
  assert.ok(outcome.acked < 30 && outcome.limited > 0, JSON.stringify(outcome));
  assert.ok(outcome.acked >= 15, `the bucket allowed only ${outcome.acked}`);
  await a.close();
  await b.close();
});

test('a node stopped gracefully: its members leave at once on the other nodes', async (t) => {
  const [l1, l2] = nodes.slice(-2);
  const watcher = await joinLobby(l1, 'stop-watcher');
  const seen = presenceLog(watcher.client, 'lobby');
  const member = await joinLobby(l2, 'stop-member');
  assert.ok(member.members.includes('stop-watcher'));
  const stoppedAt = Date.now();
  await l2.mustRealtime(['stop']);
  // Well before the 6 s heartbeat TTL after which a dead node is reaped.
  await waitFor(() => seen.some((e) => e.type === 'presence_leave' && e.user_id === 'stop-member'), 4000,
    'presence_leave of a stopped node\'s member');
  t.diagnostic(`presence_leave ${Date.now() - stoppedAt} ms after stop began`);
  await member.client.closed;
  await watcher.client.close();
});
