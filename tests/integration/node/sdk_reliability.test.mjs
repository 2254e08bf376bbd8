// The SDK's reliability (issue 13, items 2-6), against the real server:
// one token refresh per token, close codes read one by one, a dead socket
// found and its send resent, reconnecting at once when the network comes
// back, 'offline' checking the connection, close() settling a pending
// subscribe, and a throwing listener that neither crashes the process nor
// stops the client.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { Client, Project } from './harness.mjs';
import { CuttableProxy } from './proxy.mjs';
import { SdkClients, collect, observer, sendRaw, stored, until } from './sdk_support.mjs';
import * as realtime from '../../../clients/js/realtime-client.js';

const { RealtimeClient } = realtime;
const adminSecret = 'sdk-reliability-admin-secret-0123456789';
let project;
let sdk;

// A `ws` WebSocket that counts the auth frames it writes.
function countingWebSocket(counter) {
  return class extends WebSocket {
    send(data, ...rest) {
      if (String(data).includes('"type":"auth"')) counter.auth += 1;
      return super.send(data, ...rest);
    }
  };
}

before(async () => {
  project = await Project.create({
    env: {
      REALTIME_MAX_MESSAGES_PER_SECOND: '10000',
      REALTIME_MAX_CONNECTIONS_PER_USER: '2',
      REALTIME_ADMIN_SECRET: adminSecret,
    },
  });
  await project.mustRealtime(['init']);
  for (const name of ['refresh', 'kick', 'limits', 'stall', 'network', 'offline', 'listeners']) {
    await project.mustRealtime(['channel', 'create', name]);
  }
  await project.mustRealtime(['start']);
  sdk = new SdkClients(project);
});

after(async () => {
  sdk?.closeAll();
  await project?.cleanup();
});

describe('token refresh', () => {
  test('a provider that returns its cached token until it expires is not asked in a loop', async () => {
    const counter = { auth: 0 };
    let minted = 0;
    let cached = null;
    const provider = () => {
      if (!cached || Date.now() >= cached.exp * 1000) {
        minted += 1;
        const exp = Math.floor(Date.now() / 1000) + 4;
        cached = { exp, token: project.token('cache-user', { exp }) };
      }
      return cached.token;
    };
    const client = sdk.make(project.url(), 'cache-user', { token: provider, WebSocket: countingWebSocket(counter) });
    await client.connect();
    // The first token expires (the server closes with 4001) and a second one
    // is used on a new connection.
    await until(() => minted >= 2 && client.connected, 20000, 'a second token in use');
    assert.ok(counter.auth <= 4, `${counter.auth} auth frames for two tokens`);
  });

  test('a token shorter than refreshMargin is refreshed about half-way, not every second', async () => {
    const lifeSeconds = 6;
    let firstExp = null;
    const client = sdk.make(project.url(), 'short-user', {
      token: () => {
        const exp = Math.floor(Date.now() / 1000) + lifeSeconds;
        firstExp ??= exp * 1000;
        return project.token('short-user', { exp });
      },
    });
    const refreshes = [];
    client.on('token', ({ expiresAt }) => refreshes.push(expiresAt));
    await client.connect();
    const connectionId = client.connectionId;
    // Over the first token's whole life: at most two refreshes (half-way
    // through it, then half-way through the next one).
    await until(() => Date.now() > firstExp + 200, 15000, 'the first token to expire');
    assert.equal(client.connectionId, connectionId, 'the same connection throughout');
    assert.ok(refreshes.length >= 2, `${refreshes.length - 1} refreshes`);
    assert.ok(refreshes.length - 1 <= 2, `${refreshes.length - 1} refreshes within one ${lifeSeconds} s token`);
  });
});

describe('close codes', () => {
  test('4000 (an administrator disconnected the client) stays closed', async () => {
    const client = sdk.make(project.url(), 'kicked');
    const disconnects = [];
    client.on('disconnected', (event) => disconnects.push(event.code));
    await client.connect();
    const channel = client.channel('kick');
    const ended = [];
    channel.on('unsubscribed', (event) => ended.push(event.reason));
    await channel.subscribe();
    const response = await fetch(`http://127.0.0.1:${project.port}/api/connections/${client.connectionId}`, {
      method: 'DELETE',
      headers: { 'x-realtime-admin-secret': adminSecret },
    });
    assert.equal(response.status, 200);
    await until(() => client.state === 'closed', 10000, 'the client to stay closed');
    assert.deepEqual(disconnects, [4000]);
    assert.deepEqual(ended, ['disconnected']);
    await assert.rejects(channel.send('after the kick'), { code: 'closed' });
  });

  test('4008 too_many_connections with a fixed token backs off and retries until a slot frees', async () => {
    const holders = [];
    for (let n = 0; n < 2; n += 1) {
      const holder = await Client.connect(project.url(`?token=${project.token('crowded')}`));
      await holder.next('auth_ok');
      holders.push(holder);
    }
    const client = sdk.make(project.url(), 'crowded', { token: project.token('crowded') });
    const errors = [];
    client.on('error', (error) => errors.push(error.code));
    const connected = client.connect();
    await until(() => errors.includes('too_many_connections'), 10000, 'the refusal');
    await until(() => client.state === 'reconnecting', 10000, 'a retry to be scheduled');
    await holders[0].close();
    await connected;
    assert.equal(client.connected, true);
    await holders[1].close();
  });

  test('a provider throwing UnauthorizedError stops the client', async () => {
    assert.equal(typeof realtime.UnauthorizedError, 'function', 'UnauthorizedError is exported');
    const proxy = await CuttableProxy.start(project.port);
    try {
      let loggedOut = false;
      let calls = 0;
      const client = sdk.make(proxy.url(), 'leaver', {
        token: () => {
          calls += 1;
          if (loggedOut) throw new realtime.UnauthorizedError('logged out');
          return project.token('leaver');
        },
      });
      const errors = [];
      client.on('error', (error) => errors.push(error.code));
      await client.connect();
      loggedOut = true;
      proxy.cut();
      await until(() => client.state === 'closed', 10000, 'the client to close');
      assert.ok(errors.includes('unauthorized'));
      assert.equal(calls, 2, 'the provider was not asked again');
      await assert.rejects(client.channel('kick').send('x'), { code: 'closed' });
    } finally {
      await proxy.close();
    }
  });
});

