// What the commit adds to delivery latency: one sender and one receiver on the
// same channel, one message in flight at a time, publish-to-receive and
// publish-to-ack latency on an ephemeral channel (no store) and on a
// persistent one (group commit before fan-out), against the real server
// started through the CLI. Usage (see docs/BENCHMARKS.md):
//   NSELF_BINARY=build/release/nself node bench/commit_latency.mjs [messages]
// With NSELF_TEST_POSTGRES_URL set (scripts/test-env.sh) it also runs on PostgreSQL.
import { performance } from 'node:perf_hooks';
import {
  Client,
  Project,
  createPostgresDatabase,
} from '../tests/integration/node/harness.mjs';

const count = Number(process.argv[2] ?? 2000);

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const f = (v) => v.toFixed(3);
  return `p50 ${f(percentile(sorted, 50))}  p90 ${f(percentile(sorted, 90))}  p99 ${f(percentile(sorted, 99))}  max ${f(sorted[sorted.length - 1])}`;
}

async function measure(project, channel) {
  const sender = await Client.connect(project.url(`?token=${project.token('sender')}`));
  const receiver = await Client.connect(project.url(`?token=${project.token('receiver')}`));
  await sender.next('auth_ok');
  await receiver.next('auth_ok');
  receiver.send({ type: 'subscribe', channel });
  await receiver.next('subscribed');
  const deliver = [];
  const ack = [];
  for (let i = 0; i < count + 100; i += 1) {
    const started = performance.now();
    sender.send({ type: 'message', channel, content: { i }, ref: i });
    const delivered = receiver.next('message');
    const acked = sender.next((event) => event.type === 'ack' && event.ref === i);
    await delivered;
    const deliveredAt = performance.now();
    await acked;
    const ackedAt = performance.now();
    if (i >= 100) { // warm-up excluded
      deliver.push(deliveredAt - started);
      ack.push(ackedAt - started);
    }
  }
  await sender.close();
  await receiver.close();
  return { deliver: summary(deliver), ack: summary(ack) };
}

async function run(label, databaseUrl) {
  // Messages go out back to back: lift the messages-per-second limit.
  const project = await Project.create({
    databaseUrl,
    env: { REALTIME_MAX_MESSAGES_PER_SECOND: '1000000' },
  });
  try {
    await project.mustRealtime(['init']);
    await project.mustRealtime(['channel', 'create', 'stored']);
    await project.mustRealtime(['channel', 'create', 'live', '--ephemeral']);
    await project.mustRealtime(['start']);
    for (const channel of ['live', 'stored']) {
      const result = await measure(project, channel);
      console.log(`${label.padEnd(10)} ${channel === 'live' ? 'ephemeral ' : 'persistent'}  deliver ms: ${result.deliver}   ack ms: ${result.ack}`);
    }
  } finally {
    await project.cleanup();
  }
}

console.log(`${count} messages, one in flight, after 100 warm-up messages`);
await run('sqlite');
const database = await createPostgresDatabase();
if (database) {
  try {
    await run('postgres', database.url);
  } finally {
    await database.drop();
  }
}
