// The server's batch mode (several "\n"-separated events in one frame) with a
// raw client (?batch=1) and with the SDK (batch: true in its auth request):
// every event arrives once, in order, and bursts do come batched.
//
// Needs the server side of batch mode (REALTIME_BATCH_SIZE,
// REALTIME_BATCH_DELAY_MS); against a server without it, the "frames hold
// several events" assertions fail while the delivery ones pass.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { Client, Project, sleep } from './harness.mjs';
import { RealtimeClient, parseFrame } from '../../../clients/js/realtime-client.js';

let project;
const closers = [];

before(async () => {
  project = await Project.create({ env: { REALTIME_MAX_MESSAGES_PER_SECOND: '10000' } });
  await project.mustRealtime(['init']);
  await project.mustRealtime(['channel', 'create', 'burst']);
  await project.mustRealtime(['channel', 'create', 'burst-sdk']);
  await project.mustRealtime(['start']);
});

after(async () => {
  for (const close of closers) await close();
  await project?.cleanup();
});

async function until(predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// Sends `count` messages as array frames of up to 100 requests.
async function burst(channel, count, prefix) {
  const sender = await Client.connect(project.url(`?token=${project.token(`${prefix}-sender`)}`));
  await sender.next('auth_ok');
  for (let start = 0; start < count; start += 100) {
    const requests = [];
    for (let n = start; n < Math.min(count, start + 100); n += 1) {
      requests.push({ type: 'message', channel, content: `${prefix}${n}`, ref: n });
    }
    sender.send(requests);
  }
  for (let n = 0; n < count; n += 1) await sender.next((event) => event.type === 'ack' && event.ref === n, 15000);
  closers.push(() => sender.close());
}

test('?batch=1: a burst arrives in frames of several events, each event once and in order', async () => {
  const frames = [];
  const ws = new WebSocket(project.url(`?token=${project.token('raw-batch')}&batch=1`));
  ws.on('message', (data) => frames.push(data.toString()));
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  closers.push(() => ws.close());
  await until(() => frames.length >= 1, 5000, 'auth_ok');
  ws.send(JSON.stringify({ type: 'subscribe', channel: 'burst', ref: 's' }));
  await until(() => frames.some((f) => f.includes('"subscribed"')), 5000, 'subscribed');

  await burst('burst', 300, 'b');
  const events = () => frames.flatMap((frame) => parseFrame(frame));
  await until(() => events().filter((e) => e.type === 'message').length >= 300, 15000, '300 messages');
  const messages = events().filter((e) => e.type === 'message');
  assert.equal(messages.length, 300);
  assert.deepEqual(messages.map((m) => m.content), Array.from({ length: 300 }, (_, n) => `b${n}`));
  assert.deepEqual(messages.map((m) => m.seq), Array.from({ length: 300 }, (_, n) => n + 1));

  const batched = frames.filter((frame) => frame.includes('\n'));
  assert.ok(batched.length > 0, `no frame held several events (${frames.length} frames for ${events().length} events)`);
  for (const frame of batched) {
    const pieces = frame.split('\n');
    assert.ok(pieces.length <= 64, 'at most REALTIME_BATCH_SIZE (64) events in a frame');
    for (const piece of pieces) assert.equal(typeof JSON.parse(piece).type, 'string', 'each line is one complete event');
    assert.ok(!frame.endsWith('\n'), 'no trailing newline');
  }
});

test('an unbatched client never gets a frame with several events', async () => {
  const frames = [];
  const ws = new WebSocket(project.url(`?token=${project.token('raw-plain')}`));
  ws.on('message', (data) => frames.push(data.toString()));
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  closers.push(() => ws.close());
  ws.send(JSON.stringify({ type: 'subscribe', channel: 'burst', ref: 's' }));
  await until(() => frames.some((f) => f.includes('"subscribed"')), 5000, 'subscribed');
  await burst('burst', 200, 'p');
  await until(() => frames.filter((f) => f.includes('"type":"message"')).length >= 200, 15000, '200 messages');
  assert.equal(frames.filter((frame) => frame.includes('\n')).length, 0);
  for (const frame of frames) JSON.parse(frame);
});

test('the SDK with batch: true gets every message once and in order, in fewer frames than events', async () => {
  let frameCount = 0;
  class CountingWebSocket extends WebSocket {
    set onmessage(listener) {
      super.onmessage = (event) => {
        frameCount += 1;
        listener(event);
      };
    }
  }
  const client = new RealtimeClient({
    url: project.url(), token: () => project.token('sdk-batch'), WebSocket: CountingWebSocket, batch: true, rateLimit: false,
  });
  closers.push(() => client.close());
  await client.connect();
  const channel = client.channel('burst-sdk');
  const received = [];
  channel.on('message', (message) => received.push(message));
  await channel.subscribe();
  const framesBefore = frameCount;
  await burst('burst-sdk', 500, 's');
  await until(() => received.length >= 500, 15000, '500 messages');
  await sleep(200);
  assert.deepEqual(received.map((m) => m.content), Array.from({ length: 500 }, (_, n) => `s${n}`));
  const frames = frameCount - framesBefore;
  assert.ok(frames < 500, `${frames} frames for 500 messages: none were batched`);

  // The SDK's own sends and acks work in batch mode too.
  const acks = await Promise.all(Array.from({ length: 50 }, (_, n) => channel.send(`own${n}`)));
  assert.deepEqual(acks.map((a) => a.seq), Array.from({ length: 50 }, (_, n) => 501 + n));
  await until(() => received.length >= 550, 5000, 'own copies');
  assert.deepEqual(received.slice(500).map((m) => m.content), Array.from({ length: 50 }, (_, n) => `own${n}`));
});
