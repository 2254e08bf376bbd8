// The web console and the examples end to end in headless Chromium (Debian's
// chromium, driven by playwright-core), against a real server in development
// mode: two chat pages (examples/chat) talk to each other and see each
// other's presence and typing; the console's dashboard, fed by the stats feed,
// shows the connections and messages move; the console's chat panel joins the
// same channel; two cursor pages see each other's pointer.
//
// NSELF_SCREENSHOT_DIR=docs/images saves console.png and chat-demo.png there
// (that is how the README's screenshots were made); otherwise they go to the
// project's temporary directory. Without Chromium the tests are skipped,
// unless NSELF_TEST_REQUIRE_SERVICES=1.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Project } from './harness.mjs';

const kChromium = '/usr/bin/chromium';
const kRequired = process.env.NSELF_TEST_REQUIRE_SERVICES === '1';
const kMissing = existsSync(kChromium) ? null : `${kChromium} is missing (apt-get install chromium, or make deps)`;

let project;
let browser;
const pageErrors = [];

async function open(path, { width = 900, height = 600 } = {}) {
  const page = await browser.newPage({ viewport: { width, height } });
  page.on('pageerror', (error) => pageErrors.push(`${path}: ${error.message}`));
  await page.goto(`http://127.0.0.1:${project.port}${path}`);
  return page;
}

const text = (page, selector) => page.locator(selector).innerText();
const number = async (page, selector) => Number(await text(page, selector));

function screenshotPath(name) {
  return join(process.env.NSELF_SCREENSHOT_DIR || project.dir, name);
}

before(async () => {
  if (kMissing) return;
  project = await Project.create({ env: { REALTIME_DEV_MODE: 'true' } });
  await project.mustRealtime(['init']);
  await project.mustRealtime(['channel', 'create', 'lobby', 'presence']);
  await project.mustRealtime(['start']);
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: kChromium,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await project?.cleanup();
});

function browserTest(name, body) {
  test(name, async (t) => {
    if (kMissing) {
      if (kRequired) assert.fail(`NSELF_TEST_REQUIRE_SERVICES=1 but ${kMissing}`);
      t.skip(kMissing);
      return;
    }
    await body(t);
    assert.deepEqual(pageErrors, [], 'no page threw');
  });
}

