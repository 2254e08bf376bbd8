// Close 1008 "slow consumer" (issue 13, item 3), against the real server:
// an SDK client stops reading (the proxy holds the server's side of its
// connection) while another client floods its channel (small messages, as
// fast as the server acks them: the kernel's socket buffers, a few MB, fill
// first); the server's queue for it passes REALTIME_MAX_QUEUED_KB and the
// server closes it with 1008, and the proxy reads again at once. The SDK must report the 1008, reconnect, resubscribe
// with `since` and deliver every message of the channel exactly once, in seq
// order: those that were already on the wire, those the server dropped from
// its queue, and those sent while it was reconnecting.
//
// Every loop is bounded by count and by time (the server is several times
// slower under ASan and TSan); the assertions decide.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { Project, sleep } from './harness.mjs';
import { CuttableProxy } from './proxy.mjs';
import { SdkClients, collect, observer, stored, until } from './sdk_support.mjs';

// The bound must hold a whole replay: one frame of up to 1000 messages (the
// server's `since` replay, the SDK's history pages). A frame larger than the
// bound closes the connection with 1008 at once, on every resume.
const kQueuedKb = 512;
const kContentBytes = 150; // 1000 messages in a replay: about 300 KB
const kMaxFlood = 60_000; // messages at most
const kFloodMs = 90_000;
const kWindow = 50; // sends in flight at once
let project;
let sdk;

before(async () => {
  project = await Project.create({
    env: {
      REALTIME_MAX_QUEUED_KB: String(kQueuedKb),
      REALTIME_MAX_MESSAGES_PER_SECOND: '100000',
    },
  });
  await project.mustRealtime(['init']);
  await project.mustRealtime(['channel', 'create', 'flood']);
  await project.mustRealtime(['start']);
  sdk = new SdkClients(project);
});

after(async () => {
  sdk?.closeAll();
  await project?.cleanup();
});

async function slowConsumers() {
  const text = await fetch(`http://127.0.0.1:${project.port}/metrics`).then((response) => response.text());
  const line = text.split('\n').find((l) => l.startsWith('nself_realtime_slow_consumers_total '));
  return Number(line?.split(' ')[1] ?? NaN);
}

// A `ws` WebSocket that records the subscribe frames it writes.
function recordingWebSocket(subscribes) {
  return class extends WebSocket {
    send(data, ...rest) {
      const text = String(data);
      if (text.includes('"type":"subscribe"')) subscribes.push(JSON.parse(text));
      return super.send(data, ...rest);
    }
  };
}

// Sends `count` messages (or until `stop()`), `kWindow` at a time; resolves
// with how many were acked.
async function flood(sender, prefix, { count, stop = () => false, deadline = Date.now() + kFloodMs }) {
  const filler = 'x'.repeat(kContentBytes);
  let sent = 0;
  while (sent < count && !stop() && Date.now() < deadline) {
    const window = [];
    for (let i = 0; i < kWindow && sent < count; i += 1, sent += 1) {
      const ref = `${prefix}${sent}`;
      sender.send({ type: 'message', channel: 'flood', content: `${prefix}${sent} ${filler}`, ref });
      window.push(ref);
    }
    for (const ref of window) {
      const reply = await sender.next((event) => event.ref === ref, 30000);
      assert.equal(reply.type, 'ack', `${ref}: ${JSON.stringify(reply).slice(0, 200)}`);
    }
  }
  return sent;
}

test('1008 slow consumer: the SDK reconnects, resumes with since, every message once and in order', async () => {
  const proxy = await CuttableProxy.start(project.port);
  const sender = await observer(project, 'flooder');
  try {
    // No pings from the SDK: while it is held, only the server decides.
    const subscribes = [];
    const client = sdk.make(proxy.url(), 'laggard', { pingInterval: 0, WebSocket: recordingWebSocket(subscribes) });
    const channel = client.channel('flood');
    const received = collect(channel);
    const disconnects = [];
    let receivedAtClose = null;
    client.on('disconnected', (event) => {
      disconnects.push(event);
      receivedAtClose ??= received.length;
    });
    let reconnects = 0;
    client.on('reconnecting', () => { reconnects += 1; });
    await client.connect();
    await channel.subscribe();
    await flood(sender, 'before-', { count: 2 });
    await until(() => received.length === 2, 15000, 'the first messages');
    assert.equal(await slowConsumers(), 0);

    // The client stops reading; the flood goes on until the server gives up
    // on it, and its connection is read again at once (the server waits
    // 5 s, its close timeout, for the close frame to be written).
    assert.equal(proxy.hold(), 1);
    let closedAsSlow = false;
    const watch = (async () => {
      const deadline = Date.now() + kFloodMs;
      while (!closedAsSlow && Date.now() < deadline) {
        if ((await slowConsumers()) >= 1) {
          closedAsSlow = true;
          proxy.release();
          return;
        }
        await sleep(20);
      }
    })();
    const flooded = await flood(sender, 'flood-', { count: kMaxFlood, stop: () => closedAsSlow });
    await watch;
    assert.ok(closedAsSlow, `no slow-consumer close after ${flooded} messages of ${kContentBytes} bytes`);
    await until(() => disconnects.length >= 1, 30000, 'the SDK to see the close');
    assert.deepEqual(disconnects.map((event) => [event.code, event.reason]), [[1008, 'slow consumer']]);

    // More while it reconnects, then wait for the channel to be complete.
    await flood(sender, 'after-', { count: 5 });
    const all = await stored(project, 'flood');
    assert.equal(all.length, 2 + flooded + 5, 'every message stored once');
    await until(() => client.connected && received.length >= all.length, 60000,
      `the SDK to catch up (${received.length} of ${all.length})`);
    console.log(`${flooded} flood messages until the slow-consumer close, ${receivedAtClose} received before it, ` +
      `${all.length - receivedAtClose} after; ${reconnects} reconnect(s); ${proxy.connections} connections`);
    // Some were dropped from the server's queue: they came back through the
    // resubscribe with since = the last seq received before the close.
    // (The dropped queue alone, 512 KB of ~400-byte events, is more than
    // the 1000 one replay carries: the SDK pages through history too.)
    assert.ok(all.length - receivedAtClose > 1000, `${all.length - receivedAtClose} messages after the close`);
    assert.equal(subscribes.length, 2, 'one subscribe, one resubscribe');
    assert.equal(subscribes[0].since, undefined);
    assert.equal(subscribes[1].since, received[receivedAtClose - 1].seq, 'resubscribed with since = the last seq seen');
    assert.deepEqual(received.map((m) => m.seq), all.map((m) => m.seq), 'every seq once, in order');
    assert.deepEqual(received.map((m) => m.id), all.map((m) => m.id));
    assert.ok(reconnects >= 1);
    assert.deepEqual(disconnects.map((event) => event.code), [1008], 'no other close');
    assert.equal(await slowConsumers(), 1);
  } finally {
    await sender.close();
    await proxy.close();
  }
});
