// Cross-node fan-out against a single node (docs/BENCHMARKS.md, "Cluster").
// Starts a redis-server and two `nself realtime start` nodes on one database
// (PostgreSQL when NSELF_TEST_POSTGRES_URL is set, else one SQLite file), and
// one node without Redis; a sender on the first node, SUBSCRIBERS receivers
// on the second (cluster) or on the same node (single). Measures:
// - latency: one message in flight at a time, send -> every receiver has it;
// - throughput: MESSAGES sent with 64 in flight, messages/s until every
//   receiver has all of them.
// Usage: NSELF_BINARY=build/release/nself node bench/cluster.mjs [messages] [subscribers]
// (bench/cluster.sh wraps it). Both channel kinds: persistent and ephemeral.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  Client,
  Project,
  createPostgresDatabase,
  freePort,
  signToken,
} from '../tests/integration/node/harness.mjs';

const messages = Number(process.argv[2] ?? 2000);
const subscribers = Number(process.argv[3] ?? 50);
const secret = randomBytes(16).toString('hex');
const token = (user) => signToken(secret, { sub: user, exp: Math.floor(Date.now() / 1000) + 3600 });

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function startRedis(port) {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', ''], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve) => {
    child.stdout.on('data', (chunk) => chunk.toString().includes('Ready to accept') && resolve());
  });
  return child;
}

async function node(name, env) {
  const project = await Project.create({ env: { REALTIME_MAX_MESSAGES_PER_SECOND: '1000000', REALTIME_NODE_ID: name, ...env } });
  project.secret = secret;
  writeFileSync(
    join(project.dir, '.env'),
    `WEBSOCKET_HOST=127.0.0.1\nWEBSOCKET_PORT=${project.port}\nREALTIME_JWT_SECRET=${secret}\n`,
  );
  return project;
}

async function receivers(project, channel) {
  const clients = [];
  for (let i = 0; i < subscribers; i += 1) {
    const client = await Client.connect(project.url(`?token=${token(`r${i}`)}`));
    await client.next('auth_ok');
    client.send({ type: 'subscribe', channel });
    await client.next('subscribed');
    client.count = 0;
    client.ws.on('message', (data) => {
      for (const line of data.toString().split('\n')) if (line.includes('"type":"message"')) client.count += 1;
    });
    clients.push(client);
  }
  return clients;
}

async function run(label, senderNode, receiverNode, channel) {
  const clients = await receivers(receiverNode, channel);
  const sender = await Client.connect(senderNode.url(`?token=${token('sender')}`));
  await sender.next('auth_ok');
  const waitAll = (target) =>
    new Promise((resolve) => {
      const check = () => (clients.every((c) => c.count >= target) ? resolve() : setImmediate(check));
      check();
    });
  // Latency: one in flight.
  const samples = [];
  for (let i = 0; i < Math.min(messages, 500); i += 1) {
    const target = clients[0].count + 1;
    const started = performance.now();
    sender.send({ type: 'message', channel, content: { i } });
    await waitAll(target);
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  // Throughput: 64 in flight (acks pace the sender).
  const base = clients.map((c) => c.count);
  let acked = 0;
  sender.ws.on('message', (data) => { if (data.toString().includes('"type":"ack"')) acked += 1; });
  const started = performance.now();
  let sent = 0;
  while (sent < messages) {
    while (sent - acked < 64 && sent < messages) {
      sender.send({ type: 'message', channel, content: { n: sent } });
      sent += 1;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => {
    const check = () => (clients.every((c, i) => c.count - base[i] >= messages) ? resolve() : setTimeout(check, 1));
    check();
  });
  const seconds = (performance.now() - started) / 1000;
  const f = (v) => v.toFixed(2);
  console.log(
    `| ${label} | ${channel} | ${subscribers} | ${f(percentile(samples, 50))} | ${f(percentile(samples, 99))} | ${Math.round(messages / seconds)} | ${Math.round((messages * subscribers) / seconds)} |`,
  );
  for (const client of [sender, ...clients]) client.ws.terminate();
}

const database = await createPostgresDatabase();
const redisPort = await freePort();
const redis = await startRedis(redisPort);
const shared = { ...(database ? { DATABASE_URL: database.url } : {}) };
const single = await node('single', shared);
const a = await node('a', { ...shared, REDIS_URL: `redis://127.0.0.1:${redisPort}` });
const b = await node('b', { ...shared, REDIS_URL: `redis://127.0.0.1:${redisPort}` });
if (!database) {
  const file = join(a.dir, 'shared.db');
  for (const project of [single, a, b]) project.env.REALTIME_SQLITE_PATH = file;
}
try {
  await a.mustRealtime(['init']);
  await a.mustRealtime(['channel', 'create', 'bench']);
  await a.mustRealtime(['channel', 'create', 'quick', '--ephemeral']);
  for (const project of [single, a, b]) await project.mustRealtime(['start']);
  console.log(`database: ${database ? 'PostgreSQL' : 'SQLite'}; ${messages} messages`);
  console.log('| setup | channel | receivers | latency p50 ms | p99 ms | messages/s | deliveries/s |');
  console.log('|---|---|---|---|---|---|---|');
  for (const channel of ['bench', 'quick']) {
    await run('single node', single, single, channel);
    await run('2 nodes, cross-node', a, b, channel);
  }
} finally {
  for (const project of [single, a, b]) await project.cleanup();
  redis.kill('SIGKILL');
  await database?.drop();
}
