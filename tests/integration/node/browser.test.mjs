// Interoperability with a real browser: Debian's Chromium, headless, driven by
// playwright-core, runs the manual's JavaScript client against the real server
// (started through the CLI). Two pages chat with each other: one authenticates
// with ?token=, the other with a first {"type":"auth"} message. Large and
// multi-byte messages arrive intact (in both directions, including a server
// frame with a 64-bit length), and a message over the 64 KiB limit makes the
// browser's socket close with 1009.
//
// Nothing external is served: each page is about:blank with setContent().
// Chromium is /usr/bin/chromium (scripts/install-deps.sh); playwright-core
// never downloads a browser. Without Chromium the tests are skipped, unless
// NSELF_TEST_REQUIRE_SERVICES=1 (scripts/test-env.sh), where that is a failure.
// NSELF_BROWSER_SCREENSHOT=path saves the chat screenshot there
// (docs/images/browser-chat.png was made that way); otherwise it goes to the
// project's temporary directory.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Project } from './harness.mjs';

const kChromium = '/usr/bin/chromium';
const kMaxMessageBytes = 64 * 1024; // the server's default WebSocket message limit
const kRequired = process.env.NSELF_TEST_REQUIRE_SERVICES === '1';
const kMissing = existsSync(kChromium) ? null : `${kChromium} is missing (apt-get install chromium, or make deps)`;

// The chat page: the manual's client, plus an event queue the test awaits on
// and a rendering of every event into the DOM (for the screenshot).
const kPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>nself realtime chat</title>
<style>
  body { font: 14px/1.4 "DejaVu Sans", sans-serif; margin: 16px; color: #222; }
  h1 { font-size: 16px; margin: 0 0 8px; }
  #state { color: #666; margin-bottom: 8px; }
  ul { list-style: none; padding: 0; margin: 0; }
  li { padding: 4px 8px; border-bottom: 1px solid #eee; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .user { font-weight: bold; color: #1a5fb4; }
  .seq { color: #888; font-size: 12px; }
  .typing, .closed { color: #888; font-style: italic; }
</style></head>
<body>
<h1 id="title">nself realtime</h1>
<div id="state">connecting...</div>
<ul id="log"></ul>
<script>
  const events = [];
  const waiters = [];
  const log = document.getElementById('log');

  function line(className, parts) {
    const item = document.createElement('li');
    item.className = className;
    for (const [cls, text] of parts) {
      const span = document.createElement('span');
      if (cls) span.className = cls;
      span.textContent = text;
      item.append(span);
    }
    log.append(item);
  }

  function render(data) {
    if (data.type === 'message') {
      const text = typeof data.content === 'string' ? data.content : JSON.stringify(data.content);
      const characters = Array.from(text);
      const shown = characters.length > 48 ? characters.slice(0, 48).join('') + '... (' + characters.length + ' characters)' : text;
      line('message', [['seq', '#' + data.seq + ' '], ['user', data.user_id + ': '], ['', shown]]);
    } else if (data.type === 'typing') {
      line('typing', [['', data.user_id + (data.typing ? ' is typing...' : ' stopped typing')]]);
    } else if (data.type === 'auth_ok') {
      document.getElementById('state').textContent = 'signed in as ' + data.user_id;
    } else if (data.type === 'subscribed') {
      document.getElementById('state').textContent += ', in #' + data.channel;
    }
  }

  function matches(event, pattern) {
    return Object.entries(pattern).every(([key, value]) => event[key] === value);
  }

  function wake() {
    for (const waiter of [...waiters]) {
      const index = events.findIndex((event) => matches(event, waiter.pattern));
      if (index < 0) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      clearTimeout(waiter.timer);
      waiter.resolve(events.splice(index, 1)[0]);
    }
  }

  // Opens the socket; with a token, authenticates by the first message.
  window.connect = (url, token) => new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    window.ws = ws;
    window.socketClosed = new Promise((resolveClosed) => {
      ws.onclose = (event) => {
        line('closed', [['', 'connection closed: ' + event.code]]);
        resolveClosed({ code: event.code, reason: event.reason, wasClean: event.wasClean });
      };
    });
    ws.onmessage = (event) => {
      const data = JSON.parse(event.data);
      events.push(data);
      render(data);
      wake();
    };
    ws.onopen = () => {
      if (token) ws.send(JSON.stringify({ type: 'auth', token }));
      resolve();
    };
    ws.onerror = () => reject(new Error('WebSocket error before open'));
  });

  window.send = (object) => window.ws.send(JSON.stringify(object));

  // The next event whose fields include all of pattern's.
  window.next = (pattern, timeoutMs = 5000) => {
    const index = events.findIndex((event) => matches(event, pattern));
    if (index >= 0) return Promise.resolve(events.splice(index, 1)[0]);
    return new Promise((resolve, reject) => {
      const waiter = { pattern, resolve };
      waiter.timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(new Error('no event like ' + JSON.stringify(pattern) + ' within ' + timeoutMs +
                         ' ms; last: ' + JSON.stringify(events.slice(-3)).slice(0, 500)));
      }, timeoutMs);
      waiters.push(waiter);
    });
  };
