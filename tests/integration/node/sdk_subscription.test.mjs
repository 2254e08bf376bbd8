// Subscriptions as state machines (issue 13, item 7) and automatic away
// (item 10), against the real server.
//
// A channel goes subscribing -> subscribed, back to subscribing while the
// client reconnects, and ends 'unsubscribed' with a reason: deliberate,
// disconnected, forbidden, not_found, deleted. The SDK's own liveness pings
// are not the user's activity: an idle SDK user turns away on the server's
// timer (REALTIME_AWAY_AFTER), with `ws` pings (Node) and with protocol pings
// (browsers, stopped after `idlePingCutoff`).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { Project } from './harness.mjs';
import { CuttableProxy } from './proxy.mjs';
import { SdkClients, observer, until } from './sdk_support.mjs';

let project;
let sdk;

before(async () => {
  project = await Project.create({ env: { REALTIME_MAX_MESSAGES_PER_SECOND: '10000', REALTIME_AWAY_AFTER: '2' } });
  await project.mustRealtime(['init']);
  for (const name of ['states', 'doomed']) await project.mustRealtime(['channel', 'create', name]);
  await project.mustRealtime(['channel', 'create', 'secret', 'private']);
  await project.mustRealtime(['channel', 'create', 'idle-room', 'presence']);
  await project.mustRealtime(['start']);
  sdk = new SdkClients(project);
});

after(async () => {
  sdk?.closeAll();
  await project?.cleanup();
});

// The state events of a channel, as [event, reason or resumed].
function transitions(channel) {
  const seen = [];
  channel.on('subscribing', (event) => seen.push(['subscribing', event.reason]));
  channel.on('subscribed', (event) => seen.push(['subscribed', event.resumed]));
  channel.on('unsubscribed', (event) => seen.push(['unsubscribed', event.reason]));
  return seen;
}

describe('subscription states', () => {
  test('subscribing, subscribed, subscribing again across a reconnect, then unsubscribed (deliberate)', async () => {
    const proxy = await CuttableProxy.start(project.port);
    try {
      const client = sdk.make(proxy.url(), 'stately');
      await client.connect();
      const channel = client.channel('states');
      const seen = transitions(channel);
      await channel.subscribe();
      assert.equal(channel.state, 'subscribed');
      proxy.cut();
      await until(() => seen.length >= 4, 10000, 'the resubscribe');
      await channel.unsubscribe();
      assert.equal(channel.state, 'unsubscribed');
      assert.deepEqual(seen, [
        ['subscribing', 'subscribe'], ['subscribed', false],
        ['subscribing', 'reconnecting'], ['subscribed', true],
        ['unsubscribed', 'deliberate'],
      ]);
    } finally {
      await proxy.close();
    }
  });

  test('refused (forbidden, not_found), deleted, and ended by close() (disconnected)', async () => {
    const client = sdk.make(project.url(), 'outsider');
    await client.connect();
    const secret = client.channel('secret');
    const secretSeen = transitions(secret);
    await assert.rejects(secret.subscribe(), { code: 'forbidden' });
    assert.deepEqual(secretSeen, [['subscribing', 'subscribe'], ['unsubscribed', 'forbidden']]);

    const missing = client.channel('no-such-room');
    const missingSeen = transitions(missing);
    await assert.rejects(missing.subscribe(), { code: 'not_found' });
    assert.deepEqual(missingSeen.at(-1), ['unsubscribed', 'not_found']);

    const doomed = client.channel('doomed');
    const doomedSeen = transitions(doomed);
    await doomed.subscribe();
    await project.mustRealtime(['channel', 'delete', 'doomed']);
    await until(() => doomed.state === 'unsubscribed', 10000, 'the deletion');
    assert.deepEqual(doomedSeen.at(-1), ['unsubscribed', 'deleted']);

    const states = client.channel('states');
    const statesSeen = transitions(states);
    await states.subscribe();
    client.close();
    assert.deepEqual(statesSeen.at(-1), ['unsubscribed', 'disconnected']);
  });
});

describe('automatic away', () => {
  // Waits for `user` to be shown away to another member of idle-room.
  async function awayAsSeenByOthers(user, watcherName) {
    const watcher = await observer(project, watcherName);
    watcher.send({ type: 'subscribe', channel: 'idle-room', ref: 's' });
    await watcher.next('subscribed');
    await watcher.next((event) => event.type === 'presence_update' && event.user_id === user && event.status === 'away', 15000);
    return watcher;
  }

  test("an idle SDK user with frequent liveness pings turns away (WebSocket pings, Node's ws)", async () => {
    const client = sdk.make(project.url(), 'idler', { pingInterval: 300 });
    await client.connect();
    const room = client.channel('idle-room');
    await room.subscribe();
    const watcher = await awayAsSeenByOthers('idler', 'watcher-1');
    room.typing(true); // the user's own action: online again
    await watcher.next((event) => event.type === 'presence_update' && event.user_id === 'idler' && event.status === 'online', 10000);
    await watcher.close();
  });

  test('the same with protocol pings (a WebSocket without ping(), as in browsers): they stop after idlePingCutoff', async () => {
    class BrowserLikeWebSocket extends WebSocket {
      get ping() { return undefined; }
    }
    const client = sdk.make(project.url(), 'browser-idler', { pingInterval: 300, idlePingCutoff: 600, WebSocket: BrowserLikeWebSocket });
    await client.connect();
    await client.channel('idle-room').subscribe();
    const watcher = await awayAsSeenByOthers('browser-idler', 'watcher-2');
    client.active();
    await client.ping(); // a frame: the server's own rule makes the user online again
    await watcher.next((event) => event.type === 'presence_update' && event.user_id === 'browser-idler' && event.status === 'online', 10000);
    await watcher.close();
  });
});
