// Collaborative cursors: presence says who is here (with a name and a colour
// in the presence meta); pointer positions go out as messages on an ephemeral
// presence channel, so every member gets them and nothing is stored. Sends
// are throttled (the server's default limit is 10 a second per user) and
// positions are relative to the window, so different window sizes agree.
import { RealtimeClient } from '/sdk/realtime-client.js';
import { ensureChannel, params, randomName, serverInfo, tokenFor, wsUrl } from '/examples/shared.js';

const kChannel = params.get('channel') || 'cursors';
const kSendEvery = 150; // ms: under 7 positions a second
const colors = ['#0969da', '#1a7f37', '#cf222e', '#8250df', '#bf3989', '#9a6700', '#0a7c87'];
const user = params.get('user') || randomName();
const color = colors[Math.abs([...user].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 7)) % colors.length];
document.getElementById('who').textContent = `you are ${user}`;

const cursors = new Map(); // user_id -> element

function cursorFor(userId, meta) {
  let element = cursors.get(userId);
  if (!element) {
    element = document.createElement('div');
    element.className = 'cursor';
    element.dataset.user = userId;
    element.innerHTML = '<svg width="16" height="20" viewBox="0 0 16 20"><path d="M1 1 L1 17 L5 13 L8 19 L10 18 L7 12 L13 12 Z" stroke="#fff" stroke-width="1.2"/></svg><span></span>';
    document.body.append(element);
    cursors.set(userId, element);
  }
  const tint = meta?.color ?? '#57606a';
  element.querySelector('path').setAttribute('fill', tint);
  element.querySelector('span').style.background = tint;
  element.querySelector('span').textContent = meta?.name ?? userId;
  return element;
}

function renderPeople(members) {
  document.getElementById('people').replaceChildren(...members.map((m) => {
    const badge = document.createElement('span');
    badge.className = 'person';
    badge.style.background = m.meta?.color ?? '#57606a';
    badge.textContent = m.user_id;
    return badge;
  }));
}

async function main() {
  const client = new RealtimeClient({ url: wsUrl, token: await tokenFor(user) });
  window.cursorsClient = client;
  const channel = client.channel(kChannel);
  channel.on('presence', ({ kind, member, members }) => {
    renderPeople(members);
    for (const m of members) if (cursors.has(m.user_id)) cursorFor(m.user_id, m.meta);
    if (kind === 'leave') {
      cursors.get(member.user_id)?.remove();
      cursors.delete(member.user_id);
    }
  });
  channel.on('message', (message) => {
    if (message.user_id === client.userId || typeof message.content !== 'object') return;
    const { x, y } = message.content;
    const element = cursorFor(message.user_id, channel.presence.get(message.user_id)?.meta);
    element.style.transform = `translate(${x * window.innerWidth}px, ${y * window.innerHeight}px)`;
  });
  await client.connect();
  try {
    await channel.subscribe();
  } catch (error) {
    if (error.code !== 'not_found' || !(await serverInfo()).dev_mode) throw error;
    await ensureChannel(kChannel, 'presence', { ephemeral: true });
    await channel.subscribe();
  }
  channel.setPresence('online', { name: user, color });

  let latest = null;
  let timer = null;
  const flush = () => {
    timer = null;
    if (!latest) return;
    // Positions are disposable: a rejected or lost one is simply superseded.
    channel.send(latest).catch(() => {});
    latest = null;
  };
  window.addEventListener('pointermove', (event) => {
    latest = { x: +(event.clientX / window.innerWidth).toFixed(4), y: +(event.clientY / window.innerHeight).toFixed(4) };
    if (!timer) timer = setTimeout(flush, kSendEvery);
  });
  window.cursorsReady = true;
}

main().catch((error) => {
  const element = document.getElementById('error');
  element.hidden = false;
  element.textContent = String(error.message ?? error);
});
