// @nself/realtime-client: the JavaScript client of nself realtime
// (docs/PROTOCOL.md). One ES module, no dependencies, no build step; works in
// browsers and in Node 20 (pass `WebSocket` from the `ws` package there).
//
// What it does for the application:
// - authenticates with a token or a token provider, and refreshes the token
//   with a live `auth` before it expires, once per token;
// - reconnects after an unexpected close with exponential backoff and
//   jitter, decided per close code (4000 stays closed, 4008 backs off), at
//   once on `online`, on a page shown again, or on connect(); resubscribes
//   every channel with `since` (the last seq it saw, or the channel's seq at
//   subscribe time), and delivers the messages it missed exactly once, in
//   seq order;
// - finds a dead (half-open) connection with pings: WebSocket pings where the
//   WebSocket has them (`ws`), which are not the user's activity;
// - settles every send() with its ack (or an error, or a timeout); a send whose
//   ack was lost with the connection is matched against the replayed messages
//   before it is sent again (same ref), so it is stored once;
// - keeps sends made while offline in a queue flushed after reconnecting;
// - reads batched frames (several "\n"-separated events), and asks for them
//   with `batch: true`;
// - keeps each channel's presence up to date and throttles typing indicators;
// - reports a listener's exception as an `error` event instead of rethrowing.

const kDefaults = {
  batch: false,
  reconnect: true,
  minReconnectDelay: 500, // ms, first retry
  maxReconnectDelay: 30_000, // ms
  reconnectFactor: 2,
  ackTimeout: 10_000, // ms, per send, counted while connected
  requestTimeout: 15_000, // ms, subscribe/history/auth replies
  authTimeout: 10_000, // ms, from creating the socket to auth_ok (connect, opening handshake, auth)
  refreshMargin: 60_000, // ms before exp to refresh the token (at the latest half-way)
  pingInterval: 10_000, // ms without any frame before a ping; 0: never
  pongTimeout: 10_000, // ms; by default pingInterval: a dead socket is found within two intervals
  idlePingCutoff: 240_000, // ms of the application's inactivity after which protocol pings stop (browsers)
  typingInterval: 3_000, // ms between two typing:true of one channel
  maxQueue: 1000, // sends kept while offline
  // Client-side pacing of message/typing/presence (false: none), a little
  // under the server's default 10/s with a burst of 10: frames delayed on the
  // way and then arriving together (up to about half a second of jitter)
  // still fit the server's bucket.
  rateLimit: { perSecond: 9, burst: 5 },
  rateLimitRetries: 5, // a rate_limited send is retried this many times, a second apart
};

const kMaxBatchRequests = 100;
const kLimitBackoffSteps = 3; // after a close 4008 the backoff starts at minReconnectDelay * factor^3
const kRefreshFloor = 1000; // ms: the soonest a token refresh is scheduled
const kRefreshMaxRetryDelay = 30_000; // ms between two refresh attempts at most // the server's limit of requests in one array frame
const kSeenIds = 5000;
// Auth errors after which a fixed token is given up.
const kTokenRefusals = new Set(['invalid_token', 'token_expired', 'unauthenticated', 'forbidden']); // message and broadcast ids remembered per channel / client

/** An error reported by the server (code as in PROTOCOL.md) or by the client. */
export class RealtimeError extends Error {
  constructor(code, message, event = null) {
    super(message);
    this.name = 'RealtimeError';
    this.code = code;
    this.event = event;
  }
}

/**
 * Thrown by a token provider to say "no token, stop" (the user logged out):
 * the client closes for good instead of retrying.
 */
export class UnauthorizedError extends RealtimeError {
  constructor(message = 'the token provider refused: unauthorized') {
    super('unauthorized', message);
    this.name = 'UnauthorizedError';
  }
}

// The events of one text frame: one JSON value, or several separated by "\n"
// (batch mode). A newline may also sit inside an event (as whitespace in a
// message's content, which the server forwards as sent): such pieces are
// joined until they parse. An array is a list of events.
export function parseFrame(text) {
  const out = [];
  const push = (value) => {
    if (Array.isArray(value)) out.push(...value);
    else out.push(value);
  };
  if (!text.includes('\n')) {
    push(JSON.parse(text));
    return out;
  }
  let pending = '';
  for (const piece of text.split('\n')) {
    pending = pending === '' ? piece : `${pending}\n${piece}`;
    if (pending.trim() === '') continue;
    let value;
    try {
      value = JSON.parse(pending);
    } catch {
      continue; // not complete yet
    }
    push(value);
    pending = '';
  }
  if (pending.trim() !== '') throw new SyntaxError('a frame ends inside a JSON value');
  return out;
}

class Emitter {
  #listeners = new Map();

