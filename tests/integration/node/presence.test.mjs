// Presence when a client process dies: kill -9 of a real client process makes
// the server send presence_leave to the other members (the kernel closes the
// socket; no close frame is ever sent).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { Client, Project } from './harness.mjs';

let project;
before(async () => {
  project = await Project.create();
  await project.mustRealtime(['init']);
  await project.mustRealtime(['channel', 'create', 'lobby', 'presence']);
  await project.mustRealtime(['start']);
});
after(async () => project.cleanup());

// A separate Node process that joins the lobby as `user` and waits forever.
function spawnMember(user) {
  const source = `
    import WebSocket from 'ws';
    const ws = new WebSocket(${JSON.stringify(project.url(`?token=${project.token(user)}`))});
    ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', channel: 'lobby' })));
    ws.on('message', (data) => {
      if (JSON.parse(data.toString()).type === 'subscribed') console.log('ready');
    });
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
    cwd: new URL('.', import.meta.url).pathname,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => { if (chunk.toString().includes('ready')) resolve(); });
    child.once('exit', (code) => reject(new Error(`member process exited early (${code})`)));
  });
  return { child, ready };
}

test('kill -9 of a member process sends presence_leave to the others', async () => {
  const observer = await Client.connect(project.url(`?token=${project.token('observer')}`));
  await observer.next('auth_ok');
  observer.send({ type: 'subscribe', channel: 'lobby' });
  await observer.next('subscribed');
  const state = await observer.next('presence_state');
  assert.deepEqual(state.members.map((member) => member.user_id), ['observer']);

  const { child, ready } = spawnMember('doomed');
  await ready;
  const joined = await observer.next((event) => event.type === 'presence_join' && event.user_id === 'doomed');
  assert.equal(joined.channel, 'lobby');

  const killedAt = Date.now();
  child.kill('SIGKILL');
  const left = await observer.next(
    (event) => event.type === 'presence_leave' && event.user_id === 'doomed',
    10000,
  );
  assert.equal(left.channel, 'lobby');
  console.log(`presence_leave ${Date.now() - killedAt} ms after kill -9`);

  // The stored presence says so too (through the admin API used by the CLI).
  const members = await project.realtime(['connections', '--json']);
  assert.equal(members.code, 0, members.stderr);
  const users = JSON.parse(members.stdout).connections.map((connection) => connection.user_id);
  assert.ok(!users.includes('doomed'), 'the killed client is no longer a connection');
  await observer.close();
});
