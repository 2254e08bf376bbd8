// The SDK resumes a channel it subscribed to without `history` and on which
// it has not received anything yet (issue 13, item 1): the resubscribe after
// a reconnect carries `since`, so what was sent while it was away arrives.
// Every other reconnect test receives a message before the drop, which is
// how the bug hid: `subscribe()` resolved with its internal parts, lastSeq
// stayed undefined and the resubscribe went out without `since`.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Project } from './harness.mjs';
import { CuttableProxy } from './proxy.mjs';
import { SdkClients, collect, observer, sendRaw, stored, until } from './sdk_support.mjs';

let project;
let sdk;

before(async () => {
  project = await Project.create({ env: { REALTIME_MAX_MESSAGES_PER_SECOND: '10000' } });
  await project.mustRealtime(['init']);
  for (const name of ['quiet-cut', 'quiet-restart', 'since-option']) {
    await project.mustRealtime(['channel', 'create', name]);
  }
  await project.mustRealtime(['start']);
  sdk = new SdkClients(project);
});

after(async () => {
  sdk?.closeAll();
  await project?.cleanup();
});

describe('resuming a channel that has received nothing yet', () => {
  test('subscribe() resolves with the subscribed figures and sets lastSeq', async () => {
    const client = sdk.make(project.url(), 'amy');
    await client.connect();
    const channel = client.channel('quiet-cut');
    const result = await channel.subscribe();
    assert.equal(result.seq, 0);
    assert.equal(result.hasMore, false);
    assert.deepEqual(result.messages, []);
    assert.equal(channel.lastSeq, 0);
    assert.equal(channel.slug, 'quiet-cut');
    await channel.unsubscribe();
  });

  test('after a cut: messages sent while away arrive once and in order', async () => {
    const proxy = await CuttableProxy.start(project.port);
    try {
      const bob = sdk.make(proxy.url(), 'bob', { minReconnectDelay: 300, maxReconnectDelay: 300 });
      await bob.connect();
      const channel = bob.channel('quiet-cut');
      const received = collect(channel);
      await channel.subscribe();
      proxy.down();
      await until(() => !bob.connected, 10000, 'bob to notice the cut');
      const sender = await observer(project, 'carol');
      for (const n of [1, 2, 3]) await sendRaw(sender, 'quiet-cut', `c${n}`);
      proxy.up();
      await until(() => received.length >= 3, 15000, 'the messages sent while bob was away');
      await sendRaw(sender, 'quiet-cut', 'c4');
      await until(() => received.length >= 4, 10000, 'c4');
      assert.deepEqual(received.map((m) => m.content), ['c1', 'c2', 'c3', 'c4']);
      assert.deepEqual(received.map((m) => m.seq), [1, 2, 3, 4]);
      await sender.close();
    } finally {
      await proxy.close();
    }
  });

  test('after a server restart: two quiet subscribers get what was sent before they were back', async () => {
    const proxy = await CuttableProxy.start(project.port);
    try {
      const alice = sdk.make(proxy.url(), 'alice');
      const bob = sdk.make(proxy.url(), 'bob');
      await alice.connect();
      await bob.connect();
      const seen = { alice: collect(alice.channel('quiet-restart')), bob: collect(bob.channel('quiet-restart')) };
      await alice.channel('quiet-restart').subscribe();
      await bob.channel('quiet-restart').subscribe();

      proxy.down();
      await project.mustRealtime(['stop']);
      await project.mustRealtime(['start']);
      const sender = await observer(project, 'carol');
      for (const n of [1, 2, 3]) await sendRaw(sender, 'quiet-restart', `c${n}`);
      proxy.up();
      await until(() => seen.alice.length >= 3 && seen.bob.length >= 3, 20000, 'the three messages at both');
      await sendRaw(sender, 'quiet-restart', 'c4');
      await until(() => seen.alice.length >= 4 && seen.bob.length >= 4, 10000, 'c4 at both');
      for (const messages of Object.values(seen)) {
        assert.deepEqual(messages.map((m) => m.content), ['c1', 'c2', 'c3', 'c4']);
      }
      await sender.close();
    } finally {
      await proxy.close();
    }
  });

  test('subscribe({since}) replays what came after a seq saved earlier (a page reload)', async () => {
    const sender = await observer(project, 'carol');
    for (const n of [1, 2, 3, 4, 5]) await sendRaw(sender, 'since-option', `s${n}`);
    await sender.close();
    const client = sdk.make(project.url(), 'dave');
    await client.connect();
    const channel = client.channel('since-option');
    const received = collect(channel);
    const result = await channel.subscribe({ since: 2 });
    assert.equal(result.seq, 5);
    await until(() => received.length >= 3, 10000, 'the replay after seq 2');
    assert.deepEqual(received.map((m) => m.content), ['s3', 's4', 's5']);
    assert.equal(channel.lastSeq, 5);
    assert.equal((await stored(project, 'since-option')).length, 5);
  });
});
