// The monitoring and channel administration commands through the real CLI,
// with a server stopped and running: connections, stats, cleanup, channel
// members, channel archive, and channel delete telling subscribers.
// On SQLite, and on PostgreSQL when the test environment provides one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client, Project, sleep, withPostgresDatabase } from './harness.mjs';

const kStatsLabels = [
  'Active Connections',
  'Total Channels',
  'Messages (24h)',
  'Online Users',
  'Average Connection Duration',
  'Peak Connections',
];

// The manual's layout: one "Label:   value" line per figure, values aligned.
function parseStats(stdout) {
  const lines = stdout.trimEnd().split('\n');
  assert.equal(lines.length, kStatsLabels.length, stdout);
  const figures = {};
  const columns = new Set();
  lines.forEach((line, i) => {
    const match = /^([^:]+):(\s+)(\S.*)$/.exec(line);
    assert.ok(match, line);
    assert.equal(match[1], kStatsLabels[i]);
    columns.add(match[1].length + 1 + match[2].length);
    figures[match[1]] = match[3];
  });
  assert.equal(columns.size, 1, `values are not aligned:\n${stdout}`);
  return figures;
}

async function connect(project, user) {
  const client = await Client.connect(project.url(`?token=${project.token(user)}`));
  await client.next('auth_ok');
  return client;
}

async function subscribe(client, channel) {
  client.send({ type: 'subscribe', channel });
  await client.next('subscribed');
}

