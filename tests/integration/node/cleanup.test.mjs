// Issue 16, items 1 (store half) and 0b: `cleanup` prunes realtime.audit_log
// after REALTIME_AUDIT_RETENTION_DAYS, and deletes old messages and audit rows
// in bounded batches (REALTIME_CLEANUP_BATCH_ROWS rows per transaction) that
// message commits interleave with, so a chat's acks keep flowing while many
// rows are removed. With the server stopped (the CLI on the store) and running
// (POST /api/cleanup); on SQLite and on the PostgreSQL server started by
// scripts/test-env.sh. No timing is asserted, the structure is: the cleanup
// ran as many batches, old rows disappeared a batch at a time, and a message
// sent once some were gone was acked before the cleanup's reply.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { Client, Project, withPostgresDatabase } from './harness.mjs';

const run = promisify(execFile);
const OLD_MESSAGES = 50000;
const OLD_AUDIT = 1000;
// Small batches make the cleanup last (about 1,000 transactions), so that
// a message sent once it has begun is surely sent before it ends, even on a
// loaded machine.
const BATCH = 50;
const ENV = {
  REALTIME_MESSAGE_RETENTION_DAYS: '30',
  REALTIME_CLEANUP_BATCH_ROWS: String(BATCH),
  REALTIME_MAX_MESSAGES_PER_SECOND: '100000',
};

// SQL on the project's database, through sqlite3 or psql; returns stdout.
async function sql(project, databaseUrl, text) {
  const { stdout } = databaseUrl
    ? await run('psql', [databaseUrl, '-qAtc', text])
    : await run('sqlite3', [join(project.dir, '.nself/realtime/realtime.db'), text]);
  return stdout.trim();
}

// OLD_MESSAGES messages of 2020 in channel `old`, OLD_AUDIT audit rows of 2020
// and two recent ones (one 10 days old: inside the default 90 days).
async function seed(project, databaseUrl) {
  if (databaseUrl) {
    await sql(project, databaseUrl, `
      INSERT INTO realtime.messages (id, channel_id, seq, user_id, content, sent_at)
        SELECT gen_random_uuid(), (SELECT id FROM realtime.channels WHERE slug = 'old'), i, 'u',
               '{"n":1}', timestamptz '2020-01-01 00:00:00+00' + i * interval '1 second'
        FROM generate_series(1, ${OLD_MESSAGES}) AS i;
      UPDATE realtime.channels SET last_seq = ${OLD_MESSAGES} WHERE slug = 'old';
      INSERT INTO realtime.audit_log (at, actor, action)
        SELECT timestamptz '2020-01-01 00:00:00+00' + i * interval '1 second', 'test', 'old'
        FROM generate_series(1, ${OLD_AUDIT}) AS i;
      INSERT INTO realtime.audit_log (at, actor, action) VALUES (now() - interval '10 days', 'test', 'recent');`);
  } else {
    await sql(project, null, `
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${OLD_MESSAGES})
      INSERT INTO messages (id, channel_id, seq, user_id, content, sent_at)
        SELECT printf('%08x-0000-7000-8000-000000000000', i), (SELECT id FROM channels WHERE slug = 'old'),
               i, 'u', '{"n":1}', strftime('%Y-%m-%dT%H:%M:%S.000Z', 1577836800 + i, 'unixepoch')
        FROM n;
      UPDATE channels SET last_seq = ${OLD_MESSAGES} WHERE slug = 'old';
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${OLD_AUDIT})
      INSERT INTO audit_log (at, actor, action)
        SELECT strftime('%Y-%m-%dT%H:%M:%S.000Z', 1577836800 + i, 'unixepoch'), 'test', 'old' FROM n;
      INSERT INTO audit_log (at, actor, action)
        VALUES (strftime('%Y-%m-%dT%H:%M:%S.000Z', 'now', '-10 days'), 'test', 'recent');`);
  }
  assert.equal((await counts(project, databaseUrl)).old, OLD_MESSAGES);
}

async function counts(project, databaseUrl) {
  const schema = databaseUrl ? 'realtime.' : '';
  return {
    old: Number(await sql(project, databaseUrl,
      `SELECT count(*) FROM ${schema}messages WHERE channel_id = (SELECT id FROM ${schema}channels WHERE slug = 'old')`)),
    oldAudit: Number(await sql(project, databaseUrl, `SELECT count(*) FROM ${schema}audit_log WHERE action = 'old'`)),
    recentAudit: Number(await sql(project, databaseUrl, `SELECT count(*) FROM ${schema}audit_log WHERE action = 'recent'`)),
  };
}

