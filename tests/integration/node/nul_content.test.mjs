// Issue 16, item 12: the character U+0000 (written \u0000 in JSON) cannot be
// stored in PostgreSQL's jsonb, so both backends refuse it the same way, at
// parse, with bad_request (a client's message, also inside an object's key or
// value, and the admin API's publish with 400), before it reaches the store:
// other senders' messages on the same channel are stored and acked as usual.
// On SQLite and on the PostgreSQL server started by scripts/test-env.sh.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client, Project, fullHistory, withPostgresDatabase } from './harness.mjs';

function adminSecret(dir) {
  const line = readFileSync(join(dir, '.env'), 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('REALTIME_ADMIN_SECRET='));
  return line.slice('REALTIME_ADMIN_SECRET='.length);
}

async function connect(project, sub) {
  const client = await Client.connect(project.url(`?token=${project.token(sub)}`));
  await client.next('auth_ok');
  client.send({ type: 'subscribe', channel: 'general', ref: 's' });
  await client.next('subscribed');
  return client;
}

const reply = (client, ref) => client.next((event) => event.ref === ref && event.type !== 'message');

async function refusesNul(databaseUrl) {
  const project = await Project.create({ databaseUrl });
  try {
    await project.mustRealtime(['init']);
    await project.mustRealtime(['channel', 'create', 'general']);
    await project.mustRealtime(['start']);
    const alice = await connect(project, 'alice');
    const bob = await connect(project, 'bob');

    const bad = [
      'a\u0000b',
      { text: 'value \u0000 inside' },
      { ['key\u0000']: 1 },
      [1, { deep: { list: ['\u0000'] } }],
    ];
    // Each bad message is sent between two of bob's, so that a batch of the
    // store would hold them together if the bad one reached it.
    for (const [index, content] of bad.entries()) {
      bob.send({ type: 'message', channel: 'general', content: { from: 'bob', n: index }, ref: `b${index}` });
      alice.send({ type: 'message', channel: 'general', content, ref: `bad${index}` });
      const refused = await reply(alice, `bad${index}`);
      assert.equal(refused.type, 'error', JSON.stringify(refused));
      assert.equal(refused.code, 'bad_request');
      assert.match(refused.message, /"content" must not contain the character U\+0000/);
      const acked = await reply(bob, `b${index}`);
      assert.equal(acked.type, 'ack', JSON.stringify(acked));
    }
    alice.send({ type: 'message', channel: 'general', content: { text: 'a good one', escaped: '\\u0000' }, ref: 'good' });
    assert.equal((await reply(alice, 'good')).type, 'ack');

    const base = `http://127.0.0.1:${project.port}`;
    const publish = (content) =>
      fetch(`${base}/api/channels/general/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-realtime-admin-secret': adminSecret(project.dir) },
        body: JSON.stringify({ content }),
      });
    const refused = await publish({ nested: { ['k\u0000']: 'v' } });
    assert.equal(refused.status, 400);
    const body = await refused.json();
    assert.equal(body.error.code, 'bad_request', JSON.stringify(body));
    assert.equal((await publish({ text: 'from the API' })).status, 201);

    const history = await fullHistory(alice, 'general');
    const contents = history.map((message) => message.content);
    assert.deepEqual(contents, [
      ...bad.map((_, n) => ({ from: 'bob', n })),
      { text: 'a good one', escaped: '\\u0000' },
      { text: 'from the API' },
    ]);
    history.forEach((message, index) => assert.equal(message.seq, index + 1, 'seq has a gap'));
    await alice.close();
    await bob.close();
  } finally {
    await project.cleanup();
  }
}

test('SQLite: content with U+0000 is refused at parse, others are stored', async () => {
  await refusesNul(null);
});

test('PostgreSQL: content with U+0000 is refused at parse, others are stored', async (t) => {
  await withPostgresDatabase(t, refusesNul);
});
