// Shared pieces of the SDK tests (sdk*.test.mjs): a project with channels,
// SDK clients that are closed at the end, waiting for conditions, and the
// test's own view of a channel through a plain harness client.
import WebSocket from 'ws';
import { Client, fullHistory, sleep } from './harness.mjs';
import { RealtimeClient } from '../../../clients/js/realtime-client.js';

// Resolves when `predicate()` holds, polling; fails after `timeoutMs`.
export async function until(predicate, timeoutMs = 10000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// The messages a channel emits, in order.
export function collect(channel) {
  const messages = [];
  channel.on('message', (message) => messages.push(message));
  return messages;
}

// Makes SDK clients for one project and closes them all at the end.
export class SdkClients {
  constructor(project) {
    this.project = project;
    this.all = [];
  }

  // A client of `user` with a token provider; short reconnect delays and no
  // client-side pacing unless `options` say otherwise.
  make(url, user, options = {}) {
    const client = new RealtimeClient({
      url,
      token: () => this.project.token(user),
      WebSocket,
      minReconnectDelay: 50,
      maxReconnectDelay: 500,
      rateLimit: false,
      ...options,
    });
    this.all.push(client);
    return client;
  }

  closeAll() {
    for (const client of this.all) client.close();
  }
}

// A plain harness client, authenticated.
export async function observer(project, user = 'observer') {
  const client = await Client.connect(project.url(`?token=${project.token(user)}`));
  await client.next('auth_ok');
  return client;
}

export async function sendRaw(client, channel, content) {
  const ref = `x${Math.random()}`;
  client.send({ type: 'message', channel, content, ref });
  return client.next((event) => event.type === 'ack' && event.ref === ref, 15000);
}

// Everything stored in `channel`, oldest first, read by a fresh connection.
export async function stored(project, channel) {
  const reader = await observer(project, 'reader');
  try {
    return await fullHistory(reader, channel);
  } finally {
    await reader.close();
  }
}
