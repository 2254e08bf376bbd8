// The server's lifecycle through the real CLI: start, status, logs, stop,
// restart, a port in use, and the manual's JavaScript example as written.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Project } from './harness.mjs';

let project;
before(async () => {
  // Debug logging, so that the no-secrets check covers the most verbose output.
  project = await Project.create({ env: { REALTIME_LOG_LEVEL: 'debug' } });
  await project.mustRealtime(['init']);
  await project.mustRealtime(['channel', 'create', 'general']);
});
after(async () => project.cleanup());

test('start returns once listening, status reports it, a second start is refused', async () => {
  const started = await project.mustRealtime(['start']);
  assert.match(started.stdout, new RegExp(`started \\(pid \\d+\\): ws://127\\.0\\.0\\.1:${project.port}`));

  const status = await project.realtime(['status', '--json']);
  assert.equal(status.code, 0);
  const json = JSON.parse(status.stdout);
  assert.equal(json.running, true);
  assert.equal(json.port, project.port);
  assert.equal(typeof json.pid, 'number');
  assert.equal(json.connections, 0);

  const human = await project.realtime(['status']);
  assert.match(human.stdout, /Status:\s+running/);
  assert.match(human.stdout, /Uptime:/);

  const again = await project.realtime(['start']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already running \(pid \d+\)/);
});

test('a port in use is a clear error naming the port', async () => {
  // A second project configured for the same port, while the first one's server runs.
  const other = await Project.create();
  try {
    const env = readFileSync(join(project.dir, '.env'), 'utf8');
    writeFileSync(join(other.dir, '.env'), env);
    await other.mustRealtime(['init']);
    const result = await other.realtime(['start']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`127\\.0\\.0\\.1:${project.port}: Address already in use`));
  } finally {
    await other.cleanup();
  }
});

test('status counts live connections', async () => {
  const client = await Client.connect(project.url(`?token=${project.token('alice')}`));
  await client.next('auth_ok');
  const json = JSON.parse((await project.realtime(['status', '--json'])).stdout);
  assert.equal(json.connections, 1);
  await client.close();
});

test('logs show the server log without secrets or tokens', async () => {
  // A good and a bad token go through the server first; neither may be logged.
  const token = project.token('logged-user');
  const client = await Client.connect(project.url(`?token=${token}`));
  await client.next('auth_ok');
  await client.close();
  const badToken = `${token.slice(0, -4)}AAAA`;
  const bad = await Client.connect(project.url());
  bad.send({ type: 'auth', token: badToken });
  await bad.next('error');
  await bad.closed;

  const logs = await project.realtime(['logs', '--no-follow', '-n', '500']);
  assert.equal(logs.code, 0);
  assert.match(logs.stdout, /listening on 127\.0\.0\.1:\d+/);
  assert.match(logs.stdout, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] \[info\]/m);
  assert.ok(!logs.stdout.includes(project.secret), 'the JWT secret must never be logged');
  for (const secretPart of [token, badToken, token.split('.')[2]]) {
    assert.ok(!logs.stdout.includes(secretPart), 'a token must never be logged');
  }
});

test('the manual\'s JavaScript example works as written (auth message, subscribe, message)', async () => {
  const ws = await Client.connect(project.url());
  ws.send({ type: 'auth', token: project.token('manual-user') });
  const ok = await ws.next('auth_ok');
  assert.equal(ok.user_id, 'manual-user');
  ws.send({ type: 'subscribe', channel: 'general' });
  await ws.next('subscribed');
  ws.send({ type: 'message', channel: 'general', content: 'Hello, world!' });
  const received = await ws.next('message');
  assert.equal(received.content, 'Hello, world!');
  assert.equal(received.user_id, 'manual-user');
  assert.equal(received.channel, 'general');
  assert.ok(received.seq >= 1);
  await ws.close();
});

test('stop closes clients with 1001 and status then says stopped (exit 3)', async () => {
  const client = await Client.connect(project.url(`?token=${project.token('bob')}`));
  await client.next('auth_ok');
  const stopped = await project.mustRealtime(['stop']);
  assert.match(stopped.stdout, /stopped \(pid \d+\)/);
  const { code } = await client.closed;
  assert.equal(code, 1001);
  const status = await project.realtime(['status']);
  assert.equal(status.code, 3);
  const again = await project.realtime(['stop']);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /not running/);
});

test('restart applies a changed port', async () => {
  await project.mustRealtime(['start']);
  const envFile = join(project.dir, '.env');
  const oldPort = project.port;
  const { freePort } = await import('./harness.mjs');
  const newPort = await freePort();
  writeFileSync(envFile, readFileSync(envFile, 'utf8').replace(`WEBSOCKET_PORT=${oldPort}`, `WEBSOCKET_PORT=${newPort}`));
  project.port = newPort;
  const restarted = await project.mustRealtime(['restart']);
  assert.match(restarted.stdout, new RegExp(`ws://127\\.0\\.0\\.1:${newPort}`));
  const old = await project.realtime(['status', '--port', String(oldPort)]);
  assert.equal(old.code, 3, 'the server on the old port was stopped');
  const client = await Client.connect(project.url(`?token=${project.token('carol')}`));
  await client.next('auth_ok');
  await client.close();
  await project.mustRealtime(['stop']);
});