  /** Adds a listener; returns a function that removes it. */
  on(name, listener) {
    if (!this.#listeners.has(name)) this.#listeners.set(name, new Set());
    this.#listeners.get(name).add(listener);
    return () => this.off(name, listener);
  }

  off(name, listener) {
    this.#listeners.get(name)?.delete(listener);
  }

  once(name, listener) {
    const off = this.on(name, (...args) => {
      off();
      listener(...args);
    });
    return off;
  }

  emit(name, ...args) {
    for (const listener of [...(this.#listeners.get(name) ?? [])]) {
      try {
        listener(...args);
      } catch (error) {
        // A listener's bug must not break the client's state machine, nor
        // crash a Node process from a timer: it is reported instead.
        this._listenerFailed(name, error);
      }
    }
  }

  hasListeners(name) {
    return (this.#listeners.get(name)?.size ?? 0) > 0;
  }

  // Overridden by the client and its channels; the last resort is the console.
  _listenerFailed(name, error) {
    reportToConsole(name, error);
  }
}

function reportToConsole(name, error) {
  // eslint-disable-next-line no-console
  globalThis.console?.error?.(`realtime-client: a '${name}' listener threw`, error);
}

// The RealtimeError that reports a listener's exception (the original is its cause).
function listenerError(name, error, channel = null) {
  const where = channel ? `channel ${channel}` : 'client';
  const wrapped = new RealtimeError('listener_error', `a '${name}' listener of the ${where} threw: ${error?.message ?? error}`);
  wrapped.cause = error;
  wrapped.listener = { event: name, channel };
  return wrapped;
}

// A set that forgets its oldest entries past `limit`.
class BoundedSet {
  #set = new Set();
  constructor(limit) { this.limit = limit; }
  has(value) { return this.#set.has(value); }
  add(value) {
    if (this.#set.has(value)) return;
    this.#set.add(value);
    if (this.#set.size > this.limit) this.#set.delete(this.#set.values().next().value);
  }
}

// A token bucket: `take()` is true when a request may go now.
class Bucket {
  constructor({ perSecond, burst }) {
    this.rate = perSecond;
    this.capacity = burst ?? perSecond;
    this.tokens = this.capacity;
    this.at = Date.now();
  }
  #refill() {
    const now = Date.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
  }
  take() {
    this.#refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
  // ms until a token is available.
  wait() {
    this.#refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }
}

const sameContent = (a, b) => a === b;

/**
 * One channel of a client: subscribe, send, history, presence, typing.
 *
 * A subscription is a state machine: 'unsubscribed' -> 'subscribing' ->
 * 'subscribed', back to 'subscribing' while the client reconnects (it is
 * resubscribed with `since`), and 'unsubscribed' with a reason when it ends:
 * 'deliberate' (unsubscribe()), 'disconnected' (the client closed or gave
 * up), 'forbidden' / 'not_found' (the server refused it), 'deleted'.
 *
 * Events: 'subscribing' ({reason: 'subscribe' | 'reconnecting'}),
 * 'subscribed' ({seq, unread, resumed}), 'unsubscribed' ({reason, error}),
 * 'message' (event), 'typing' (event), 'presence' ({kind, member, members}),
 * 'broadcast' (event), 'deleted' (event), 'error' (RealtimeError).
 */
export class Channel extends Emitter {
  #client;
  #seen = new BoundedSet(kSeenIds);
  #typingSentAt = 0;
  #typingTimers = new Map();
  #own = []; // this user's messages seen on the channel: {id, seq, json}
  #subscribePromise = null;
  #held = null; // live messages waiting for a replay

  constructor(client, name) {
    super();
    this.#client = client;
    this.name = name;
    this.slug = name;
    this.id = null;
    this.state = 'unsubscribed'; // subscribing, subscribed
    this.wanted = false; // subscribed by the application: resubscribed on reconnect
    this.lastSeq = null; // the newest seq seen (null before the first subscribe)
    this.presence = new Map(); // user_id -> {user_id, status, meta, last_active}
    this.typingUsers = new Set();
    this.unread = undefined;
    this.options = {};
  }

  /**
   * Subscribes. `history: N` also fetches the last N messages (returned, not
   * emitted). `since: seq` (a seq saved earlier, e.g. before a page reload)
   * emits every message after it as 'message' instead. Resolves with {seq,
   * unread, messages, hasMore}; rejects with the server's error, or 'closed'.
   */
  subscribe(options = {}) {
    if (options.history != null && options.since != null) {
      return Promise.reject(new RealtimeError('bad_request', 'history and since cannot be used together'));
    }
    this.wanted = true;
    this.options = { history: options.history };
    if (options.since != null && (this.lastSeq == null || options.since > this.lastSeq)) this.lastSeq = options.since;
    if (this.state === 'subscribed' && !options.history) {
      return Promise.resolve({ seq: this.lastSeq, unread: this.unread, messages: [], hasMore: false });
    }
    if (!this.#subscribePromise) {
      this.#subscribePromise = this.#client._subscribe(this, options).finally(() => {
        this.#subscribePromise = null;
      });
    }
    return this.#subscribePromise;
  }

  /** Unsubscribes; the channel stops being resubscribed on reconnect. */
  async unsubscribe() {
    this.wanted = false;
    if (this.state === 'unsubscribed') return;
    this._ended('deliberate');
    if (this.#client.connected) {
      await this.#client.request({ type: 'unsubscribe', channel: this.name });
    }
  }

  /**
   * Sends a message (any JSON value but null). Resolves with the ack
   * {id, seq, channel}; rejects with a RealtimeError (server code, or
   * 'timeout', 'queue_full', 'closed', 'connection_lost').
   */
  send(content, options = {}) {
    return this.#client._send(this, content, options);
  }

  /**
   * Stored messages, oldest first: {messages, hasMore}. By default the newest
   * `limit`; `before: seq` the newest older than seq (hasMore: older remain);
   * `after: seq` the oldest newer than seq (hasMore: newer remain). A reply
   * is one page, bounded in bytes too: follow hasMore for the rest.
   */
  async history({ limit = 50, before, after } = {}) {
    if (before != null && after != null) {
      throw new RealtimeError('bad_request', 'before and after cannot be used together');
    }
    const reply = await this.#client.request({
      type: 'history',
      channel: this.name,
      limit,
      ...(before != null ? { before } : {}),
      ...(after != null ? { after } : {}),
    });
    return { messages: reply.messages, hasMore: reply.has_more };
  }

  /**
   * Typing indicator. true is sent at most once per `typingInterval` (the
   * server ends it by itself after 6 s without renewal); false is sent at
   * once when true was sent. Never queued while offline.
   */
  typing(isTyping = true) {
    const now = Date.now();
    if (isTyping) {
      if (now - this.#typingSentAt < this.#client.options.typingInterval) return false;
      if (!this.#client._sendCounted({ type: 'typing', channel: this.name, typing: true })) return false;
      this.#typingSentAt = now;
      return true;
    }
    if (this.#typingSentAt === 0) return false;
    this.#typingSentAt = 0;
    return this.#client._sendCounted({ type: 'typing', channel: this.name, typing: false });
  }

  /** Sets this user's presence on this channel ('online' | 'away', optional meta). */
  setPresence(status, meta) {
    const request = { type: 'presence', status, channel: this.name, ...(meta !== undefined ? { meta } : {}) };
    this.#client._rememberPresence(this.name, request);
    return this.#client._sendCounted(request);
  }

  /** Marks everything up to `seq` (default: the newest seen) as read. */
  markRead(seq = this.lastSeq) {
    if (seq == null) return false;
    return this.#client._sendNow({ type: 'read', channel: this.name, seq });
  }

  // ---- called by the client

  _listenerFailed(name, error) {
    this.#client._reportListenerError(listenerError(name, error, this.name));
  }

  _subscribing(reason) {
    if (this.state === 'subscribing') return;
    this.state = 'subscribing';
    this.emit('subscribing', { reason });
  }

  // The subscription ends: no resubscribe on reconnect; a pending
  // subscribe() rejects with `error`.
  _ended(reason, error = null) {
    this.wanted = false;
    this.#held = null;
    this.presence.clear();
    const reject = this._rejectSubscribe;
    this._resolveSubscribe = this._rejectSubscribe = null;
    if (reject) reject(error ?? new RealtimeError('closed', `the subscription ended (${reason})`));
    if (this.state === 'unsubscribed') return;
    this.state = 'unsubscribed';
    this.emit('unsubscribed', { reason, error });
  }

  _subscribed(reply, resumed) {
    this.state = 'subscribed';
    this.slug = reply.channel;
    this.unread = reply.unread;
    // Seq going backwards: an ephemeral channel's in-memory counter restarted
    // with the server; start again from its value.
    if (this.lastSeq == null || reply.seq < this.lastSeq) this.lastSeq = reply.seq;
    this.emit('subscribed', { seq: reply.seq, unread: reply.unread, resumed });
  }

  _markSeen(messages) {
    for (const message of messages) this.#seen.add(message.id);
  }

  // Live messages are held while a resubscribe's replay is on its way (a
  // socket may hand several frames over at once, before the replay is
  // processed), then delivered after it in seq order.
  _hold() {
    this.#held = [];
  }

  _release() {
    const held = this.#held ?? [];
    this.#held = null;
    held.sort((a, b) => a.seq - b.seq);
    for (const event of held) this._message(event);
  }

  _live(event) {
    if (this.#held) this.#held.push(event);
    else this._message(event);
  }

  // A live or replayed message: emitted once per id.
  _message(event) {
    if (this.#seen.has(event.id)) return false;
    this.#seen.add(event.id);
    if (this.lastSeq == null || event.seq > this.lastSeq) this.lastSeq = event.seq;
    this.#noteOwn(event);
    if (this.typingUsers.delete(event.user_id)) this.#emitTypingStop(event.user_id);
    this.emit('message', event);
    return true;
  }

  #noteOwn(message) {
    if (message.user_id !== this.#client.userId) return;
    this.#own.push({ id: message.id, seq: message.seq, json: JSON.stringify(message.content) });
    if (this.#own.length > 1000) this.#own.shift();
  }

  // The first own message newer than `afterSeq`, not acked yet, whose content
  // is `json` (and forgets it). A message sent when the channel's newest seq
  // was `afterSeq` is stored with a greater seq.
  _takeOwn(json, afterSeq, acked) {
    const index = this.#own.findIndex((own) => own.seq > (afterSeq ?? -1) && !acked.has(own.id) && sameContent(own.json, json));
    if (index < 0) return null;
    return this.#own.splice(index, 1)[0];
  }

  _typing(event) {
    const user = event.user_id;
    clearTimeout(this.#typingTimers.get(user));
    if (event.typing) {
      this.typingUsers.add(user);
      // The server sends typing:false after its own timeout; this is the
      // fallback when that event is lost with a connection.
      this.#typingTimers.set(user, setTimeout(() => {
        if (this.typingUsers.delete(user)) this.#emitTypingStop(user);
      }, 8000));
    } else {
      this.typingUsers.delete(user);
    }
    this.emit('typing', event);
  }

  #emitTypingStop(user) {
    this.emit('typing', { type: 'typing', channel: this.slug, user_id: user, typing: false });
  }

  _presence(event) {
    let kind;
    let member = null;
    if (event.type === 'presence_state') {
      kind = 'state';
      this.presence = new Map(event.members.map((m) => [m.user_id, m]));
    } else if (event.type === 'presence_leave') {
      kind = 'leave';
      member = this.presence.get(event.user_id) ?? { user_id: event.user_id };
      this.presence.delete(event.user_id);
    } else {
      kind = event.type === 'presence_join' ? 'join' : 'update';
      member = { user_id: event.user_id, status: event.status, meta: event.meta, last_active: event.last_active };
      this.presence.set(event.user_id, member);
    }
    this.emit('presence', { kind, member, members: [...this.presence.values()], event });
  }

  _deleted(event) {
    this._ended('deleted', new RealtimeError('not_found', 'the channel was deleted', event));
    this.emit('deleted', event);
  }

  // The connection dropped: a wanted channel waits to be resubscribed.
  _disconnected() {
    // Held messages are not lost: lastSeq did not move, the next replay has them.
    this.#held = null;
    if (this.wanted) this._subscribing('reconnecting');
    else if (this.state !== 'unsubscribed') this._ended('disconnected');
    for (const timer of this.#typingTimers.values()) clearTimeout(timer);
    this.#typingTimers.clear();
    this.typingUsers.clear();
  }
}

/**
 * A connection to nself realtime that stays up.
 *
 *   const client = new RealtimeClient({ url: 'ws://localhost:3100', token: () => fetchToken() });
 *   await client.connect();
 *   const general = client.channel('general');
 *   general.on('message', (m) => console.log(m.user_id, m.content));
 *   await general.subscribe();
 *   await general.send('hello');
 *
 * Events: 'state' (state), 'connected' ({userId, connectionId, resumed}),
 * 'disconnected' ({code, reason}), 'reconnecting' ({attempt, delay}),
 * 'token' ({expiresAt}), 'broadcast' (event), 'stats' (event), 'error'
 * (RealtimeError), 'event' (every server event, raw).
 */
export class RealtimeClient extends Emitter {
  #ws = null;
  #generation = 0;
  #ref = 0;
  #pending = new Map(); // ref -> {resolve, reject, timer, parts, final}
  #sends = new Map(); // ref -> send record, in send order
  #acked = new BoundedSet(kSeenIds);
  #channels = new Map(); // the name the application used -> Channel
  #bySlug = new Map();
  #broadcasts = new BoundedSet(kSeenIds);
  #attempt = 0;
  #timers = { reconnect: null, auth: null, refresh: null, ping: null, pong: null, flush: null };
  #lastFrameAt = 0;
  #lastActionAt = Date.now(); // the application's last send, typing, presence or active()
  #connectWaiters = [];
  #ready = false; // authenticated and resubscribed
  #everConnected = false;
  #closedByUser = false;
  #presence = new Map(); // channel name or '' -> last presence request
  #bucket = null;
  #statsWanted = false;
  #token = null; // the token of the current connection
  #hiddenAt = null;
  #unlisten = []; // removes the online/offline/visibility listeners

  /**
   * @param {object} options url (ws://host:port), token (string or function
   *   returning a string or a Promise of one), WebSocket (constructor; the
   *   global one by default), batch, reconnect and the timings of kDefaults.
   */
  constructor(options) {
    super();
    if (!options?.url) throw new TypeError('RealtimeClient: url is required');
    if (options.token == null) throw new TypeError('RealtimeClient: token is required (a string or a function)');
    this.options = { ...kDefaults, ...options };
    if (options.pongTimeout == null) this.options.pongTimeout = this.options.pingInterval || kDefaults.pongTimeout;
    this.WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (!this.WebSocket) throw new TypeError('RealtimeClient: no WebSocket: pass the `ws` package as options.WebSocket');
    if (this.options.rateLimit) this.#bucket = new Bucket(this.options.rateLimit);
    this.state = 'idle'; // connecting, authenticating, connected, reconnecting, closed
    this.userId = null;
    this.connectionId = null;
    this.expiresAt = null;
  }

  /** True once authenticated and resubscribed, until the connection drops. */
  get connected() {
    return this.#ready;
  }

  /** Sends queued while offline (and sends waiting for an ack). */
  get queuedSends() {
    return this.#sends.size;
  }

  /**
   * Connects; resolves at the first auth_ok, keeps reconnecting until
   * close(). While a reconnect is waiting for its backoff, tries at once.
   */
  connect() {
    if (this.#ready) return Promise.resolve(this.#authInfo());
    const promise = new Promise((resolve, reject) => this.#connectWaiters.push({ resolve, reject }));
    if (this.state === 'idle' || this.state === 'closed') {
      this.#closedByUser = false;
      this.#listenToEnvironment();
      this.#open();
    } else {
      this.#reconnectNow();
    }
    return promise;
  }

  /** The channel object for a slug or UUID (one object per name). */
  channel(name) {
    let channel = this.#channels.get(name);
    if (!channel) {
      channel = new Channel(this, name);
      this.#channels.set(name, channel);
      this.#bySlug.set(name, channel);
    }
    return channel;
  }

  /**
   * Closes for good: pending sends, requests and subscribes are rejected with
   * 'closed'; channels end with reason 'disconnected'.
   */
  close(code = 1000, reason = 'client closed') {
    const ws = this.#ws;
    this.#stop(new RealtimeError('closed', 'the client was closed'));
    try {
      ws?.close(code, reason);
    } catch {
      // already closed
    }
  }

  /** Tells the SDK the user is active (sends, typing and presence do it too). */
  active() {
    this.#noteAction();
  }

  /** Sends any request with a fresh ref and resolves with its reply. */
  async request(frame, { timeout = this.options.requestTimeout } = {}) {
    await this.#whenReady();
    return this.#request(frame, { timeout });
  }

  /** Application-level round trip; resolves with the time in ms. */
  async ping() {
    const started = Date.now();
    await this.request({ type: 'ping' });
    return Date.now() - started;
  }

  /** Sets the presence of this user on every presence channel it is subscribed to. */
  setPresence(status, meta) {
    const request = { type: 'presence', status, ...(meta !== undefined ? { meta } : {}) };
    this.#presence.clear();
    this._rememberPresence('', request);
    return this._sendCounted(request);
  }

  /**
   * Admin only: the server's live figures, once a second, as 'stats' events
   * (docs/PROTOCOL.md, "Stats feed"). Kept across reconnects.
   */
  async subscribeStats() {
    this.#statsWanted = true;
    return this.request({ type: 'stats_subscribe' });
  }

  async unsubscribeStats() {
    this.#statsWanted = false;
    if (this.#ready) await this.request({ type: 'stats_unsubscribe' });
  }

  /** Forces a token refresh now (normally automatic before expiry). */
  async refreshToken() {
    const token = await this.#fetchToken();
    const reply = await this.request({ type: 'auth', token });
    this.#token = token;
    this.#authenticated(reply, false);
    return reply;
  }

  // ---- the connection

  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  _listenerFailed(name, error) {
    if (name === 'error') reportToConsole(name, error);
    else this._reportListenerError(listenerError(name, error));
  }

  _reportListenerError(error) {
    if (this.hasListeners('error')) this.emit('error', error);
    else reportToConsole(error.listener.event, error.cause);
  }

  async #fetchToken() {
    const { token } = this.options;
    return typeof token === 'function' ? await token() : token;
  }

  // An error thrown by the token provider: UnauthorizedError (or any error
  // whose code is 'unauthorized') stops the client; others are retried.
  #providerFailed(error) {
    if (error?.code === 'unauthorized') {
      const final = error instanceof RealtimeError ? error : new RealtimeError('unauthorized', String(error?.message ?? error));
      this.emit('error', final);
      const ws = this.#ws;
      this.#stop(final);
      try {
        ws?.close(1000, 'unauthorized');
      } catch {
        // already closed
      }
      return true;
    }
    this.emit('error', new RealtimeError('token_provider', `the token provider failed: ${error?.message ?? error}`));
    return false;
  }

  async #open() {
    this.#setState(this.#everConnected || this.#attempt > 0 ? 'reconnecting' : 'connecting');
    const generation = ++this.#generation;
    let token;
    try {
      token = await this.#fetchToken();
    } catch (error) {
      if (generation !== this.#generation || this.#closedByUser) return;
      if (!this.#providerFailed(error)) this.#scheduleReconnect();
      return;
    }
    if (generation !== this.#generation || this.#closedByUser) return;
    let ws;
    try {
      ws = new this.WebSocket(this.options.url);
    } catch (error) {
      this.emit('error', new RealtimeError('connect_failed', String(error?.message ?? error)));
      this.#scheduleReconnect();
      return;
    }
    this.#ws = ws;
    this.#token = token;
    this.#lastFrameAt = Date.now();
    // The clock starts with the socket, not at open: a connection that
    // stalls in the TCP connect or the opening handshake (a half-open path,
    // a proxy that accepted and went quiet) never opens, and nothing else
    // would ever give up on it.
    this.#timers.auth = setTimeout(() => this.#abandon(4001, 'no auth_ok in time'), this.options.authTimeout);
    ws.onopen = () => {
      if (generation !== this.#generation) return;
      this.#setState('authenticating');
      this.#rawSend({ type: 'auth', token, ...(this.options.batch ? { batch: true } : {}), ref: 'auth' });
    };
    ws.onmessage = (message) => {
      if (generation !== this.#generation) return;
      this.#heardFromServer();
      let events;
      try {
        events = parseFrame(typeof message.data === 'string' ? message.data : new TextDecoder().decode(message.data));
      } catch (error) {
        this.emit('error', new RealtimeError('bad_frame', `unreadable frame: ${error.message}`));
        return;
      }
      for (const event of events) this.#onEvent(event);
    };
    ws.onerror = () => {
      // A close always follows; the close decides what happens.
    };
    ws.onclose = (event) => {
      if (generation !== this.#generation) return;
      this.#onClose(event.code, event.reason);
    };
    // The `ws` package (Node) can send WebSocket pings, which the server
    // answers without counting them as the user's activity.
    if (typeof ws.ping === 'function' && typeof ws.on === 'function') {
      ws.on('pong', () => {
        if (generation === this.#generation) this.#heardFromServer();
      });
    }
  }

  // Any frame (or WebSocket pong) from the server: the connection is alive.
  #heardFromServer() {
    this.#lastFrameAt = Date.now();
    if (this.#timers.pong) {
      clearTimeout(this.#timers.pong);
      this.#timers.pong = null;
      if (this.#ready) this.#schedulePing();
    }
  }

  // Gives up on the current socket at once (no close handshake wait).
  #abandon(code, reason) {
    const ws = this.#ws;
    this.#generation += 1;
    try {
      ws?.close();
    } catch {
      // ignore
    }
    this.#onClose(code === 4001 ? 4001 : 1006, reason);
  }

  #detach() {
    this.#generation += 1;
    this.#ws = null;
    this.#ready = false;
  }

  // Ends the client for good (close(), an admin's kick, a refused token, a
  // provider's UnauthorizedError): everything pending rejects with `error`.
  #stop(error) {
    this.#closedByUser = true;
    this.#detach();
    this.#clearTimers();
    this.#failPending(error);
    for (const send of this.#sends.values()) {
      clearTimeout(send.timer);
      send.reject(error);
    }
    this.#sends.clear();
    for (const waiter of this.#connectWaiters.splice(0)) waiter.reject(error);
    for (const channel of this.#channels.values()) {
      if (channel.state !== 'unsubscribed' || channel._rejectSubscribe) {
        const wanted = channel.wanted;
        channel._ended('disconnected', error);
        // A later connect() resubscribes what the application had asked for.
        channel.wanted = wanted;
      }
    }
    for (const unlisten of this.#unlisten.splice(0)) unlisten();
    this.#setState('closed');
  }

  #onClose(code, reason) {
    const wasReady = this.#ready;
    this.#detach();
    this.#clearTimers();
    this.#failPending(new RealtimeError('connection_lost', `the connection closed (${code})`));
    for (const channel of this.#channels.values()) channel._disconnected();
    for (const send of this.#sends.values()) {
      clearTimeout(send.timer); // the ack timer counts only while connected
      send.timer = null;
      if (send.state === 'inflight' && !send.resend) {
        // The application asked not to resend: it decides.
        this.#sends.delete(send.ref);
        send.reject(new RealtimeError('connection_lost', 'the connection closed before the ack; the message may or may not have been stored'));
      }
    }
    // Only an established connection is reported; failed attempts are 'reconnecting'.
    if (wasReady) this.emit('disconnected', { code, reason });
    if (this.#closedByUser) {
      this.#setState('closed');
      return;
    }
    if (code === 4000) {
      // An administrator disconnected this client: reconnecting would undo it.
      this.#stop(new RealtimeError('disconnected', `disconnected by an administrator (${reason || 4000})`));
      return;
    }
    if (!this.options.reconnect) {
      this.#stop(new RealtimeError('closed', `the connection closed (${code}) and reconnect is off`));
      return;
    }
    // 4008 (too many connections, or a flood): retrying at once would be
    // refused again; start the backoff a few steps further.
    if (code === 4008) this.#attempt = Math.max(this.#attempt, kLimitBackoffSteps);
    this.#scheduleReconnect();
  }

  #scheduleReconnect() {
    const { minReconnectDelay, maxReconnectDelay, reconnectFactor } = this.options;
    const ceiling = Math.min(maxReconnectDelay, minReconnectDelay * reconnectFactor ** this.#attempt);
    // "Equal jitter": half fixed, half random, so clients spread out but
    // never retry at once.
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    this.#attempt += 1;
    this.#setState('reconnecting');
    this.emit('reconnecting', { attempt: this.#attempt, delay });
    clearTimeout(this.#timers.reconnect);
    this.#timers.reconnect = setTimeout(() => {
      this.#timers.reconnect = null;
      this.#open();
    }, delay);
  }

  // The network is back, the page is visible again, or the application
  // called connect(): a reconnect waiting for its backoff goes now, and a
  // connection that looks open is checked.
  #reconnectNow() {
    if (this.#closedByUser) return;
    if (this.#ready) {
      this.#probe();
      return;
    }
    if (!this.#timers.reconnect) return; // an attempt is already under way
    clearTimeout(this.#timers.reconnect);
    this.#timers.reconnect = null;
    this.#attempt = 0;
    this.#open();
  }

  // Browsers: reconnect at once when the network comes back, and check the
  // connection when it goes away or when the page is shown after a long hide.
  #listenToEnvironment() {
    if (this.#unlisten.length > 0) return;
    const listen = (target, name, listener) => {
      if (typeof target?.addEventListener !== 'function') return;
      target.addEventListener(name, listener);
      this.#unlisten.push(() => target.removeEventListener(name, listener));
    };
    const network = this.options.networkEvents ?? globalThis.window;
    const page = this.options.visibilityEvents ?? globalThis.document;
    listen(network, 'online', () => this.#reconnectNow());
    listen(network, 'offline', () => {
      if (this.#ready) this.#probe();
    });
    listen(page, 'visibilitychange', () => {
      if (page.visibilityState === 'hidden') {
        this.#hiddenAt = Date.now();
        return;
      }
      const hiddenFor = this.#hiddenAt == null ? 0 : Date.now() - this.#hiddenAt;
      this.#hiddenAt = null;
      if (hiddenFor >= (this.options.pingInterval || kDefaults.pingInterval)) this.#reconnectNow();
    });
  }

  #clearTimers() {
    for (const [name, timer] of Object.entries(this.#timers)) {
      clearTimeout(timer);
      this.#timers[name] = null;
    }
  }

  #failPending(error) {
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#pending.clear();
  }

  #authInfo() {
    return { userId: this.userId, connectionId: this.connectionId, expiresAt: this.expiresAt };
  }

  #authenticated(reply, first) {
    this.userId = reply.user_id;
    this.connectionId = reply.connection_id;
    this.expiresAt = reply.expires_at ? Date.parse(reply.expires_at) : null;
    this.emit('token', { expiresAt: this.expiresAt });
    this.#scheduleRefresh(0);
    if (first) this.#schedulePing();
  }

  // One refresh per token: `refreshMargin` before exp, but not before
  // half-way through a token shorter than that, and never sooner than
  // kRefreshFloor. `retry` > 0 after a failed refresh or a provider that
  // returned the token in use: the wait doubles (from kRefreshFloor).
  #scheduleRefresh(retry) {
    clearTimeout(this.#timers.refresh);
    this.#timers.refresh = null;
    if (this.expiresAt == null || typeof this.options.token !== 'function') return;
    const remaining = this.expiresAt - Date.now();
    const delay = retry > 0
      ? Math.min(kRefreshFloor * 2 ** (retry - 1), kRefreshMaxRetryDelay)
      : Math.max(remaining - this.options.refreshMargin, remaining / 2, kRefreshFloor);
    this.#timers.refresh = setTimeout(() => {
      this.#timers.refresh = null;
      this.#refresh(retry);
    }, delay);
  }

  async #refresh(retry) {
    const generation = this.#generation;
    let token;
    try {
      token = await this.#fetchToken();
    } catch (error) {
      if (this.#closedByUser || generation !== this.#generation) return;
      if (!this.#providerFailed(error)) this.#scheduleRefresh(retry + 1);
      return;
    }
    if (this.#closedByUser || generation !== this.#generation) return;
    if (token === this.#token) {
      // The provider still returns the token in use (a cache): ask again
      // later. Past exp the server closes with 4001 and the reconnect asks
      // the provider again.
      this.#scheduleRefresh(retry + 1);
      return;
    }
    try {
      const reply = await this.#request({ type: 'auth', token });
      if (this.#closedByUser || generation !== this.#generation) return;
      this.#token = token;
      this.#authenticated(reply, false);
    } catch (error) {
      if (this.#closedByUser || generation !== this.#generation) return; // the reconnect fetches a new token
      this.emit('error', error);
      this.#scheduleRefresh(retry + 1);
    }
  }

  // ---- liveness

  // Nodes's `ws` pings with WebSocket pings; browsers, which cannot, with
  // the protocol's `ping`, which the server counts as activity: those stop
  // once the application has been idle for `idlePingCutoff`, so the
  // server's automatic away still happens.
  #wantsAppPings() {
    return !(typeof this.#ws?.ping === 'function' && typeof this.#ws?.on === 'function');
  }

  // The application acted: pings stopped by idlePingCutoff start again.
  #noteAction() {
    this.#lastActionAt = Date.now();
    if (this.#ready && !this.#timers.ping && !this.#timers.pong) this.#schedulePing();
  }

  // When nothing has come from the server for `pingInterval`, probe; no
  // answer (any frame) within `pongTimeout` and the connection is dropped.
  #schedulePing() {
    const { pingInterval } = this.options;
    if (!pingInterval) return;
    clearTimeout(this.#timers.ping);
    this.#timers.ping = setTimeout(() => {
      this.#timers.ping = null;
      if (!this.#ws) return;
      const idle = Date.now() - this.#lastFrameAt;
      if (idle < pingInterval) {
        this.#schedulePing();
        return;
      }
      if (this.#wantsAppPings() && Date.now() - this.#lastActionAt > this.options.idlePingCutoff) return; // active() restarts it
      this.#probe();
    }, Math.max(100, pingInterval - (Date.now() - this.#lastFrameAt)));
  }

  // Asks the server for a sign of life now (a ping); the connection is
  // dropped when nothing comes back within `pongTimeout`.
  #probe() {
    if (!this.#ws || this.#timers.pong) return;
    this.#timers.pong = setTimeout(() => {
      this.#timers.pong = null;
      this.#abandon(1006, 'no pong in time');
    }, this.options.pongTimeout);
    if (!this.#wantsAppPings()) {
      try {
        this.#ws.ping();
      } catch {
        // closing: the close decides
      }
      return;
    }
    const ref = this.#nextRef();
    this.#pending.set(ref, { resolve: () => {}, reject: () => {}, parts: {}, timer: null });
    this.#rawSend({ type: 'ping', ref });
  }

  // After auth_ok on a new socket: resubscribe, settle or resend the sends
  // in flight, flush the queue; then the client is ready.
  async #resume(reply) {
    const generation = this.#generation;
    const resumed = this.#everConnected;
    this.#attempt = 0;
    this.#authenticated(reply, true);
    const channels = [...this.#channels.values()].filter((channel) => channel.wanted);
    const requests = channels.map((channel) => this.#subscribeRequest(channel, true));
    this.#flushDeferred();
    const results = await Promise.all(requests);
    if (generation !== this.#generation) return;
    for (const result of results) {
      await this.#finishSubscribe(result, resumed);
      if (generation !== this.#generation) return;
    }
    this.#settleInFlight();
    // Presence set by the application, and the stats feed, survive reconnects.
    for (const request of this.#presence.values()) this._sendCounted({ ...request });
    if (this.#statsWanted) this.#request({ type: 'stats_subscribe' }).catch(() => {});
    this.#ready = true;
    this.#everConnected = true;
    this.#setState('connected');
    this.emit('connected', { ...this.#authInfo(), resumed });
    for (const waiter of this.#connectWaiters.splice(0)) waiter.resolve(this.#authInfo());
    this.#flushSends();
  }

  // The subscribe of `channel`: with `since` = the newest seq it saw (the
  // replay comes as a `history` event and is delivered as messages; live
  // messages are held until then), else with the `history` asked for.
  // `defer`: sent with the others by #flushDeferred. Never rejects.
  #subscribeRequest(channel, defer) {
    channel._subscribing('subscribe');
    const since = channel.lastSeq;
    const history = since == null ? channel.options.history : null;
    if (since != null) channel._hold();
    const frame = { type: 'subscribe', channel: channel.name, ...(since != null ? { since } : history ? { history } : {}) };
    const final = since != null || history ? 'history' : 'subscribed';
    return this.#request(frame, { final, defer, channel })
      .then((parts) => ({ channel, parts, since }), (error) => ({ channel, error }));
  }

  // Applies a subscribe's reply and settles the channel's subscribe().
  async #finishSubscribe({ channel, parts, since, error }, resumed) {
    if (error) {
      channel._release();
      if (error.code === 'connection_lost') return; // resubscribed by #resume
      channel.emit('error', error);
      channel._ended(error.code === 'not_found' ? 'not_found' : 'forbidden', error);
      return;
    }
    const generation = this.#generation;
    this.#bySlug.set(parts.subscribed.channel, channel);
    channel._subscribed(parts.subscribed, resumed);
    const messages = parts.history?.messages ?? [];
    let result = { seq: parts.subscribed.seq, unread: parts.subscribed.unread, messages: [], hasMore: false };
    if (since == null) {
      channel._markSeen(messages);
      result = { ...result, messages, hasMore: parts.history?.has_more ?? false };
    } else {
      for (const message of messages) channel._message({ type: 'message', channel: parts.subscribed.channel, ...message });
      if (parts.history?.has_more) await this.#catchUp(channel, parts.subscribed.seq);
      if (generation !== this.#generation) return;
      channel._release();
    }
    const resolve = channel._resolveSubscribe;
    channel._resolveSubscribe = channel._rejectSubscribe = null;
    resolve?.(result);
  }

  // More was missed than the `since` replay held (it is one page: at most
  // 1000 messages, and bounded in bytes): fetch the rest page by page,
  // forwards with `after`, up to `upTo`, the subscribe's seq (live messages
  // after it are delivered normally and deduplicated).
  // A page refused rate_limited (the user's history and read budget, or too
  // many of this connection's requests waiting for the database) is asked
  // again a second later, up to rateLimitRetries times in a row.
  async #catchUp(channel, upTo) {
    let refused = 0;
    while (channel.lastSeq < upTo) {
      let reply;
      try {
        reply = await this.#request({ type: 'history', channel: channel.name, limit: 1000, after: channel.lastSeq });
      } catch (error) {
        if (error?.code !== 'rate_limited' || ++refused > this.options.rateLimitRetries) throw error;
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      refused = 0;
      const fresh = reply.messages.filter((message) => message.seq > channel.lastSeq && message.seq <= upTo);
      for (const message of fresh) channel._message({ type: 'message', channel: reply.channel, ...message });
      if (fresh.length === 0 || !reply.has_more) break;
    }
  }

  // Sends that were written but not acked when the connection dropped: the
  // ones whose message came back (live before the drop, or in the replay)
  // are resolved with it; the others go out again. Sends to channels that are
  // not subscribed cannot be checked: they fail with connection_lost.
  #settleInFlight() {
    for (const [ref, send] of this.#sends) {
      if (send.state !== 'inflight') continue;
      const channel = send.channel;
      const own = channel.state === 'subscribed' ? channel._takeOwn(send.json, send.afterSeq, this.#acked) : null;
      if (own) {
        this.#sends.delete(ref);
        this.#acked.add(own.id);
        send.resolve({ id: own.id, seq: own.seq, channel: channel.slug, recovered: true });
      } else if (channel.state === 'subscribed') {
        send.state = 'queued';
      } else {
        this.#sends.delete(ref);
        send.reject(new RealtimeError('connection_lost', 'the connection closed before the ack; the message may or may not have been stored'));
      }
    }
  }

  #whenReady() {
    if (this.#ready) return Promise.resolve();
    if (this.state === 'closed' || this.#closedByUser) return Promise.reject(new RealtimeError('closed', 'the client is closed'));
    if (this.state === 'idle') this.connect().catch(() => {});
    return new Promise((resolve, reject) => this.#connectWaiters.push({ resolve, reject }));
  }

  #nextRef() {
    this.#ref += 1;
    return `r${this.#ref}`;
  }

  #deferred = [];

  // Sends `frame` with a new ref; resolves with the final reply (its parts
  // when `final` names a later event of the same ref).
  #request(frame, { timeout = this.options.requestTimeout, final = null, defer = false, channel = null } = {}) {
    const ref = this.#nextRef();
    return new Promise((resolve, reject) => {
      const pending = {
        resolve,
        reject,
        final,
        channel,
        parts: {},
        timer: setTimeout(() => {
          this.#pending.delete(ref);
          reject(new RealtimeError('timeout', `no reply to ${frame.type} within ${timeout} ms`));
        }, timeout),
      };
      this.#pending.set(ref, pending);
      if (defer) this.#deferred.push({ ...frame, ref });
      else this.#rawSend({ ...frame, ref });
    });
  }

  #flushDeferred() {
    const frames = this.#deferred.splice(0);
    for (let i = 0; i < frames.length; i += kMaxBatchRequests) {
      const chunk = frames.slice(i, i + kMaxBatchRequests);
      this.#rawSend(chunk.length === 1 ? chunk[0] : chunk);
    }
  }

  #rawSend(frame) {
    if (!this.#ws || this.#ws.readyState !== 1) return false;
    this.#ws.send(JSON.stringify(frame));
    return true;
  }

  // ---- events

  #onEvent(event) {
    this.emit('event', event);
    const pending = event.ref != null ? this.#pending.get(event.ref) : undefined;
    switch (event.type) {
      case 'auth_ok':
        clearTimeout(this.#timers.auth);
        if (event.ref === 'auth') {
          this.#resume(event).catch((error) => this.emit('error', error));
          return;
        }
        break;
      case 'error': {
        const error = new RealtimeError(event.code, event.message, event);
        if (event.ref === 'auth') {
          this.#authFailed(error);
          return;
        }
        const send = event.ref != null ? this.#sends.get(event.ref) : undefined;
        if (send) {
          this.#sendFailed(event.ref, send, error);
          return;
        }
        if (pending) {
          clearTimeout(pending.timer);
          this.#pending.delete(event.ref);
          pending.reject(error);
          return;
        }
        this.emit('error', error);
        return;
      }
      case 'ack': {
        const send = this.#sends.get(event.ref);
        if (send) {
          clearTimeout(send.timer);
          this.#sends.delete(event.ref);
          this.#acked.add(event.id);
          send.resolve({ id: event.id, seq: event.seq, channel: event.channel });
        }
        return;
      }
      case 'message': {
        this.#bySlug.get(event.channel)?._live(event);
        return;
      }
      case 'typing':
        this.#bySlug.get(event.channel)?._typing(event);
        return;
      case 'presence_state':
      case 'presence_join':
      case 'presence_update':
      case 'presence_leave':
        this.#bySlug.get(event.channel)?._presence(event);
        if (pending) pending.parts.presence = event;
        return;
      case 'broadcast':
        if (this.#broadcasts.has(event.id)) return; // a system announcement replayed on auth
        this.#broadcasts.add(event.id);
        if (event.channel) this.#bySlug.get(event.channel)?.emit('broadcast', event);
        this.emit('broadcast', event);
        return;
      case 'channel_deleted':
        this.#bySlug.get(event.channel)?._deleted(event);
        return;
      case 'stats':
        this.emit('stats', event);
        return;
      default:
        break;
    }
    if (!pending) return;
    // Events name channels by slug: known from here on, before any live message.
    if (event.type === 'subscribed' && pending.channel) this.#bySlug.set(event.channel, pending.channel);
    pending.parts[event.type] = event;
    if (pending.final && pending.final !== event.type) return;
    clearTimeout(pending.timer);
    this.#pending.delete(event.ref);
    pending.resolve(pending.final ? pending.parts : event);
  }

  #authFailed(error) {
    this.emit('error', error);
    // A fixed token that is refused will never work (the server closes with
    // 4001 next); a provider may do better on the next attempt. A refusal
    // for a limit (too_many_connections, then close 4008) is retried.
    if (typeof this.options.token !== 'function' && kTokenRefusals.has(error.code)) {
      const ws = this.#ws;
      this.#stop(error);
      try {
        ws?.close(1000, 'token refused');
      } catch {
        // already closed
      }
    }
  }

  // ---- subscriptions and sends (called by Channel)

  _subscribe(channel, options) {
    return new Promise((resolve, reject) => {
      channel._resolveSubscribe = resolve;
      channel._rejectSubscribe = reject;
      if (this.#closedByUser && this.state === 'closed') {
        channel._ended('disconnected', new RealtimeError('closed', 'the client is closed'));
        return;
      }
      if (!this.#ready) {
        // Subscribed by #resume once connected.
        channel._subscribing('subscribe');
        if (this.state === 'idle') this.connect().catch(() => {});
        return;
      }
      this.#subscribeRequest(channel, false).then((result) => this.#finishSubscribe(result, false));
    });
  }

  _send(channel, content, { timeout = this.options.ackTimeout, resend = true } = {}) {
    this.#noteAction();
    if (content === undefined || content === null) {
      return Promise.reject(new RealtimeError('bad_request', 'content must be a JSON value other than null'));
    }
    if (this.#closedByUser) return Promise.reject(new RealtimeError('closed', 'the client is closed'));
    let queued = 0;
    for (const send of this.#sends.values()) if (send.state === 'queued') queued += 1;
    if (queued >= this.options.maxQueue) {
      return Promise.reject(new RealtimeError('queue_full', `${queued} sends are already waiting`));
    }
    return new Promise((resolve, reject) => {
      const ref = this.#nextRef();
      this.#sends.set(ref, {
        ref, channel, content, json: JSON.stringify(content), timeout, resend, resolve, reject,
        state: 'queued', timer: null, retries: 0, probed: false,
      });
      if (this.state === 'idle') this.connect().catch(() => {});
      this.#flushSends();
    });
  }

  // Writes queued sends in order, several per frame (at most 100), within the
  // client-side rate; what the rate holds back goes out a little later.
  #flushSends() {
    if (!this.#ready) return;
    const frames = [];
    let waitMs = 0;
    for (const send of this.#sends.values()) {
      if (send.state !== 'queued') continue;
      const now = Date.now();
      if (send.notBefore && send.notBefore > now) {
        waitMs = Math.max(waitMs, send.notBefore - now);
        break; // keep the order: nothing overtakes a send waiting for a retry
      }
      if (this.#bucket && !this.#bucket.take()) {
        // At least 1 ms: wait() refills again, and a token that became due
        // between take() and wait() would make it 0, leaving the queue with
        // no timer to flush it (a send stalled for good: node.sdk_pacing,
        // about once in many runs).
        waitMs = Math.max(1, this.#bucket.wait());
        break;
      }
      send.state = 'inflight';
      send.probed = false;
      send.afterSeq = send.channel.lastSeq;
      send.timer = setTimeout(() => this.#sendTimedOut(send), send.timeout);
      frames.push({ type: 'message', channel: send.channel.name, content: send.content, ref: send.ref });
    }
    for (let i = 0; i < frames.length; i += kMaxBatchRequests) {
      const chunk = frames.slice(i, i + kMaxBatchRequests);
      this.#rawSend(chunk.length === 1 ? chunk[0] : chunk);
    }
    if (waitMs > 0 && !this.#timers.flush) {
      this.#timers.flush = setTimeout(() => {
        this.#timers.flush = null;
        this.#flushSends();
      }, waitMs);
    }
  }

  // No ack in time: first make sure the connection is alive (a probe; a
  // dead one is dropped, and the send goes out again after the reconnect
  // under the same ref); a live server that does not ack fails the send.
  #sendTimedOut(send) {
    if (!this.#sends.has(send.ref)) return;
    if (!send.probed && send.resend && this.options.pingInterval) {
      send.probed = true;
      this.#probe();
      send.timer = setTimeout(() => this.#sendTimedOut(send), this.options.pongTimeout + 100);
      return;
    }
    this.#sends.delete(send.ref);
    send.reject(new RealtimeError('timeout', `no ack within ${send.timeout} ms`));
  }

  #sendFailed(ref, send, error) {
    clearTimeout(send.timer);
    if (error.code === 'rate_limited' && send.retries < this.options.rateLimitRetries) {
      // Dropped by the server, not stored: try again a second later.
      send.retries += 1;
      send.state = 'queued';
      send.notBefore = Date.now() + 1000;
      this.#flushSends();
      return;
    }
    this.#sends.delete(ref);
    send.reject(error);
  }

  // Typing and presence: sent now within the rate, or dropped (false).
  _sendCounted(frame) {
    this.#noteAction();
    if (!this.#ready) return false;
    if (this.#bucket && !this.#bucket.take()) return false;
    return this.#rawSend(frame);
  }

  _sendNow(frame) {
    return this.#ready ? this.#rawSend(frame) : false;
  }

  _rememberPresence(key, request) {
    this.#presence.set(key, request);
  }
}

export default RealtimeClient;
