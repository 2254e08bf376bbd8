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

test('the admin publish API answers a full store queue with 503 overloaded and Retry-After', async () => {
  const adminSecret = 'back-pressure-admin-secret-0123456789';
  const project = await Project.create({
    env: { REALTIME_STORE_QUEUE_MAX: '1', REALTIME_ADMIN_SECRET: adminSecret },
  });
  try {
    await project.mustRealtime(['init']);
    await project.mustRealtime(['channel', 'create', 'burst']);
    await project.mustRealtime(['start']);
    const publish = async (n) => {
      const response = await fetch(`http://127.0.0.1:${project.port}/api/channels/burst/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-realtime-admin-secret': adminSecret },
        body: JSON.stringify({ content: { n }, user_id: 'bot' }),
      });
      return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() };
    };
    // Bursts of concurrent requests until one finds the queue full.
    const answers = [];
    for (let round = 0; round < 20 && !answers.some((a) => a.status === 503); round += 1) {
      answers.push(...(await Promise.all(Array.from({ length: 200 }, (_, i) => publish(round * 200 + i)))));
    }
    const refused = answers.filter((answer) => answer.status === 503);
    const created = answers.filter((answer) => answer.status === 201);
    assert.ok(refused.length > 0, 'no request found the store queue full');
    assert.equal(created.length + refused.length, answers.length, 'only 201 and 503 answers');
    for (const answer of refused) {
      assert.equal(answer.body.error.code, 'overloaded');
      assert.equal(answer.retryAfter, '1');
    }

    // What was created is stored with gap-free seqs; what was refused is not.
    const client = await Client.connect(project.url(`?token=${project.token('reader')}`));
    await client.next('auth_ok');
    const history = await fullHistory(client, 'burst');
    await client.close();
    assert.equal(history.length, created.length);
    history.forEach((message, index) => assert.equal(message.seq, index + 1, 'seq has a gap'));
    const stored = new Set(history.map((message) => message.id));
    for (const answer of created) assert.ok(stored.has(answer.body.message.id));
    console.log('api back-pressure figures', { requests: answers.length, created: created.length, refused: refused.length });
  } finally {
    await project.cleanup();
  }
});