describe('dead sockets and the network', () => {
  test('a stalled connection is dropped and a send made during the stall is resent and stored once', async () => {
    const proxy = await CuttableProxy.start(project.port);
    try {
      const client = sdk.make(proxy.url(), 'stalled', { pingInterval: 300, ackTimeout: 1000 });
      const disconnects = [];
      client.on('disconnected', (event) => disconnects.push(event.code));
      await client.connect();
      const channel = client.channel('stall');
      const received = collect(channel);
      await channel.subscribe();
      assert.equal(proxy.stall(), 1);
      const ack = await channel.send('during the stall');
      assert.equal(ack.seq, 1);
      assert.deepEqual(disconnects, [1006]);
      proxy.dropStalled();
      await until(() => received.length >= 1, 10000, 'the message to come back');
      assert.deepEqual((await stored(project, 'stall')).map((m) => m.content), ['during the stall']);
    } finally {
      await proxy.close();
    }
  });

  test('a connection that stalls before auth_ok (the opening handshake never answered) is given up after authTimeout', async () => {
    const proxy = await CuttableProxy.start(project.port);
    try {
      proxy.stallNew = true;
      const client = sdk.make(proxy.url(), 'handshake-stalled', { authTimeout: 400, minReconnectDelay: 20, maxReconnectDelay: 50 });
      const connecting = client.connect();
      await until(() => proxy.connections >= 2, 10000, 'a second attempt after the stalled handshake');
      assert.equal(client.connected, false);
      proxy.stallNew = false;
      await connecting;
      assert.equal(client.connected, true);
      assert.ok(proxy.connections >= 3, `${proxy.connections} connections`);
    } finally {
      await proxy.close();
    }
  });

  test("'online' and connect() reconnect at once instead of waiting for the backoff", async () => {
    const proxy = await CuttableProxy.start(project.port);
    try {
      const network = new EventTarget();
      const client = sdk.make(proxy.url(), 'roamer', {
        networkEvents: network,
        minReconnectDelay: 60_000,
        maxReconnectDelay: 60_000,
      });
      await client.connect();
      const channel = client.channel('network');
      const received = collect(channel);
      await channel.subscribe();

      proxy.down();
      await until(() => client.state === 'reconnecting', 10000, 'the drop to be noticed');
      const sender = await observer(project, 'network-sender');
      await sendRaw(sender, 'network', 'while offline');
      proxy.up();
      network.dispatchEvent(new Event('online'));
      await until(() => client.connected, 10000, "a reconnect on 'online'");
      await until(() => received.length >= 1, 10000, 'the missed message');

      proxy.down();
      await until(() => client.state === 'reconnecting', 10000, 'the second drop');
      proxy.up();
      await client.connect();
      assert.equal(client.connected, true);
      assert.deepEqual(received.map((m) => m.content), ['while offline']);
      await sender.close();
    } finally {
      await proxy.close();
    }
  });

  test("'offline' checks the connection: a live one answers and stays, a dead one is dropped within pongTimeout", async () => {
    const proxy = await CuttableProxy.start(project.port);
    try {
      const network = new EventTarget();
      const probes = { pings: 0, pongs: 0 };
      // Counts the WebSocket pings the SDK sends and the pongs that come back.
      class ProbedWebSocket extends WebSocket {
        constructor(...args) {
          super(...args);
          this.on('pong', () => { probes.pongs += 1; });
        }

        ping(...args) {
          probes.pings += 1;
          return super.ping(...args);
        }
      }
      // Pings on their own only after 2 minutes: any probe here is the
      // offline hook's, and so is finding the dead connection.
      const pongTimeout = 2000;
      const client = sdk.make(proxy.url(), 'offliner', {
        networkEvents: network,
        WebSocket: ProbedWebSocket,
        pingInterval: 120_000,
        pongTimeout,
      });
      const disconnects = [];
      client.on('disconnected', (event) => disconnects.push(event.code));
      await client.connect();
      const channel = client.channel('offline');
      const received = collect(channel);
      await channel.subscribe();
      const connectionId = client.connectionId;

      // A live connection: the probe is answered and the connection kept.
      network.dispatchEvent(new Event('offline'));
      assert.equal(probes.pings, 1, "'offline' sent a ping at once");
      await until(() => probes.pongs >= 1, 10000, 'the pong');
      assert.equal(client.connected, true);
      assert.equal(client.connectionId, connectionId);
      assert.equal((await channel.send('still here')).seq, 1);

      // A dead (half-open) connection: the next 'offline' probes again (the
      // pong above ended the first probe) and, unanswered, drops it.
      assert.equal(proxy.stall(), 1);
      const offlineAt = Date.now();
      network.dispatchEvent(new Event('offline'));
      assert.equal(probes.pings, 2, 'a second probe');
      await until(() => disconnects.length >= 1, pongTimeout + 10000, 'the dead connection to be dropped');
      const foundAfter = Date.now() - offlineAt;
      assert.deepEqual(disconnects, [1006]);
      assert.ok(foundAfter >= pongTimeout - 50, `dropped after ${foundAfter} ms, before pongTimeout`);

      // It reconnects by itself and gets what was sent meanwhile, once.
      const sender = await observer(project, 'offline-sender');
      await sendRaw(sender, 'offline', 'while it was away');
      await until(() => client.connected && received.length >= 2, 15000, 'the reconnect and the missed message');
      assert.deepEqual(received.map((m) => m.content), ['still here', 'while it was away']);
      assert.notEqual(client.connectionId, connectionId);
      await sender.close();
    } finally {
      await proxy.close();
    }
  });

  test('a page shown again after a long hide reconnects at once', async () => {
    const proxy = await CuttableProxy.start(project.port);
    try {
      const page = new EventTarget();
      page.visibilityState = 'visible';
      const client = sdk.make(proxy.url(), 'tabber', {
        visibilityEvents: page,
        networkEvents: new EventTarget(),
        pingInterval: 200,
        minReconnectDelay: 60_000,
        maxReconnectDelay: 60_000,
      });
      await client.connect();
      page.visibilityState = 'hidden';
      page.dispatchEvent(new Event('visibilitychange'));
      const hiddenAt = Date.now();
      proxy.down();
      await until(() => client.state === 'reconnecting' && Date.now() - hiddenAt > 400, 10000, 'a long hide');
      proxy.up();
      page.visibilityState = 'visible';
      page.dispatchEvent(new Event('visibilitychange'));
      await until(() => client.connected, 10000, 'a reconnect when shown');
    } finally {
      await proxy.close();
    }
  });
});

