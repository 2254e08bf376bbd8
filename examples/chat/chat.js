// Chat with the SDK: history on join, live messages, presence and typing.
// ?user=NAME (random by default), ?channel=SLUG (lobby), ?token=JWT (else
// development mode mints one and creates the channel when missing).
import { RealtimeClient } from '/sdk/realtime-client.js';
import { ensureChannel, params, randomName, serverInfo, tokenFor, wsUrl } from '/examples/shared.js';

const $ = (id) => document.getElementById(id);
const user = params.get('user') || randomName();
const channelName = params.get('channel') || 'lobby';
$('channel-name').textContent = channelName;
$('me').textContent = `as ${user}`;

function line(parts, className) {
  const item = document.createElement('li');
  if (className) item.className = className;
  for (const [cls, text] of parts) {
    const span = document.createElement('span');
    if (cls) span.className = cls;
    span.textContent = text;
    item.append(span);
  }
  $('messages').append(item);
  $('messages').scrollTop = $('messages').scrollHeight;
}

function show(message, client) {
  const text = typeof message.content === 'string' ? message.content : JSON.stringify(message.content);
  const time = new Date(message.created_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  line([['who', message.user_id], ['', text], ['time', time]], message.user_id === client.userId ? 'mine' : '');
}

function fail(error) {
  $('error').hidden = false;
  $('error').textContent = String(error.message ?? error);
}

async function main() {
  const client = new RealtimeClient({ url: wsUrl, token: await tokenFor(user) });
  window.chat = client;
  const channel = client.channel(channelName);
  client.on('state', (state) => {
    $('state').textContent = state === 'connected' ? 'connected' : `${state}...`;
    $('state').classList.toggle('connected', state === 'connected');
  });
  channel.on('message', (message) => show(message, client));
  channel.on('presence', ({ kind, member, members }) => {
    $('count').textContent = `(${members.length})`;
    $('members').replaceChildren(...members.map((m) => {
      const item = document.createElement('li');
      item.textContent = m.user_id === client.userId ? `${m.user_id} (you)` : m.user_id;
      if (m.status === 'away') item.className = 'away';
      return item;
    }));
    if (kind === 'join') line([['', `${member.user_id} joined`]], 'system');
    if (kind === 'leave') line([['', `${member.user_id} left`]], 'system');
  });
  channel.on('typing', () => {
    const others = [...channel.typingUsers].filter((u) => u !== client.userId);
    $('typing').textContent = others.length === 0 ? '\u00a0'
      : `${others.join(', ')} ${others.length === 1 ? 'is' : 'are'} typing...`;
  });
  await client.connect();
  let joined;
  try {
    joined = await channel.subscribe({ history: 50 });
  } catch (error) {
    if (error.code !== 'not_found' || !(await serverInfo()).dev_mode) throw error;
    await ensureChannel(channelName, 'presence');
    joined = await channel.subscribe({ history: 50 });
  }
  joined.messages.forEach((message) => show(message, client));
  $('input').disabled = false;
  $('send').disabled = false;
  $('input').focus();
  $('input').addEventListener('input', (event) => channel.typing(event.target.value.length > 0));
  $('composer').addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = $('input').value.trim();
    if (!text) return;
    $('input').value = '';
    channel.typing(false);
    try {
      await channel.send(text);
    } catch (error) {
      fail(error);
    }
  });
  window.chatReady = true;
}

main().catch(fail);
