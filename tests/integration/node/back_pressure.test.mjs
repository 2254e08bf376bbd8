// Back-pressure of the store queue through the real server: with
// REALTIME_STORE_QUEUE_MAX=1, a burst of messages to a persistent channel
// gets `overloaded` for what does not fit (with its ref, at once), every
// message gets exactly one answer, and what was acked is in history with
// gap-free seqs: refused messages take no seq.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client, Project, fullHistory, sleep } from './harness.mjs';

test('a full store queue answers overloaded; acked messages are stored without gaps', async () => {
  const project = await Project.create({
    env: { REALTIME_MAX_MESSAGES_PER_SECOND: '1000000', REALTIME_STORE_QUEUE_MAX: '1' },
  });
  try {
    await project.mustRealtime(['init']);
    await project.mustRealtime(['channel', 'create', 'burst']);
    await project.mustRealtime(['start']);
    const client = await Client.connect(project.url(`?token=${project.token('burster')}`));
    await client.next('auth_ok');
    client.send({ type: 'subscribe', channel: 'burst', ref: 'sub' });
    await client.next('subscribed');

    const answers = new Map(); // ref -> ack | error code
    client.ws.on('message', (data) => {
      const event = JSON.parse(data.toString());
      if (event.type === 'ack') answers.set(event.ref, { seq: event.seq, id: event.id });
      if (event.type === 'error') answers.set(event.ref, event.code);
    });
    const total = 2000;
    for (let n = 0; n < total; n += 1) {
      client.send({ type: 'message', channel: 'burst', content: { n }, ref: n });
    }
    const deadline = Date.now() + 30000;
    while (answers.size < total && Date.now() < deadline) await sleep(20);
    assert.equal(answers.size, total, 'every message is answered');

    const codes = [...answers.values()].filter((answer) => typeof answer === 'string');
    const acks = [...answers.values()].filter((answer) => typeof answer !== 'string');
    assert.ok(codes.length > 0, 'some messages were refused');
    assert.deepEqual([...new Set(codes)], ['overloaded']);
    assert.ok(acks.length > 0, 'some messages were stored');

    const history = await fullHistory(client, 'burst');
    await client.close();
    assert.equal(history.length, acks.length);
    history.forEach((message, index) => assert.equal(message.seq, index + 1, 'seq has a gap'));
    const stored = new Map(history.map((message) => [message.id, message.seq]));
    for (const { id, seq } of acks) assert.equal(stored.get(id), seq);

    const health = await (await fetch(`http://127.0.0.1:${project.port}/health`)).json();
    assert.equal(health.status, 'ok');
    assert.equal(health.database.queue_max, 1);
    assert.equal(health.database.overloaded, codes.length);
    assert.equal(health.database.pending, 0);
    console.log('back-pressure figures', { total, acked: acks.length, overloaded: codes.length });
  } finally {
    await project.cleanup();
  }
});
