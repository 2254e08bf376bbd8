// The JavaScript SDK (clients/js) against the real server: connect, channels,
// acks, presence and typing; reconnection after the connection is cut and
// after the server restarts, with every missed message delivered exactly once;
// token refresh before expiry; the offline queue; and no lost or duplicated
// message across 20 forced disconnects under traffic.
//
// Connections go through a CuttableProxy (proxy.mjs) where a test needs to
// drop them: both sockets are destroyed without a close frame, as when a
// network goes away.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { Client, Project, fullHistory, sleep } from './harness.mjs';
import { CuttableProxy } from './proxy.mjs';
import { RealtimeClient, RealtimeError, parseFrame } from '../../../clients/js/realtime-client.js';

// Resolves when `predicate()` holds, polling; fails after `timeoutMs`.
async function until(predicate, timeoutMs = 10000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// The messages a channel emits, in order.
function collect(channel) {
  const messages = [];
  channel.on('message', (message) => messages.push(message));
  return messages;
}

let project;
const clients = [];

function sdk(url, user, options = {}) {
  const client = new RealtimeClient({
    url,
    token: () => project.token(user),
    WebSocket,
    minReconnectDelay: 50,
    maxReconnectDelay: 500,
    rateLimit: false,
    ...options,
  });
  clients.push(client);
  return client;
}

// A plain harness client (the test's own view of the channel).
async function observer(user = 'observer') {
  const client = await Client.connect(project.url(`?token=${project.token(user)}`));
  await client.next('auth_ok');
  return client;
}

async function sendRaw(client, channel, content) {
  const ref = `x${Math.random()}`;
  client.send({ type: 'message', channel, content, ref });
  return client.next((event) => event.type === 'ack' && event.ref === ref);
}

before(async () => {
  project = await Project.create({ env: { REALTIME_MAX_MESSAGES_PER_SECOND: '10000' } });
  await project.mustRealtime(['init']);
  for (const name of ['general', 'cut', 'restart', 'refresh', 'queue', 'traffic']) {
    await project.mustRealtime(['channel', 'create', name]);
  }
  await project.mustRealtime(['channel', 'create', 'lobby', 'presence']);
  await project.mustRealtime(['start']);
});

after(async () => {
  for (const client of clients) client.close();
  await project?.cleanup();
});

describe('parseFrame', () => {
  test('one event, several "\\n"-separated events, and arrays', () => {
    assert.deepEqual(parseFrame('{"type":"pong","ref":1}'), [{ type: 'pong', ref: 1 }]);
    assert.deepEqual(parseFrame('{"type":"a"}\n{"type":"b"}\n{"type":"c"}').map((e) => e.type), ['a', 'b', 'c']);
    assert.deepEqual(parseFrame('[{"type":"a"},{"type":"b"}]').map((e) => e.type), ['a', 'b']);
  });

  test('a newline inside an event (whitespace in forwarded content) does not split it', () => {
    const events = parseFrame('{"type":"message","content":{\n"a":1,\n"b":"x"}}\n{"type":"ack"}');
    assert.equal(events.length, 2);
    assert.deepEqual(events[0].content, { a: 1, b: 'x' });
    assert.equal(events[1].type, 'ack');
  });

  test('malformed frames throw', () => {
    assert.throws(() => parseFrame('{"type":'), SyntaxError);
    assert.throws(() => parseFrame('{"type":"a"}\n{"type":'), SyntaxError);
    assert.throws(() => parseFrame(''), SyntaxError);
  });
});

describe('SDK basics', () => {
  test('connect, subscribe with history, send resolves with the ack, everyone gets the message', async () => {
    const alice = sdk(project.url(), 'alice');
    const bob = sdk(project.url(), 'bob');
    const auth = await alice.connect();
    assert.equal(auth.userId, 'alice');
    assert.ok(auth.connectionId);
    await bob.connect();
    const aliceGeneral = alice.channel('general');
    const bobGeneral = bob.channel('general');
    const bobMessages = collect(bobGeneral);
    const aliceMessages = collect(aliceGeneral);
    await aliceGeneral.subscribe();
    const first = await aliceGeneral.send({ text: 'before bob' });
    const joined = await bobGeneral.subscribe({ history: 10 });
    assert.equal(joined.seq, first.seq);
    assert.deepEqual(joined.messages.map((m) => m.content), [{ text: 'before bob' }]);

    const ack = await aliceGeneral.send('hello bob');
    assert.equal(ack.channel, 'general');
    assert.equal(ack.seq, first.seq + 1);
    await until(() => bobMessages.length === 1, 5000, "bob's message");
    assert.equal(bobMessages[0].id, ack.id);
    assert.equal(bobMessages[0].content, 'hello bob');
    assert.equal(bobMessages[0].user_id, 'alice');
    await until(() => aliceMessages.length === 2, 5000, "alice's own copies");
    assert.equal(aliceGeneral.lastSeq, ack.seq);

    const page = await bobGeneral.history({ limit: 1 });
    assert.deepEqual(page.messages.map((m) => m.id), [ack.id]);
    assert.equal(page.hasMore, true);
  });

  test('errors reject with the server code; null content is refused locally', async () => {
    const carol = sdk(project.url(), 'carol');
    await carol.connect();
    await assert.rejects(carol.channel('no-such-channel').send('x'), (error) => error instanceof RealtimeError && error.code === 'not_found');
    await assert.rejects(carol.channel('no-such-channel').subscribe(), { code: 'not_found' });
    await assert.rejects(carol.channel('general').send(null), { code: 'bad_request' });
    await assert.rejects(carol.request({ type: 'history', channel: 'general', limit: 5000 }), { code: 'bad_request' });
    assert.equal(typeof (await carol.ping()), 'number');
  });

  test('a refused fixed token rejects connect() and stops trying', async () => {
    const client = new RealtimeClient({ url: project.url(), token: 'not-a-jwt', WebSocket, minReconnectDelay: 20 });
    clients.push(client);
    await assert.rejects(client.connect(), { code: 'invalid_token' });
    await sleep(200);
    assert.equal(client.state, 'closed');
  });

  test('presence is kept up to date and typing is throttled', async () => {
    const dana = sdk(project.url(), 'dana', { typingInterval: 1000 });
    const erin = sdk(project.url(), 'erin');
    await dana.connect();
    await erin.connect();
    const danaLobby = dana.channel('lobby');
    const changes = [];
    danaLobby.on('presence', (change) => changes.push(change));
    await danaLobby.subscribe();
    await until(() => danaLobby.presence.has('dana'), 5000, 'own presence');
    const erinLobby = erin.channel('lobby');
    await erinLobby.subscribe();
    await until(() => danaLobby.presence.has('erin'), 5000, 'erin joining');
    assert.equal(changes.at(-1).kind, 'join');

    erinLobby.setPresence('away', { device: 'phone' });
    await until(() => danaLobby.presence.get('erin')?.status === 'away', 5000, 'erin away');
    assert.deepEqual(danaLobby.presence.get('erin').meta, { device: 'phone' });

    const typing = [];
    danaLobby.on('typing', (event) => typing.push(event));
    assert.equal(erinLobby.typing(true), true);
    assert.equal(erinLobby.typing(true), false, 'a second typing:true within typingInterval is not sent');
    await until(() => danaLobby.typingUsers.has('erin'), 5000, 'erin typing');
    assert.equal(erinLobby.typing(false), true);
    await until(() => !danaLobby.typingUsers.has('erin'), 5000, 'erin stopped typing');
    assert.deepEqual(typing.map((e) => e.typing), [true, false]);

    await erinLobby.unsubscribe();
    await until(() => !danaLobby.presence.has('erin'), 5000, 'erin leaving');
    assert.equal(changes.at(-1).kind, 'leave');
  });
});

describe('reconnection', () => {
  test('after the connection is cut: resubscribed with since, missed messages once and in order', async () => {
    const proxy = await CuttableProxy.start(project.port);
    try {
      const client = sdk(proxy.url(), 'frank', { minReconnectDelay: 400, maxReconnectDelay: 400 });
      const events = [];
      client.on('disconnected', (e) => events.push(['disconnected', e.code]));
      client.on('connected', (e) => events.push(['connected', e.resumed]));
      await client.connect();
      const channel = client.channel('cut');
      const received = collect(channel);
      await channel.subscribe();
      const sender = await observer('sender-cut');
      await sendRaw(sender, 'cut', 'live 1');
      await until(() => received.length === 1, 5000, 'live 1');
      const firstConnection = client.connectionId;

      assert.equal(proxy.cut(), 1);
      // Sent while the client is away (it waits at least 200 ms to reconnect).
      for (const n of [2, 3, 4]) await sendRaw(sender, 'cut', `missed ${n}`);
      await until(() => received.length === 4, 10000, 'the missed messages');
      await sendRaw(sender, 'cut', 'live 5');
      await until(() => received.length === 5, 5000, 'live 5');
      await sleep(200);
      assert.deepEqual(received.map((m) => m.content), ['live 1', 'missed 2', 'missed 3', 'missed 4', 'live 5']);
      assert.deepEqual(received.map((m) => m.seq), [1, 2, 3, 4, 5]);
      assert.notEqual(client.connectionId, firstConnection);
      assert.deepEqual(events, [['connected', false], ['disconnected', 1006], ['connected', true]]);
      await sender.close();
    } finally {
      await proxy.close();
    }
  });

  test('after the server restarts: messages sent before it reconnects are delivered once', async () => {
    const proxy = await CuttableProxy.start(project.port);
    try {
      const client = sdk(proxy.url(), 'grace', { minReconnectDelay: 100, maxReconnectDelay: 300 });
      await client.connect();
      const channel = client.channel('restart');
      const received = collect(channel);
      await channel.subscribe();
      const before = await observer('sender-restart');
      await sendRaw(before, 'restart', 'before restart');
      await until(() => received.length === 1, 5000, 'before restart');

      proxy.down(); // the client cannot come back until the test says so
      await project.mustRealtime(['stop']);
      await project.mustRealtime(['start']);
      const sender = await observer('sender-restart');
      await sendRaw(sender, 'restart', 'after restart 1');
      await sendRaw(sender, 'restart', 'after restart 2');
      assert.equal(client.connected, false);
      proxy.up();
      await until(() => received.length === 3, 15000, 'the messages sent during the restart');
      await sendRaw(sender, 'restart', 'live again');
      await until(() => received.length === 4, 5000, 'live again');
      await sleep(200);
      assert.deepEqual(received.map((m) => m.content), ['before restart', 'after restart 1', 'after restart 2', 'live again']);
      const ack = await channel.send('my own after restart');
      assert.equal(ack.seq, 5);
      await sender.close();
    } finally {
      await proxy.close();
    }
  });

  test('a token provider is called again before exp: the connection outlives several 3 s tokens', async () => {
    let calls = 0;
    const client = sdk(project.url(), 'heidi', {
      token: () => {
        calls += 1;
        return project.token('heidi', { exp: Math.floor(Date.now() / 1000) + 3 });
      },
    });
    const disconnects = [];
    client.on('disconnected', (event) => disconnects.push(event));
    const refreshed = [];
    client.on('token', ({ expiresAt }) => refreshed.push(expiresAt));
    await client.connect();
    const channel = client.channel('refresh');
    await channel.subscribe();
    const connectionId = client.connectionId;
    // Four refreshes on the live connection: it outlived the first tokens.
    const firstExpiry = refreshed[0];
    await until(() => refreshed.length >= 5, 20000, 'four token refreshes');
    assert.ok(Date.now() > firstExpiry, 'the first token has expired');
    assert.deepEqual(disconnects, [], 'the server never closed the connection for an expired token');
    assert.equal(client.connectionId, connectionId);
    assert.ok(calls >= 5, `the provider was called ${calls} times`);
    assert.ok(client.expiresAt > Date.now());
    const ack = await channel.send('still here');
    assert.equal(ack.channel, 'refresh');
  });

  test('sends made while offline are queued and flushed in order on reconnect', async () => {
    const proxy = await CuttableProxy.start(project.port);
    try {
      const client = sdk(proxy.url(), 'ivan', { minReconnectDelay: 50, maxReconnectDelay: 100 });
      await client.connect();
      const channel = client.channel('queue');
      await channel.subscribe();
      proxy.down();
      await until(() => !client.connected, 5000, 'the client to notice');
      let settled = 0;
      const sends = [1, 2, 3, 4, 5].map((n) => channel.send(`queued ${n}`).finally(() => { settled += 1; }));
      assert.equal(client.queuedSends, 5);
      await sleep(300);
      assert.equal(settled, 0, 'nothing is acked while offline');
      proxy.up();
      const acks = await Promise.all(sends);
      assert.deepEqual(acks.map((a) => a.seq), [1, 2, 3, 4, 5]);
      assert.equal(client.queuedSends, 0);
      const reader = await observer('reader-queue');
      const stored = await fullHistory(reader, 'queue');
      assert.deepEqual(stored.map((m) => m.content), ['queued 1', 'queued 2', 'queued 3', 'queued 4', 'queued 5']);
      await reader.close();
    } finally {
      await proxy.close();
    }
  });

  test('20 forced disconnects under traffic: no message lost or duplicated', async () => {
    const proxy = await CuttableProxy.start(project.port);
    try {
      const sender = sdk(proxy.url(), 'sender', { ackTimeout: 30000 });
      const receiver = sdk(proxy.url(), 'receiver');
      await sender.connect();
      await receiver.connect();
      const out = sender.channel('traffic');
      const incoming = receiver.channel('traffic');
      const received = collect(incoming);
      const echoed = collect(out);
      await out.subscribe();
      await incoming.subscribe();

      const sends = [];
      let running = true;
      const traffic = (async () => {
        for (let n = 0; running; n += 1) {
          sends.push(out.send(`t${n}`));
          await sleep(5);
        }
      })();
      const drops = { sender: 0, receiver: 0 };
      sender.on('disconnected', () => { drops.sender += 1; });
      receiver.on('disconnected', () => { drops.receiver += 1; });
      for (let cut = 1; cut <= 20; cut += 1) {
        await sleep(100 + Math.random() * 150);
        proxy.cut();
        await until(() => drops.sender === cut && drops.receiver === cut && sender.connected && receiver.connected,
          15000, `reconnection after cut ${cut}`);
      }
      await sleep(100);
      running = false;
      await traffic;
      const acks = await Promise.all(sends);
      const total = sends.length;
      console.log(`${total} messages, ${acks.filter((a) => a.recovered).length} acks recovered from the replay, ${proxy.connections} connections`);
      assert.ok(total > 100, `only ${total} messages were sent`);
      assert.ok(proxy.connections >= 42, 'both clients reconnected after every cut');

      // Every ack is distinct, and seqs follow the send order.
      assert.equal(new Set(acks.map((a) => a.id)).size, total);
      assert.deepEqual(acks.map((a) => a.seq), acks.map((_, i) => i + 1));
      const expected = acks.map((_, n) => `t${n}`);
      await until(() => received.length >= total && echoed.length >= total, 15000, 'every message at both clients');
      await sleep(300);
      assert.deepEqual(received.map((m) => m.content), expected, 'the receiver got each message once, in order');
      assert.deepEqual(echoed.map((m) => m.content), expected, "the sender's own copies too");

      const reader = await observer('reader-traffic');
      const stored = await fullHistory(reader, 'traffic');
      assert.deepEqual(stored.map((m) => m.content), expected, 'each message is stored exactly once');
      await reader.close();
    } finally {
      await proxy.close();
    }
  });
});
