// The SDK's default client-side pacing (issue 14): every other SDK test
// turns it off (`rateLimit: false`). With the server's default limit (10
// counted requests a second per user) a burst of sends through an SDK client
// with its defaults is paced: every send is acked, in order, and the server
// never closes the connection as a flood.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { Project } from './harness.mjs';
import { collect, stored, until } from './sdk_support.mjs';
import { RealtimeClient } from '../../../clients/js/realtime-client.js';

let project;
let client;

before(async () => {
  project = await Project.create(); // REALTIME_MAX_MESSAGES_PER_SECOND: the default, 10
  await project.mustRealtime(['init']);
  await project.mustRealtime(['channel', 'create', 'paced']);
  await project.mustRealtime(['start']);
});

after(async () => {
  client?.close();
  await project?.cleanup();
});

test('a burst of 40 sends with the default rateLimit: all acked in order, none refused', async () => {
  client = new RealtimeClient({ url: project.url(), token: () => project.token('burst'), WebSocket });
  const refusals = [];
  const disconnects = [];
  client.on('event', (event) => {
    if (event.type === 'error') refusals.push(event.code);
  });
  client.on('disconnected', (event) => disconnects.push(event.code));
  await client.connect();
  const channel = client.channel('paced');
  const received = collect(channel);
  await channel.subscribe();
  const contents = Array.from({ length: 40 }, (_, n) => `p${n}`);
  const acks = await Promise.all(contents.map((content) => channel.send(content)));
  assert.deepEqual(acks.map((ack) => ack.seq), contents.map((_, n) => n + 1));
  assert.deepEqual(disconnects, [], 'the connection was never closed as a flood');
  // Pacing keeps refusals to what network jitter causes (none on a quiet
  // machine; each is retried by the SDK); without it 30 of the 40 are refused.
  assert.ok(refusals.length < 10, `${refusals.length} rate_limited refusals`);
  await until(() => received.length >= 40, 10000, 'the 40 messages');
  assert.deepEqual(received.map((m) => m.content), contents);
  assert.deepEqual((await stored(project, 'paced')).map((m) => m.content), contents);
});