</script>
</body></html>`;

// UTF-8 byte length as the browser encodes it.
const utf8Bytes = (text) => Buffer.byteLength(text, 'utf8');

let project;
let browser;
let alice; // page A: ?token= on the URL
let bob; // page B: first-message auth

async function openPage(title) {
  const page = await browser.newPage({ viewport: { width: 720, height: 320 } });
  page.on('pageerror', (error) => console.error(`[${title}] page error: ${error.message}`));
  await page.setContent(kPage);
  await page.evaluate((text) => { document.getElementById('title').textContent = text; }, title);
  return page;
}

before(async () => {
  if (kMissing) return;
  project = await Project.create();
  await project.mustRealtime(['init']);
  await project.mustRealtime(['channel', 'create', 'general']);
  await project.mustRealtime(['start']);

  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: kChromium,
    headless: true,
    // launch() gives the browser a fresh temporary --user-data-dir of its own.
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });

  alice = await openPage('Chromium A (alice, ?token=)');
  await alice.evaluate((url) => window.connect(url), project.url(`?token=${project.token('alice')}`));
  const aliceOk = await alice.evaluate(() => window.next({ type: 'auth_ok' }));
  assert.equal(aliceOk.user_id, 'alice');

  bob = await openPage('Chromium B (bob, auth message)');
  await bob.evaluate(([url, token]) => window.connect(url, token), [project.url(), project.token('bob')]);
  const bobOk = await bob.evaluate(() => window.next({ type: 'auth_ok' }));
  assert.equal(bobOk.user_id, 'bob');

  for (const page of [alice, bob]) {
    await page.evaluate(() => window.send({ type: 'subscribe', channel: 'general', ref: 's1' }));
    const subscribed = await page.evaluate(() => window.next({ type: 'subscribed', ref: 's1' }));
    assert.equal(subscribed.channel, 'general');
  }
});

after(async () => {
  await browser?.close();
  await project?.cleanup();
});

// Skips (or, when services are required, fails) without Chromium.
function browserTest(name, body) {
  test(name, async (t) => {
    if (kMissing) {
      if (kRequired) assert.fail(`NSELF_TEST_REQUIRE_SERVICES=1 but ${kMissing}`);
      t.skip(kMissing);
      return;
    }
    await body(t);
  });
}

// Sends `content` from page `from` and returns the ack and the copy `to` received.
async function deliver(from, to, content, ref) {
  await from.evaluate(([content, ref]) => window.send({ type: 'message', channel: 'general', content, ref }), [content, ref]);
  const ack = await from.evaluate((ref) => window.next({ type: 'ack', ref }), ref);
  const received = await to.evaluate((id) => window.next({ type: 'message', id }), ack.id);
  await from.evaluate((id) => window.next({ type: 'message', id }), ack.id); // the sender's own copy
  return { ack, received };
}

browserTest('two Chromium pages chat: the same message id and seq reach the other page', async () => {
  const { ack, received } = await deliver(alice, bob, 'Hello from Chromium A!', 'a1');
  assert.equal(received.channel, 'general');
  assert.equal(received.user_id, 'alice');
  assert.equal(received.content, 'Hello from Chromium A!');
  assert.equal(received.seq, ack.seq);
  assert.match(received.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  const reply = await deliver(bob, alice, { text: 'Hi A, B here', mentions: ['alice'] }, 'b1');
  assert.equal(reply.received.user_id, 'bob');
  assert.deepEqual(reply.received.content, { text: 'Hi A, B here', mentions: ['alice'] });
  assert.equal(reply.received.seq, ack.seq + 1);
});

browserTest('typing from page A reaches page B', async () => {
  await alice.evaluate(() => window.send({ type: 'typing', channel: 'general', typing: true }));
  const typing = await bob.evaluate(() => window.next({ type: 'typing' }));
  assert.deepEqual(typing, { type: 'typing', channel: 'general', user_id: 'alice', typing: true });
  await alice.evaluate(() => window.send({ type: 'typing', channel: 'general', typing: false }));
  const stopped = await bob.evaluate(() => window.next({ type: 'typing' }));
  assert.equal(stopped.typing, false);
});

// 60,000 ASCII characters with markers, so a lost or reordered chunk shows.
const kLarge = Array.from({ length: 6000 }, (_, i) => `${String(i).padStart(5, '0')}-abcd`).join('');
// Every UTF-8 length: 2 (é, ö), 3 (CJK, —), 4 (emoji, a skin-tone modifier, U+1D11E).
const kUnicode = 'héllo wörld — 你好，世界 — 🎉🚀👍🏽 — 𝄞 — ' + '日本語🙂'.repeat(5000);

browserTest('a 60 KB message and a multi-byte UTF-8 message arrive intact, live and in history', async () => {
  assert.equal(kLarge.length, 60000);
  const largeFrame = utf8Bytes(JSON.stringify({ type: 'message', channel: 'general', content: kLarge, ref: 'big' }));
  assert.ok(largeFrame > 60000 && largeFrame < kMaxMessageBytes, `frame of ${largeFrame} bytes`);
  const large = await deliver(alice, bob, kLarge, 'big');
  assert.equal(large.received.content.length, kLarge.length);
  assert.ok(large.received.content === kLarge, 'the 60 KB content changed on the way');

  const unicodeFrame = utf8Bytes(JSON.stringify({ type: 'message', channel: 'general', content: kUnicode, ref: 'utf8' }));
  assert.ok(unicodeFrame > 50000 && unicodeFrame < kMaxMessageBytes, `frame of ${unicodeFrame} bytes`);
  const unicode = await deliver(bob, alice, kUnicode, 'utf8');
  assert.ok(unicode.received.content === kUnicode, 'the multi-byte content changed on the way');
  assert.equal(unicode.received.user_id, 'bob');

  // Both in one history reply: a server frame over 65535 bytes (64-bit length).
  await bob.evaluate(() => window.send({ type: 'history', channel: 'general', limit: 2, ref: 'h' }));
  const history = await bob.evaluate(() => window.next({ type: 'history', ref: 'h' }));
  assert.deepEqual(history.messages.map((m) => m.id), [large.ack.id, unicode.ack.id]);
  assert.ok(history.messages[0].content === kLarge);
  assert.ok(history.messages[1].content === kUnicode);
  assert.ok(utf8Bytes(JSON.stringify(history)) > 65535);

  await alice.evaluate(() => window.send({ type: 'message', channel: 'general', content: 'Ünïcödé ✓ 中文 👋', ref: 'u2' }));
  const short = await bob.evaluate(() => window.next({ type: 'message', content: 'Ünïcödé ✓ 中文 👋' }));
  assert.equal(short.user_id, 'alice');

  const path = process.env.NSELF_BROWSER_SCREENSHOT || join(project.dir, 'browser-chat.png');
  await bob.screenshot({ path });
  const png = readFileSync(path);
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
});

browserTest('a message over the 64 KiB limit closes the browser\'s socket with 1009; the other page stays', async () => {
  const content = 'x'.repeat(70000);
  await alice.evaluate((content) => window.send({ type: 'message', channel: 'general', content, ref: 'huge' }), content);
  const closed = await alice.evaluate(() => Promise.race([
    window.socketClosed,
    new Promise((resolve) => setTimeout(() => resolve({ code: 'no close within 5 s' }), 5000)),
  ]));
  assert.equal(closed.code, 1009);

  // Page B is still connected, and the oversized message was never delivered.
  await bob.evaluate(() => window.send({ type: 'ping', ref: 'p' }));
  await bob.evaluate(() => window.next({ type: 'pong', ref: 'p' }));
  const { seq } = await bob.evaluate(() => {
    window.send({ type: 'subscribe', channel: 'general', ref: 's2' });
    return window.next({ type: 'subscribed', ref: 's2' });
  });
  assert.equal(seq, 5, 'five messages were stored before the oversized one');
  const leaked = await bob.evaluate(() => window.next({ type: 'message', content: 'x'.repeat(70000) }, 200).then(() => true, () => false));
  assert.equal(leaked, false);
});
