// An acked message is never lost: flood a persistent channel, stop the server
// mid-flood (gracefully, and with kill -9), start it again, and check that
// every acked message is in history and that seq has no gap. On SQLite and on
// the PostgreSQL server started by scripts/test-env.sh.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client, Project, createPostgresDatabase, fullHistory, sleep } from './harness.mjs';

async function floodAndInterrupt({ databaseUrl, interrupt }) {
  // The flood is the point: lift the messages-per-second limit (docs/PROTOCOL.md "Limits").
  const project = await Project.create({
    databaseUrl,
    env: { REALTIME_MAX_MESSAGES_PER_SECOND: '1000000' },
  });
  try {
    await project.mustRealtime(['init']);
    await project.mustRealtime(['channel', 'create', 'flood']);
    await project.mustRealtime(['start']);

    const sender = await Client.connect(project.url(`?token=${project.token('flooder')}`));
    await sender.next('auth_ok');
    const acked = new Map(); // id -> seq
    let sent = 0;
    let open = true;
    sender.ws.on('message', (data) => {
      const event = JSON.parse(data.toString());
      if (event.type === 'ack') acked.set(event.id, event.seq);
    });
    sender.closed.then(() => { open = false; });
    // Keep up to 200 messages in flight until the connection goes away.
    const pump = (async () => {
      while (open) {
        while (open && sent - acked.size < 200) {
          sender.send({ type: 'message', channel: 'flood', content: { n: sent }, ref: sent });
          sent += 1;
        }
        await sleep(1);
      }
    })();
    const deadline = Date.now() + 10000;
    while (acked.size < 300 && Date.now() < deadline) await sleep(5);
    assert.ok(acked.size >= 300, `only ${acked.size} acks before the interrupt`);
    await interrupt(project);
    await sender.closed;
    await pump;

    await project.mustRealtime(['start']);
    const reader = await Client.connect(project.url(`?token=${project.token('reader')}`));
    await reader.next('auth_ok');
    const history = await fullHistory(reader, 'flood');
    await reader.close();

    const stored = new Map(history.map((message) => [message.id, message.seq]));
    for (const [id, seq] of acked) {
      assert.equal(stored.get(id), seq, `acked message ${id} (seq ${seq}) is missing from history`);
    }
    history.forEach((message, index) => assert.equal(message.seq, index + 1, 'seq has a gap'));
    assert.ok(history.length >= acked.size);
    assert.ok(history.length <= sent);
    return { sent, acked: acked.size, stored: history.length };
  } finally {
    await project.cleanup();
  }
}

const graceful = async (project) => {
  const result = await project.realtime(['stop']);
  assert.equal(result.code, 0, result.stderr);
};
const killed = async (project) => {
  const pid = Number(readFileSync(join(project.dir, '.nself/realtime', `server-${project.port}.pid`), 'utf8'));
  process.kill(pid, 'SIGKILL');
};

test('SQLite: stop mid-flood loses no acked message', async () => {
  const figures = await floodAndInterrupt({ interrupt: graceful });
  console.log('sqlite stop', figures);
});

test('SQLite: kill -9 mid-flood loses no acked message', async () => {
  const figures = await floodAndInterrupt({ interrupt: killed });
  console.log('sqlite kill -9', figures);
});

test('PostgreSQL: stop and kill -9 mid-flood lose no acked message', async (t) => {
  const first = await createPostgresDatabase();
  if (!first) {
    if (process.env.NSELF_TEST_REQUIRE_SERVICES === '1') assert.fail('NSELF_TEST_POSTGRES_URL is not set');
    t.skip('no PostgreSQL server');
    return;
  }
  const second = await createPostgresDatabase();
  try {
    console.log('postgres stop', await floodAndInterrupt({ databaseUrl: first.url, interrupt: graceful }));
    console.log('postgres kill -9', await floodAndInterrupt({ databaseUrl: second.url, interrupt: killed }));
  } finally {
    await first.drop();
    await second.drop();
  }
});