describe('settling and isolation', () => {
  test('close() rejects a pending subscribe()', async () => {
    const proxy = await CuttableProxy.start(project.port);
    try {
      proxy.down();
      const client = sdk.make(proxy.url(), 'closer');
      client.connect().catch(() => {});
      const subscribing = client.channel('kick').subscribe();
      await until(() => client.state === 'reconnecting', 10000, 'a failed attempt');
      client.close();
      const outcome = await Promise.race([
        subscribing.then(() => 'resolved', (error) => error.code),
        new Promise((resolve) => setTimeout(() => resolve('still pending'), 5000)),
      ]);
      assert.equal(outcome, 'closed');
    } finally {
      await proxy.close();
    }
  });

  test('a listener that throws neither crashes a Node process nor stops the client', async () => {
    // In a child process: an uncaught exception there ends it with code 1.
    const sdkUrl = new URL('../../../clients/js/realtime-client.js', import.meta.url).href;
    const script = `
      import WebSocket from 'ws';
      import { RealtimeClient } from ${JSON.stringify(sdkUrl)};
      const client = new RealtimeClient({ url: process.env.URL, token: process.env.TOKEN, WebSocket, rateLimit: false });
      const reported = [];
      client.on('error', (error) => reported.push(error.code));
      await client.connect();
      const channel = client.channel('listeners');
      const seen = [];
      channel.on('message', (m) => { seen.push(m.content); if (m.content === 'first') throw new Error('a bug in the app'); });
      await channel.subscribe();
      await channel.send('first');
      await new Promise((resolve) => setTimeout(resolve, 300));
      await channel.send('second');
      const deadline = Date.now() + 10000;
      while (seen.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      console.log(JSON.stringify({ seen, reported }));
      client.close();
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('.', import.meta.url)),
      env: { ...process.env, URL: project.url(), TOKEN: project.token('listener-user') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data) => { stdout += data; });
    child.stderr.on('data', (data) => { stderr += data; });
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0, `the child exited ${code}: ${stderr}`);
    const result = JSON.parse(stdout.trim().split('\n').at(-1));
    assert.deepEqual(result.seen, ['first', 'second']);
    assert.deepEqual(result.reported, ['listener_error']);
  });
});
