// Big history replies are paged (issue 16, item 4). Twenty messages of 60 KB
// on a public channel made the reply of `subscribe {history: 20}` and of
// `subscribe {since: 0}` one queued event above REALTIME_MAX_QUEUED_KB
// (1024 KB): the client that asked was closed with 1008 "slow consumer", and
// so was every client reconnecting to the channel, forever. A reply is now
// one page bounded in bytes (half of REALTIME_MAX_QUEUED_KB) with has_more,
// and the client asks for the next page: `history {before}` backwards,
// `history {after}` forwards. Run on both protocol layers.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Project } from './harness.mjs';
import { CuttableProxy } from './proxy.mjs';
import { SdkClients, collect, observer, sendRaw, until } from './sdk_support.mjs';

const kCount = 20;
const kBytes = 60 * 1024;
const kQueuedBound = 1024 * 1024; // REALTIME_MAX_QUEUED_KB's default, in bytes

// Message n's content: its number, then filler up to 60 KB.
const big = (n) => `${n}:`.padEnd(kBytes, 'x');

// The reply of `ref` (an event of `type`), or a failure that says how the
// server closed the connection instead.
async function reply(client, ref, type = 'history') {
  const closed = client.closed.then(({ code, reason }) => {
    throw new Error(`closed ${code} "${reason}" instead of answering ${ref}`);
  });
  return Promise.race([client.next((event) => event.type === type && event.ref === ref, 20000), closed]);
}

// A page is bounded in bytes, so that it never trips the send-queue bound.
function assertBounded(page) {
  assert.ok(page.messages.length >= 1, 'a page holds at least one message');
  assert.ok(JSON.stringify(page).length <= kQueuedBound / 2, `a page of ${JSON.stringify(page).length} bytes`);
}

function assertAll(messages) {
  assert.deepEqual(
    messages.map((m) => m.seq),
    Array.from({ length: kCount }, (_, i) => i + 1),
  );
  for (const message of messages) assert.equal(message.content, big(message.seq));
}

async function storeBig(project, channel, first = 1) {
  const writer = await observer(project, 'writer');
  for (let n = first; n < first + kCount; ++n) await sendRaw(writer, channel, big(n));
  await writer.close();
}

for (const engine of ['shards', 'lock']) {
  describe(`history pages (REALTIME_ENGINE=${engine})`, () => {
    let project;
    let sdk;

    before(async () => {
      project = await Project.create({
        env: { REALTIME_ENGINE: engine, REALTIME_MAX_MESSAGES_PER_SECOND: '10000' },
      });
      await project.mustRealtime(['init']);
      for (const name of ['big', 'big-sdk']) await project.mustRealtime(['channel', 'create', name]);
      await project.mustRealtime(['start']);
      sdk = new SdkClients(project);
      await storeBig(project, 'big');
    });

    after(async () => {
      sdk?.closeAll();
      await project?.cleanup();
    });

    test('subscribe {history: 20} answers a page of the newest, then history {before} pages back', async () => {
      const client = await observer(project, 'amy');
      try {
        client.send({ type: 'subscribe', channel: 'big', history: kCount, ref: 's' });
        const subscribed = await reply(client, 's', 'subscribed');
        assert.equal(subscribed.seq, kCount);
        let page = await reply(client, 's');
        assertBounded(page);
        assert.equal(page.has_more, true);
        assert.ok(page.messages.length < kCount);
        assert.equal(page.messages.at(-1).seq, kCount, 'the page keeps the newest');
        const messages = [...page.messages];
        for (let n = 0; page.has_more; ++n) {
          client.send({ type: 'history', channel: 'big', limit: 1000, before: messages[0].seq, ref: `b${n}` });
          page = await reply(client, `b${n}`);
          assertBounded(page);
          messages.unshift(...page.messages);
        }
        assertAll(messages);
      } finally {
        await client.close();
      }
    });

    test('subscribe {since: 0} answers a page of the oldest, then history {after} pages forward', async () => {
      const client = await observer(project, 'bob');
      try {
        client.send({ type: 'subscribe', channel: 'big', since: 0, ref: 's' });
        await reply(client, 's', 'subscribed');
        let page = await reply(client, 's');
        assertBounded(page);
        assert.equal(page.has_more, true);
        assert.equal(page.messages[0].seq, 1, 'the page keeps the oldest');
        const messages = [...page.messages];
        for (let n = 0; page.has_more; ++n) {
          client.send({ type: 'history', channel: 'big', limit: 1000, after: messages.at(-1).seq, ref: `a${n}` });
          page = await reply(client, `a${n}`);
          assertBounded(page);
          messages.push(...page.messages);
        }
        assertAll(messages);
        // A page forward within the limit: the oldest after the seq, has_more
        // when newer remain.
        client.send({ type: 'history', channel: 'big', limit: 2, after: 5, ref: 'two' });
        const two = await reply(client, 'two');
        assert.deepEqual(two.messages.map((m) => m.seq), [6, 7]);
        assert.equal(two.has_more, true);
        client.send({ type: 'history', channel: 'big', after: kCount, ref: 'none' });
        assert.deepEqual(await reply(client, 'none'), { type: 'history', ref: 'none', channel: 'big', messages: [], has_more: false });
      } finally {
        await client.close();
      }
    });

    test('the SDK gets every one of 20 big messages it missed, once and in order', async () => {
      const proxy = await CuttableProxy.start(project.port);
      try {
        const carol = sdk.make(proxy.url(), 'carol', { minReconnectDelay: 300, maxReconnectDelay: 300 });
        await carol.connect();
        const channel = carol.channel('big-sdk');
        const received = collect(channel);
        await channel.subscribe();
        const writer = await observer(project, 'writer');
        await sendRaw(writer, 'big-sdk', 'before the cut');
        await until(() => received.length === 1, 10000, 'the first message');
        proxy.down();
        await until(() => !carol.connected, 10000, 'carol to notice the cut');
        for (let n = 2; n <= kCount + 1; ++n) await sendRaw(writer, 'big-sdk', big(n));
        await writer.close();
        proxy.up();
        await until(() => received.length >= kCount + 1, 30000, 'the 20 messages missed');
        await until(() => carol.connected, 10000, 'carol connected');
        assert.deepEqual(
          received.map((m) => m.seq),
          Array.from({ length: kCount + 1 }, (_, i) => i + 1),
        );
        assert.equal(received[0].content, 'before the cut');
        for (const message of received.slice(1)) assert.equal(message.content, big(message.seq));
        assert.equal(proxy.connections, 2, 'one reconnect, no close 1008 and retry');
      } finally {
        await proxy.close();
      }
    });
  });
}
