// The web console: a live dashboard fed by the server's stats feed
// ({"type":"stats_subscribe"}, admin only) and a chat panel to try a channel
// as a user. Both use the JavaScript SDK served by the server itself.
import { RealtimeClient } from '/sdk/realtime-client.js';

const $ = (id) => document.getElementById(id);
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;
const kHistory = 60; // seconds on the chart

let info = { dev_mode: false, version: '' };
let admin = null;
let chat = null;
const samples = []; // {mps, connections}

// A token minted by the server (development mode only).
async function mint(userId, role) {
  const response = await fetch('/console/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_id: userId, role }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error?.message ?? `HTTP ${response.status}`);
  return body.token;
}

function showError(element, error) {
  element.hidden = !error;
  element.textContent = error ? String(error.message ?? error) : '';
}

// ---- dashboard

function formatUptime(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h > 0 ? `${h}h ${m}m` : `${m}m ${seconds % 60}s`;
}

function onStats(stats) {
  $('stat-connections').textContent = stats.connections;
  $('stat-mps').textContent = stats.messages_in_per_second.toFixed(1);
  $('stat-channels').textContent = stats.channels;
  $('stat-users').textContent = stats.online_users;
  $('stat-messages').textContent = stats.messages_in;
  $('stat-out').textContent = stats.messages_out_per_second.toFixed(1);
  $('stat-peak').textContent = stats.peak_connections;
  $('stat-uptime').textContent = formatUptime(stats.uptime_seconds);
  samples.push({ mps: stats.messages_in_per_second, connections: stats.connections });
  if (samples.length > kHistory) samples.shift();
  window.consoleState.stats = stats;
  window.consoleState.statsCount += 1;
  drawChart();
}

function drawChart() {
  const canvas = $('chart');
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width;
  const height = canvas.clientHeight || canvas.height;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const g = canvas.getContext('2d');
  g.scale(ratio, ratio);
  g.clearRect(0, 0, width, height);
  const pad = { left: 34, right: 8, top: 10, bottom: 18 };
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const max = Math.max(5, ...samples.map((s) => Math.max(s.mps, s.connections)));
  const top = Math.ceil((max * 1.15) / 4) * 4; // four gridlines on whole numbers
  g.strokeStyle = '#eaeef2';
  g.fillStyle = '#656d76';
  g.font = '11px system-ui, sans-serif';
  for (let i = 0; i <= 4; i += 1) {
    const y = pad.top + (h * i) / 4;
    g.beginPath();
    g.moveTo(pad.left, y);
    g.lineTo(pad.left + w, y);
    g.stroke();
    g.fillText(String(Math.round(top - (top * i) / 4)), 4, y + 4);
  }
  g.fillText(`${kHistory} s`, pad.left, height - 4);
  g.fillText('now', pad.left + w - 20, height - 4);
  const line = (key, color) => {
    g.strokeStyle = color;
    g.lineWidth = 2;
    g.beginPath();
    samples.forEach((sample, i) => {
      const x = pad.left + (w * (kHistory - samples.length + i)) / (kHistory - 1);
      const y = pad.top + h - (h * sample[key]) / top;
      if (i === 0) g.moveTo(x, y);
      else g.lineTo(x, y);
    });
    g.stroke();
  };
  line('connections', '#1a7f37');
  line('mps', '#0969da');
}

async function connectDashboard(token) {
  admin?.close();
  const state = $('dashboard-state');
  admin = new RealtimeClient({ url: wsUrl, token, rateLimit: false });
  admin.on('state', (s) => {
    state.textContent = s === 'connected' ? `live (admin ${admin.userId})` : s;
    state.classList.toggle('connected', s === 'connected');
  });
  admin.on('stats', onStats);
  admin.on('error', (error) => showError($('dashboard-error'), error));
  try {
    await admin.connect();
    await admin.subscribeStats();
    showError($('dashboard-error'), null);
  } catch (error) {
    showError($('dashboard-error'), error.code === 'forbidden' ? 'this token is not an admin token' : error);
  }
}

// ---- chat

function addLine(parts, className = '') {
  const item = document.createElement('li');
  if (className) item.className = className;
  for (const [cls, text] of parts) {
    const span = document.createElement('span');
    if (cls) span.className = cls;
    span.textContent = text;
    item.append(span);
  }
  const list = $('messages');
  list.append(item);
  list.scrollTop = list.scrollHeight;
}

function showMessage(message) {
  const text = typeof message.content === 'string' ? message.content : JSON.stringify(message.content);
  addLine([['who', message.user_id], ['', text]]);
}

function renderMembers(members) {
  const list = $('members');
  list.replaceChildren(...members.map((member) => {
    const item = document.createElement('li');
    item.textContent = member.user_id;
    if (member.status === 'away') item.className = 'away';
    return item;
  }));
}

function renderTyping(channel) {
  const others = [...channel.typingUsers].filter((user) => user !== chat.userId);
  $('typing').textContent = others.length === 0 ? '\u00a0'
    : `${others.join(', ')} ${others.length === 1 ? 'is' : 'are'} typing...`;
}

async function joinChat(event) {
  event?.preventDefault();
  const user = $('chat-user').value.trim();
  const name = $('chat-channel').value.trim();
  const pasted = $('chat-token').value.trim();
  showError($('chat-error'), null);
  if (!pasted && !info.dev_mode) {
    showError($('chat-error'), 'paste a token (development mode is off)');
    return;
  }
  chat?.close();
  $('messages').replaceChildren();
  $('members').replaceChildren();
  const token = pasted || (() => mint(user, 'user'));
  chat = new RealtimeClient({ url: wsUrl, token });
  window.consoleState.chat = chat;
  chat.on('error', (error) => showError($('chat-error'), error));
  chat.on('disconnected', () => addLine([['', 'disconnected, reconnecting...']], 'system'));
  const channel = chat.channel(name);
  channel.on('message', showMessage);
  channel.on('presence', ({ members }) => renderMembers(members));
  channel.on('typing', () => renderTyping(channel));
  try {
    await chat.connect();
    const { messages } = await channel.subscribe({ history: 50 });
    messages.forEach(showMessage);
    addLine([['', `joined #${channel.slug} as ${chat.userId}`]], 'system');
    $('chat-input').disabled = false;
    $('chat-send').disabled = false;
    $('chat-input').focus();
  } catch (error) {
    showError($('chat-error'), error);
  }
}

async function send(event) {
  event.preventDefault();
  const input = $('chat-input');
  const text = input.value;
  if (!text || !chat) return;
  input.value = '';
  const channel = chat.channel($('chat-channel').value.trim());
  channel.typing(false);
  try {
    await channel.send(text);
  } catch (error) {
    showError($('chat-error'), error);
  }
}

// ---- start

window.consoleState = { stats: null, statsCount: 0, chat: null };

async function start() {
  try {
    info = await (await fetch('/console/info')).json();
  } catch {
    // an older server: no dev mode
  }
  $('version').textContent = `v${info.version}`;
  $('dev-badge').hidden = !info.dev_mode;
  $('admin-generate').hidden = !info.dev_mode;
  if (info.dev_mode) {
    $('chat-hint').textContent = 'Development mode: leave the token empty and one is generated for the user id.';
  }
  $('admin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('admin-token').value.trim();
    if (token) connectDashboard(token);
  });
  $('admin-generate').addEventListener('click', () => connectDashboard(() => mint('console-admin', 'admin')));
  $('chat-form').addEventListener('submit', joinChat);
  $('send-form').addEventListener('submit', send);
  $('chat-input').addEventListener('input', (event) => {
    const channel = chat?.channel($('chat-channel').value.trim());
    channel?.typing(event.target.value.length > 0);
  });
  drawChart();
  // In development mode the dashboard goes live at once.
  if (info.dev_mode) connectDashboard(() => mint('console-admin', 'admin'));
}

start();