async function withProject(databaseUrl, body) {
  const project = await Project.create({ databaseUrl, env: ENV });
  try {
    await project.mustRealtime(['init']);
    await project.mustRealtime(['channel', 'create', 'old']);
    await project.mustRealtime(['channel', 'create', 'chat']);
    await seed(project, databaseUrl);
    await body(project);
  } finally {
    await project.cleanup();
  }
}

const expectedBatches =
  Math.floor(OLD_MESSAGES / BATCH) + 1 + Math.floor(OLD_AUDIT / BATCH) + 1;

async function stoppedCleanup(databaseUrl) {
  await withProject(databaseUrl, async (project) => {
    const result = JSON.parse((await project.mustRealtime(['cleanup', '--json'])).stdout);
    assert.equal(result.server_running, false);
    assert.equal(result.removed.old_messages, OLD_MESSAGES);
    assert.equal(result.removed.old_audit_entries, OLD_AUDIT);
    assert.equal(result.batches, expectedBatches);
    assert.deepEqual(await counts(project, databaseUrl), { old: 0, oldAudit: 0, recentAudit: 1 });
    // Nothing left: a second run deletes nothing, in one batch per table.
    const again = JSON.parse((await project.mustRealtime(['cleanup', '--json'])).stdout);
    assert.equal(again.removed.old_messages, 0);
    assert.equal(again.removed.old_audit_entries, 0);
    assert.equal(again.batches, 2);
  });
}

async function runningCleanup(databaseUrl) {
  await withProject(databaseUrl, async (project) => {
    await project.mustRealtime(['start']);
    const secret = readFileSync(join(project.dir, '.env'), 'utf8').match(/^REALTIME_ADMIN_SECRET=(.*)$/m)[1];
    const alice = await Client.connect(project.url(`?token=${project.token('alice')}`));
    await alice.next('auth_ok');
    alice.send({ type: 'message', channel: 'chat', content: 'before', ref: 'before' });
    assert.equal((await alice.next((event) => event.ref === 'before')).type, 'ack');

    let answered = false;
    const reply = fetch(`http://127.0.0.1:${project.port}/api/cleanup`, {
      method: 'POST',
      headers: { 'x-realtime-admin-secret': secret },
    }).then((response) => {
      answered = true;
      return response;
    });
    // The cleanup has begun once old rows start to disappear. In batches, some
    // are gone while others remain; in one transaction (before), all go at once.
    // One query a poll (not counts()'s three): the sooner the start is seen,
    // the more of the cleanup is still to come.
    const oldCount = async () => Number(await sql(project, databaseUrl, databaseUrl
      ? "SELECT count(*) FROM realtime.messages WHERE channel_id = (SELECT id FROM realtime.channels WHERE slug = 'old')"
      : "SELECT count(*) FROM messages WHERE channel_id = (SELECT id FROM channels WHERE slug = 'old')"));
    let remaining = OLD_MESSAGES;
    while (remaining === OLD_MESSAGES && !answered) remaining = await oldCount();
    assert.ok(remaining > 0 && remaining < OLD_MESSAGES,
      `the old messages went all at once (${remaining} left when the count first changed)`);
    // A message sent now, mid-cleanup, is committed between two batches: its
    // ack comes before the cleanup's reply.
    alice.send({ type: 'message', channel: 'chat', content: 'during', ref: 'during' });
    const ack = await alice.next((event) => event.ref === 'during', 30000);
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    assert.equal(answered, false, 'the cleanup finished before the message sent during it was acked');

    const response = await reply;
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.removed.old_messages, OLD_MESSAGES);
    assert.equal(body.removed.old_audit_entries, OLD_AUDIT);
    assert.equal(body.batches, expectedBatches);
    assert.deepEqual(await counts(project, databaseUrl), { old: 0, oldAudit: 0, recentAudit: 1 });
    await alice.close();
  });
}

test('SQLite: cleanup with the server stopped prunes old messages and audit rows in batches', async () => {
  await stoppedCleanup(null);
});

test('SQLite: acks keep flowing while a running server cleans up in batches', async () => {
  await runningCleanup(null);
});

test('PostgreSQL: cleanup with the server stopped prunes old messages and audit rows in batches', async (t) => {
  await withPostgresDatabase(t, stoppedCleanup);
});

test('PostgreSQL: acks keep flowing while a running server cleans up in batches', async (t) => {
  await withPostgresDatabase(t, runningCleanup);
});