async function scenario(databaseUrl) {
  const project = await Project.create({ databaseUrl });
  try {
    await project.mustRealtime(['init']);
    await project.mustRealtime(['channel', 'create', 'general']);
    await project.mustRealtime(['channel', 'create', 'team', 'private']);

    // ---- stopped
    const connectionsStopped = await project.realtime(['connections']);
    assert.equal(connectionsStopped.code, 1);
    assert.match(connectionsStopped.stderr, /not running/);

    const stoppedStats = await project.realtime(['stats']);
    assert.equal(stoppedStats.code, 0, stoppedStats.stderr);
    const figures = parseStats(stoppedStats.stdout);
    assert.equal(figures['Active Connections'], '0');
    assert.equal(figures['Total Channels'], '2');
    assert.equal(figures['Peak Connections'], '0');
    assert.match(stoppedStats.stderr, /not running/);
    const stoppedJson = JSON.parse((await project.mustRealtime(['stats', '--json'])).stdout);
    assert.equal(stoppedJson.running, false);
    assert.equal(stoppedJson.total_channels, 2);

    // ---- members
    const added = await project.mustRealtime(['channel', 'members', 'team', 'add', 'alice', '--role', 'admin']);
    assert.equal(added.stdout, "Added alice to 'team' as admin\n");
    await project.mustRealtime(['channel', 'members', 'team', 'add', 'bob']);
    const listed = await project.mustRealtime(['channel', 'members', 'team']);
    assert.match(listed.stdout, /^USER\s+ROLE\s+CAN SEND/m);
    assert.match(listed.stdout, /^alice\s+admin\s+yes/m);
    assert.match(listed.stdout, /^bob\s+member\s+yes/m);
    const membersJson = JSON.parse((await project.mustRealtime(['channel', 'members', 'team', '--json'])).stdout);
    assert.deepEqual(membersJson.members.map((m) => [m.user_id, m.role]), [['alice', 'admin'], ['bob', 'member']]);
    await project.mustRealtime(['channel', 'members', 'team', 'remove', 'bob']);
    const notMember = await project.realtime(['channel', 'members', 'team', 'remove', 'bob']);
    assert.equal(notMember.code, 1);
    assert.match(notMember.stderr, /not a member/);
    assert.equal((await project.realtime(['channel', 'members', 'team', 'add', 'x', '--role', 'king'])).code, 2);
    assert.equal((await project.realtime(['channel', 'members', 'team', 'promote', 'x'])).code, 2);
    assert.equal((await project.realtime(['channel', 'members', 'team', 'add'])).code, 2);
    assert.equal((await project.realtime(['channel', 'members', 'nope'])).code, 1);

    // ---- running
    await project.mustRealtime(['start']);
    const alice = await connect(project, 'alice');
    const bob = await connect(project, 'bob');
    await subscribe(alice, 'general');
    await subscribe(bob, 'general');
    alice.send({ type: 'message', channel: 'general', content: 'hello' });
    await alice.next('ack');

    const live = JSON.parse((await project.mustRealtime(['stats', '--json'])).stdout);
    assert.equal(live.running, true);
    assert.equal(live.active_connections, 2);
    assert.equal(live.online_users, 2);
    assert.equal(live.peak_connections, 2);
    assert.equal(live.messages_24h, 1);
    const liveFigures = parseStats((await project.mustRealtime(['stats'])).stdout);
    assert.equal(liveFigures['Active Connections'], '2');
    assert.equal(liveFigures['Messages (24h)'], '1');

    const connections = JSON.parse((await project.mustRealtime(['connections', '--json'])).stdout).connections;
    assert.equal(connections.length, 2);
    assert.deepEqual(connections.map((c) => c.user_id).sort(), ['alice', 'bob']);
    for (const connection of connections) {
      assert.deepEqual(connection.subscriptions, ['general']);
      assert.equal(connection.remote_address, '127.0.0.1');
    }
    const table = (await project.mustRealtime(['connections'])).stdout;
    assert.match(table, /^ID\s+USER\s+ADDRESS\s+CONNECTED\s+SUBSCRIPTIONS\s+LAST ACTIVITY/m);
    assert.match(table, /^2 connections$/m);

    // Archive through the running server: hidden from the list, sends refused.
    await subscribe(alice, 'team');
    const archived = await project.mustRealtime(['channel', 'archive', 'team']);
    assert.match(archived.stdout, /Archived channel 'team'/);
    alice.send({ type: 'message', channel: 'team', content: 'x', ref: 'a1' });
    const refused = await alice.next((e) => e.type === 'error' && e.ref === 'a1');
    assert.equal(refused.code, 'forbidden');
    assert.doesNotMatch((await project.mustRealtime(['channel', 'list'])).stdout, /^team/m);
    assert.match((await project.mustRealtime(['channel', 'list', '--all'])).stdout, /^team.*archived/m);

    // Delete through the running server: subscribers are told.
    const deleted = await project.mustRealtime(['channel', 'delete', 'general']);
    assert.match(deleted.stdout, /Deleted channel 'general'/);
    assert.deepEqual(await alice.next('channel_deleted'), { type: 'channel_deleted', channel: 'general' });
    assert.deepEqual(await bob.next('channel_deleted'), { type: 'channel_deleted', channel: 'general' });
    const gone = await project.realtime(['channel', 'delete', 'general']);
    assert.equal(gone.code, 1);

    const cleaned = JSON.parse((await project.mustRealtime(['cleanup', '--json'])).stdout);
    assert.equal(cleaned.server_running, true);
    assert.equal(cleaned.removed.stale_connections, 0); // the live ones are not stale
    assert.match((await project.mustRealtime(['cleanup'])).stdout, /Cleanup complete:\n\s+Stale connections:\s+0/);

    // A server killed with -9 leaves its connection rows behind; the peak survives.
    const pid = JSON.parse((await project.mustRealtime(['status', '--json'])).stdout).pid;
    process.kill(pid, 'SIGKILL');
    await Promise.all([alice.closed, bob.closed]);
    await sleep(100);
    const afterKill = JSON.parse((await project.mustRealtime(['cleanup', '--json'])).stdout);
    assert.equal(afterKill.server_running, false);
    assert.equal(afterKill.removed.stale_connections, 2);
    const afterKillStats = parseStats((await project.mustRealtime(['stats'])).stdout);
    assert.equal(afterKillStats['Peak Connections'], '2');
    assert.equal(afterKillStats['Active Connections'], '0');

    // Without a server, delete and archive go straight to the database.
    await project.mustRealtime(['channel', 'create', 'scratch']);
    await project.mustRealtime(['channel', 'archive', 'scratch']);
    const deletedStopped = JSON.parse((await project.mustRealtime(['channel', 'delete', 'scratch', '--json'])).stdout);
    assert.equal(deletedStopped.deleted.slug, 'scratch');
  } finally {
    await project.cleanup();
  }
}

test('monitoring and channel administration on SQLite', async () => {
  await scenario(null);
});

test('monitoring and channel administration on PostgreSQL', async (t) => {
  await withPostgresDatabase(t, scenario);
});
