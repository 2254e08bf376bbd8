// The web console's server side: the embedded files (GET /, /console, /sdk,
// /examples), GET /console/info, the development-mode token minter (present
// only with REALTIME_DEV_MODE=true) and the stats feed over WebSocket
// (stats_subscribe: admins only).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Client, Project, sleep } from './harness.mjs';

const kSdkSource = readFileSync(new URL('../../../clients/js/realtime-client.js', import.meta.url), 'utf8');

let production; // REALTIME_DEV_MODE unset
let development; // REALTIME_DEV_MODE=true

async function started(env) {
  const project = await Project.create({ env });
  await project.mustRealtime(['init']);
  await project.mustRealtime(['channel', 'create', 'general']);
  await project.mustRealtime(['start']);
  return project;
}

const http = (project, path, init) => fetch(`http://127.0.0.1:${project.port}${path}`, init);

async function connect(project, token) {
  const client = await Client.connect(project.url(token ? `?token=${token}` : ''));
  if (token) await client.next('auth_ok');
  return client;
}

before(async () => {
  production = await started({});
  development = await started({ REALTIME_DEV_MODE: 'true' });
});

after(async () => {
  await production?.cleanup();
  await development?.cleanup();
});

describe('embedded files', () => {
  test('GET /, /console and /console/ serve the console page', async () => {
    for (const path of ['/', '/console', '/console/', '/console/index.html']) {
      const response = await http(production, path);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
      const body = await response.text();
      assert.match(body, /<title>nself realtime console<\/title>/);
      assert.match(body, /src="\/console\/console.js"/);
    }
    const head = await http(production, '/', { method: 'HEAD' });
    assert.equal(head.status, 200);
  });

  test('the console script, its styles, the SDK and the examples are served with their types', async () => {
    const cases = [
      ['/console/console.js', 'text/javascript; charset=utf-8', /from '\/sdk\/realtime-client.js'/],
      ['/console/console.css', 'text/css; charset=utf-8', /\.cards/],
      ['/examples/', 'text/html; charset=utf-8', /nself realtime examples/],
      ['/examples/chat/', 'text/html; charset=utf-8', /\/examples\/chat\/chat.js/],
      ['/examples/chat/chat.js', 'text/javascript; charset=utf-8', /RealtimeClient/],
      ['/examples/cursors/', 'text/html; charset=utf-8', /Collaborative cursors/],
      ['/examples/shared.js', 'text/javascript; charset=utf-8', /console\/token/],
      ['/sdk/index.d.ts', 'text/plain; charset=utf-8', /export class RealtimeClient/],
    ];
    for (const [path, type, pattern] of cases) {
      const response = await http(production, path);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get('content-type'), type, path);
      assert.match(await response.text(), pattern, path);
    }
    const sdk = await http(production, '/sdk/realtime-client.js');
    assert.equal(sdk.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(await sdk.text(), kSdkSource, 'the served SDK is clients/js/realtime-client.js byte for byte');
  });

  test('unknown files are 404; other methods 405', async () => {
    assert.equal((await http(production, '/console/nope.js')).status, 404);
    assert.equal((await http(production, '/sdk/../README.md')).status, 404);
    assert.equal((await http(production, '/examples/chat/missing')).status, 404);
    assert.equal((await http(production, '/console/console.js', { method: 'DELETE' })).status, 405);
  });

  test('the WebSocket endpoint on / still upgrades', async () => {
    const client = await connect(production, production.token('u1'));
    client.send({ type: 'ping', ref: 1 });
    assert.deepEqual(await client.next('pong'), { type: 'pong', ref: 1 });
    await client.close();
  });
});

