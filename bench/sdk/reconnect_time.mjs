// How long SDK clients take to be connected again (authenticated and
// resubscribed) after the server comes back from a restart, over N restarts
// (default 20): p50 and p99 of the time from `nself realtime start`
// returning (the server listens) to each client's 'connected' event. Clients
// use the SDK's defaults (backoff from 500 ms doubling to 30 s, with jitter).
//
//   NSELF_BINARY=$PWD/build/release/nself node bench/sdk/reconnect_time.mjs [restarts] [clients] [outage_ms]
import WebSocket from '../../tests/integration/node/node_modules/ws/wrapper.mjs';
import { Project, sleep } from '../../tests/integration/node/harness.mjs';
import { RealtimeClient } from '../../clients/js/realtime-client.js';

const restarts = Number(process.argv[2] ?? 20);
const clientCount = Number(process.argv[3] ?? 5);
const outageMs = Number(process.argv[4] ?? 5000);

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

const project = await Project.create();
await project.mustRealtime(['init']);
await project.mustRealtime(['channel', 'create', 'bench']);
await project.mustRealtime(['start']);
const clients = [];
for (let n = 0; n < clientCount; n += 1) {
  const client = new RealtimeClient({ url: project.url(), token: () => project.token(`user-${n}`), WebSocket });
  await client.connect();
  await client.channel('bench').subscribe();
  clients.push(client);
}
const samples = [];
try {
  for (let round = 1; round <= restarts; round += 1) {
    await project.mustRealtime(['stop']);
    await sleep(outageMs);
    const back = [];
    const waits = clients.map((client) => new Promise((resolve) => client.once('connected', () => resolve(Date.now()))));
    await project.mustRealtime(['start']);
    const upAt = Date.now();
    for (const at of await Promise.all(waits)) back.push(at - upAt);
    samples.push(...back);
    console.error(`restart ${round}: ${back.map((ms) => `${ms} ms`).join(', ')}`);
  }
} finally {
  for (const client of clients) client.close();
  await project.cleanup();
}
const sorted = samples.map((ms) => Math.max(0, ms)).sort((a, b) => a - b);
console.log(`${restarts} restarts x ${clientCount} clients, ${outageMs} ms outage: p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms, max ${sorted.at(-1)} ms`);
