// An HTTP response has a write deadline (REALTIME_HTTP_WRITE_TIMEOUT,
// docs/SECURITY.md H1): a client that asks for a large response and never
// reads it loses its connection after the deadline, and the server keeps
// serving everyone else meanwhile and after.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Project, sleep } from './harness.mjs';

const WRITE_TIMEOUT_SECONDS = 2;
const MESSAGES = 16;
const MESSAGE_TEXT = 'x'.repeat(1_000_000);  // 16 of them: a 16 MB history, far above socket buffers

let project;
let adminSecret;
let base;

function envValue(key) {
  const line = readFileSync(join(project.dir, '.env'), 'utf8').split('\n').find((l) => l.startsWith(`${key}=`));
  return line.slice(key.length + 1);
}

async function api(method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-realtime-admin-secret': adminSecret },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

// A WebSocket round trip: a message sent on `general` comes back.
async function roundTrip(label) {
  const client = await Client.connect(project.url(`?token=${project.token(`user-${label}`)}`));
  await client.next('auth_ok');
  client.send({ type: 'subscribe', channel: 'general', ref: 's' });
  await client.next('subscribed');
  client.send({ type: 'message', channel: 'general', content: label, ref: 'm' });
  await client.next((event) => event.type === 'message' && event.content === label);
  await client.close();
}

before(async () => {
  project = await Project.create({
    env: {
      REALTIME_HTTP_WRITE_TIMEOUT: String(WRITE_TIMEOUT_SECONDS),
      REALTIME_MAX_MESSAGE_BYTES: String(1 << 20),
    },
  });
  await project.mustRealtime(['init']);
  adminSecret = envValue('REALTIME_ADMIN_SECRET');
  await project.mustRealtime(['channel', 'create', 'general']);
  await project.mustRealtime(['channel', 'create', 'big']);
  await project.mustRealtime(['start']);
  base = `http://127.0.0.1:${project.port}`;
  for (let i = 0; i < MESSAGES; ++i) {
    const published = await api('POST', '/api/channels/big/messages', { content: MESSAGE_TEXT });
    assert.ok(published.status === 200 || published.status === 201, JSON.stringify(published.body).slice(0, 200));
  }
});
after(async () => project.cleanup());

test('a client that never reads a large response is cut off after the write deadline; others are served', async () => {
  // The slow reader: asks for the whole 16 MB history and reads nothing (no
  // 'data' listener: the socket stays paused once Node's small buffer is full).
  const slow = connect(project.port, '127.0.0.1');
  const closed = new Promise((resolve) => slow.once('close', resolve));
  slow.on('error', () => {});  // a reset is one way for the server to close it
  await new Promise((resolve) => slow.once('connect', resolve));
  const started = Date.now();
  slow.write(
    `GET /api/channels/big/messages?limit=${MESSAGES} HTTP/1.1\r\nHost: localhost\r\n` +
      `X-Realtime-Admin-Secret: ${adminSecret}\r\n\r\n`,
  );
  await sleep(500);

  // Meanwhile the server serves others: HTTP, a large response to a reader, WebSocket.
  assert.equal((await fetch(`${base}/health`)).status, 200);
  const two = await api('GET', '/api/channels/big/messages?limit=2');
  assert.equal(two.status, 200);
  assert.equal(two.body.messages.length, 2);
  await roundTrip('during');

  // The deadline passes (plus the one-second sweep that enforces it; slower
  // under the sanitizers, which also take longer to build the response): the
  // server says so in its log. Then read what is left: the connection was
  // closed before the body was complete.
  const logFile = join(project.dir, `.nself/realtime/server-${project.port}.log`);
  const cutOff = /HTTP response not read by the client within 2000 ms; closing/;
  while (!cutOff.test(readFileSync(logFile, 'utf8')) && Date.now() - started < 30000) await sleep(100);
  assert.ok(Date.now() - started >= WRITE_TIMEOUT_SECONDS * 1000, 'cut off before the deadline');
  const chunks = [];
  slow.on('data', (chunk) => chunks.push(chunk));
  const outcome = await Promise.race([closed.then(() => 'closed'), sleep(10000).then(() => 'open')]);
  const received = Buffer.concat(chunks);
  const head = received.subarray(0, 4096).toString('latin1');
  assert.match(head, /^HTTP\/1\.1 200/);
  const length = Number(/content-length: (\d+)/i.exec(head)[1]);
  assert.ok(length > MESSAGES * MESSAGE_TEXT.length, `Content-Length ${length}`);
  const bodyReceived = received.length - (head.indexOf('\r\n\r\n') + 4);
  assert.equal(outcome, 'closed', `the connection is still open (${bodyReceived} of ${length} body bytes received)`);
  assert.ok(bodyReceived < length, `the whole body arrived (${bodyReceived} bytes): nothing was cut`);

  assert.match(readFileSync(logFile, 'utf8'), cutOff);

  // And after: still serving.
  assert.equal((await fetch(`${base}/health`)).status, 200);
  await roundTrip('after');
});