describe('development mode', () => {
  test('GET /console/info tells whether it is on', async () => {
    assert.equal((await (await http(production, '/console/info')).json()).dev_mode, false);
    assert.equal((await (await http(development, '/console/info')).json()).dev_mode, true);
  });

  test('without it there is no token minter', async () => {
    const response = await http(production, '/console/token', {
      method: 'POST',
      body: JSON.stringify({ user_id: 'mallory', role: 'admin' }),
    });
    assert.equal(response.status, 404);
  });

  test('with it POST /console/token mints a working token', async () => {
    const response = await http(development, '/console/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id: 'dev-admin', role: 'admin', ttl_seconds: 120 }),
    });
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.user_id, 'dev-admin');
    assert.equal(body.role, 'admin');
    const expires = Date.parse(body.expires_at);
    assert.ok(Math.abs(expires - (Date.now() + 120000)) < 5000);
    const client = await Client.connect(development.url());
    client.send({ type: 'auth', token: body.token, ref: 'a' });
    const ok = await client.next('auth_ok');
    assert.equal(ok.user_id, 'dev-admin');
    // An admin token: the stats feed accepts it.
    client.send({ type: 'stats_subscribe', ref: 's' });
    assert.equal((await client.next('stats_subscribed')).ref, 's');
    await client.close();

    // The defaults: user "admin", role admin.
    const defaults = await (await http(development, '/console/token', { method: 'POST' })).json();
    assert.equal(defaults.user_id, 'admin');
  });

  test('bad token requests are 400', async () => {
    const bad = [
      '[1,2]',
      '{"user_id":""}',
      '{"user_id":42}',
      `{"user_id":"${'u'.repeat(256)}"}`,
      '{"role":["admin"]}',
      '{"ttl_seconds":0}',
      '{"ttl_seconds":86401}',
      '{"ttl_seconds":1.5}',
      '{"user_id":',
    ];
    for (const body of bad) {
      const response = await http(development, '/console/token', { method: 'POST', body });
      assert.equal(response.status, 400, body);
      assert.equal((await response.json()).error.code, 'bad_request', body);
    }
  });
});

describe('stats feed', () => {
  test('admins get stats_subscribed, a first stats event at once, then one about every second', async () => {
    const admin = await connect(production, production.token('root', { role: 'admin' }));
    admin.send({ type: 'stats_subscribe', ref: 7 });
    const subscribed = await admin.next('stats_subscribed');
    assert.deepEqual(subscribed, { type: 'stats_subscribed', ref: 7, interval_ms: 1000 });
    const first = await admin.next('stats');
    for (const key of ['connections', 'peak_connections', 'online_users', 'channels', 'subscriptions',
      'messages_in', 'messages_out', 'messages_in_per_second', 'messages_out_per_second', 'uptime_seconds']) {
      assert.equal(typeof first[key], 'number', key);
    }
    assert.match(first.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(first.connections >= 1);

    // Traffic moves the counters.
    const user = await connect(production, production.token('talker'));
    user.send({ type: 'subscribe', channel: 'general', ref: 's' });
    await user.next('subscribed');
    for (let i = 0; i < 5; i += 1) {
      user.send({ type: 'message', channel: 'general', content: `m${i}`, ref: `m${i}` });
      await user.next((event) => event.type === 'ack' && event.ref === `m${i}`);
    }
    const startedAt = Date.now();
    let later;
    for (;;) {
      later = await admin.next('stats', 3000);
      if (later.messages_in >= first.messages_in + 5) break;
    }
    assert.ok(Date.now() - startedAt < 2500, 'a stats event came within about a second');
    assert.ok(later.connections >= first.connections + 1);
    assert.ok(later.online_users >= 2);
    assert.ok(later.channels >= 1);
    assert.ok(later.subscriptions >= 1);

    admin.send({ type: 'stats_unsubscribe', ref: 'u' });
    await admin.next((event) => event.type === 'stats_unsubscribed' && event.ref === 'u');
    admin.events.length = 0;
    await sleep(1500);
    assert.equal(admin.events.filter((e) => e.type === 'stats').length, 0, 'no stats after unsubscribing');
    await user.close();
    await admin.close();
  });

  test('refused before auth, for non-admins, and with a bad ref; not part of a batch', async () => {
    const anonymous = await Client.connect(production.url());
    anonymous.send({ type: 'stats_subscribe', ref: 'x' });
    const unauthenticated = await anonymous.next('error');
    assert.equal(unauthenticated.code, 'unauthenticated');
    assert.equal(unauthenticated.ref, 'x');
    await anonymous.close();

    const user = await connect(production, production.token('plain-user'));
    user.send({ type: 'stats_subscribe', ref: 1 });
    const forbidden = await user.next('error');
    assert.equal(forbidden.code, 'forbidden');
    assert.equal(forbidden.ref, 1);

    const admin = await connect(production, production.token('root2', { role: 'admin' }));
    admin.send({ type: 'stats_subscribe', ref: 1.5 });
    const badRef = await admin.next('error');
    assert.equal(badRef.code, 'bad_request');
    assert.equal(badRef.ref, undefined);
    admin.send([{ type: 'stats_subscribe', ref: 'b' }]);
    const inBatch = await admin.next('error');
    assert.equal(inBatch.code, 'bad_request', 'inside a batch it is an unknown type');
    // Other requests that mention stats_ are untouched.
    admin.send({ type: 'ping', ref: 'stats_subscribe' });
    assert.equal((await admin.next('pong')).ref, 'stats_subscribe');
    await sleep(1200);
    assert.equal(admin.events.filter((e) => e.type === 'stats').length, 0);
    await user.close();
    await admin.close();
  });
});