browserTest('two chat pages chat, see presence and typing; the dashboard counters move', async () => {
  const dashboard = await open('/console', { width: 1280, height: 820 });
  await dashboard.waitForFunction(() => window.consoleState?.statsCount >= 1, null, { timeout: 10000 });
  assert.match(await text(dashboard, '#dashboard-state'), /live \(admin console-admin\)/);
  const connectionsBefore = await number(dashboard, '#stat-connections');
  const messagesBefore = await number(dashboard, '#stat-messages');
  assert.ok(connectionsBefore >= 1);

  const alice = await open('/examples/chat/?user=alice&channel=lobby');
  await alice.waitForFunction(() => window.chatReady === true, null, { timeout: 10000 });
  const bob = await open('/examples/chat/?user=bob&channel=lobby');
  await bob.waitForFunction(() => window.chatReady === true, null, { timeout: 10000 });

  // Presence: each sees both members.
  for (const page of [alice, bob]) {
    await page.waitForFunction(() => document.querySelectorAll('#members li').length === 2, null, { timeout: 5000 });
  }
  assert.match(await text(alice, '#members'), /bob/);
  assert.match(await text(bob, '#members'), /alice\nbob \(you\)/);
  assert.match(await text(alice, '#messages'), /bob joined/);

  // Typing: alice types, bob sees it; sending ends it.
  await alice.locator('#input').pressSequentially('Hi Bob');
  await bob.waitForFunction(() => document.getElementById('typing').textContent.includes('alice is typing'), null, { timeout: 5000 });
  await alice.locator('#input').press('Enter');
  await bob.waitForFunction(() => document.getElementById('messages').textContent.includes('Hi Bob'), null, { timeout: 5000 });
  await bob.waitForFunction(() => !document.getElementById('typing').textContent.includes('alice'), null, { timeout: 5000 });

  await bob.locator('#input').fill('Hello Alice 👋, nice to see you here');
  await bob.locator('#input').press('Enter');
  await alice.waitForFunction(() => document.getElementById('messages').textContent.includes('Hello Alice 👋'), null, { timeout: 5000 });
  await alice.locator('#input').fill('Shipping the console today');
  await alice.locator('#send').click();
  await bob.waitForFunction(() => document.getElementById('messages').textContent.includes('Shipping the console'), null, { timeout: 5000 });
  // Alice's page shows her messages when the server echoes them, which may
  // come after bob saw them.
  await alice.waitForFunction(() => document.querySelectorAll('#messages li.mine').length === 2, null, { timeout: 5000 });

  // The dashboard: more connections, users and messages than before.
  await dashboard.waitForFunction(
    ([connections, messages]) => Number(document.getElementById('stat-connections').textContent) >= connections + 2 &&
      Number(document.getElementById('stat-messages').textContent) >= messages + 3,
    [connectionsBefore, messagesBefore], { timeout: 5000 });
  assert.ok((await number(dashboard, '#stat-users')) >= 3);
  assert.ok((await number(dashboard, '#stat-channels')) >= 1);

  // The console's chat panel joins the same channel as carol (dev-mode token).
  await dashboard.locator('#chat-user').fill('carol');
  await dashboard.locator('#chat-channel').fill('lobby');
  await dashboard.locator('#chat-join').click();
  await dashboard.waitForFunction(() => document.getElementById('messages').textContent.includes('Shipping the console'), null, { timeout: 5000 });
  await dashboard.waitForFunction(() => document.querySelectorAll('#members li').length === 3, null, { timeout: 5000 });
  await alice.waitForFunction(() => document.getElementById('members').textContent.includes('carol'), null, { timeout: 5000 });
  await dashboard.locator('#chat-input').fill('carol from the console');
  await dashboard.locator('#chat-send').click();
  await bob.waitForFunction(() => document.getElementById('messages').textContent.includes('carol from the console'), null, { timeout: 5000 });
  await bob.locator('#input').pressSequentially('typing...');
  await dashboard.waitForFunction(() => document.getElementById('typing').textContent.includes('bob is typing'), null, { timeout: 5000 });

  // Let the chart collect a few seconds, then the screenshots.
  await dashboard.waitForFunction(() => window.consoleState.statsCount >= 6, null, { timeout: 10000 });
  for (const [page, name] of [[dashboard, 'console.png'], [alice, 'chat-demo.png']]) {
    const path = screenshotPath(name);
    await page.screenshot({ path });
    assert.equal(readFileSync(path).subarray(1, 4).toString(), 'PNG');
  }
  for (const page of [dashboard, alice, bob]) await page.close();
});

browserTest('closing a chat page makes it leave the other\'s presence list', async () => {
  const alice = await open('/examples/chat/?user=amy&channel=lobby');
  await alice.waitForFunction(() => window.chatReady === true, null, { timeout: 10000 });
  const bob = await open('/examples/chat/?user=ben&channel=lobby');
  await bob.waitForFunction(() => window.chatReady === true, null, { timeout: 10000 });
  await alice.waitForFunction(() => document.getElementById('members').textContent.includes('ben'), null, { timeout: 5000 });
  await bob.close();
  await alice.waitForFunction(() => !document.getElementById('members').textContent.includes('ben'), null, { timeout: 5000 });
  assert.match(await text(alice, '#messages'), /ben left/);
  await alice.close();
});

browserTest('the cursors demo shows another page\'s pointer', async () => {
  const one = await open('/examples/cursors/?user=pat');
  await one.waitForFunction(() => window.cursorsReady === true, null, { timeout: 10000 });
  const two = await open('/examples/cursors/?user=sam');
  await two.waitForFunction(() => window.cursorsReady === true, null, { timeout: 10000 });
  await one.waitForFunction(() => document.getElementById('people').textContent.includes('sam'), null, { timeout: 5000 });
  await two.mouse.move(300, 200);
  await two.mouse.move(450, 300, { steps: 5 });
  await one.waitForSelector('.cursor[data-user="sam"]', { timeout: 5000 });
  assert.equal(await one.locator('.cursor[data-user="sam"] span').innerText(), 'sam');
  await one.close();
  await two.close();
});
