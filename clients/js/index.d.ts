// Types of @nself/realtime-client (realtime-client.js). Wire formats are in
// docs/PROTOCOL.md. Checked by tests/integration/node/sdk_types (tsc, strict):
// a misspelled event name or a listener of the wrong shape does not compile.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A message's content: any JSON value but null. */
export type Content = Exclude<JsonValue, null>;

export type TokenSource = string | (() => string | Promise<string>);

/** An EventTarget-like object: `window` (online/offline) or `document` (visibilitychange). */
export interface EventSource {
  addEventListener(name: string, listener: () => void): void;
  removeEventListener(name: string, listener: () => void): void;
  visibilityState?: string;
}

export interface ClientOptions {
  /** ws://host:port/ or wss://... */
  url: string;
  /**
   * A JWT, or a function returning one (called on every connect and refresh).
   * The function may throw an UnauthorizedError to stop the client for good.
   */
  token: TokenSource;
  /** A WebSocket constructor (Node 20: `import WebSocket from 'ws'`); the global one by default. */
  WebSocket?: unknown;
  /** Ask the server for batched frames ("batch": true in auth). Default false. */
  batch?: boolean;
  /** Reconnect after unexpected closes. Default true. */
  reconnect?: boolean;
  /** First reconnect delay in ms (500); doubles (reconnectFactor) up to maxReconnectDelay (30000), with jitter. */
  minReconnectDelay?: number;
  maxReconnectDelay?: number;
  reconnectFactor?: number;
  /** ms to wait for a send's ack while connected (10000); then the connection is probed first. */
  ackTimeout?: number;
  /** ms to wait for other replies (15000). */
  requestTimeout?: number;
  /** ms from creating the socket to auth_ok (TCP connect, opening handshake, auth) before it is dropped and retried (10000). */
  authTimeout?: number;
  /** Refresh a provider's token this many ms before exp (60000; not before half-way through it). */
  refreshMargin?: number;
  /** ms without any frame before a ping (10000); 0: no pings. */
  pingInterval?: number;
  /** ms to wait for an answer to a ping before the connection is treated as lost (pingInterval). */
  pongTimeout?: number;
  /** Browsers: protocol pings stop after this many ms without the application's own action (240000). */
  idlePingCutoff?: number;
  /** Where 'online'/'offline' come from (`window` by default). */
  networkEvents?: EventSource;
  /** Where 'visibilitychange' comes from (`document` by default). */
  visibilityEvents?: EventSource;
  /** Minimum ms between two typing:true of a channel (3000). */
  typingInterval?: number;
  /** Most sends kept while offline (1000); more reject with 'queue_full'. */
  maxQueue?: number;
  /** Client-side pacing of message/typing/presence ({perSecond: 9, burst: 5}, under the server's 10/s); false: none. */
  rateLimit?: { perSecond: number; burst?: number } | false;
  /** Retries (a second apart) of a send, or of a catch-up history page, refused with rate_limited (5). */
  rateLimitRetries?: number;
}

export type ClientState = 'idle' | 'connecting' | 'authenticating' | 'connected' | 'reconnecting' | 'closed';

/** The server's error codes (docs/PROTOCOL.md) and the client's own. */
export type ErrorCode =
  | 'bad_request' | 'unauthenticated' | 'invalid_token' | 'token_expired' | 'forbidden' | 'not_found'
  | 'rate_limited' | 'payload_too_large' | 'too_many_connections' | 'overloaded' | 'unavailable' | 'internal_error'
  | 'timeout' | 'closed' | 'disconnected' | 'queue_full' | 'connection_lost' | 'token_provider' | 'unauthorized'
  | 'bad_frame' | 'connect_failed' | 'listener_error';

export class RealtimeError extends Error {
  constructor(code: ErrorCode | (string & {}), message: string, event?: Record<string, unknown> | null);
  /** The server's error code, or a client one (timeout, closed, queue_full, connection_lost, ...). */
  code: ErrorCode | (string & {});
  event: Record<string, unknown> | null;
  /** For 'listener_error': which listener threw (the exception is `cause`). */
  listener?: { event: string; channel: string | null };
}

/** Thrown by a token provider to stop the client (the user logged out). */
export class UnauthorizedError extends RealtimeError {
  constructor(message?: string);
  code: 'unauthorized';
}

export interface StoredMessage<C extends {} = Content> {
  id: string;
  seq: number;
  user_id: string;
  content: C;
  created_at: string;
}

export interface MessageEvent<C extends {} = Content> extends StoredMessage<C> {
  type: 'message';
  channel: string;
}

export interface TypingEvent { type: 'typing'; channel: string; user_id: string; typing: boolean }

export interface PresenceMember {
  user_id: string;
  status?: 'online' | 'away';
  meta?: Record<string, JsonValue> | null;
  last_active?: string;
}

export interface PresenceChange {
  kind: 'state' | 'join' | 'update' | 'leave';
  member: PresenceMember | null;
  members: PresenceMember[];
  event: Record<string, unknown>;
}

export interface BroadcastEvent {
  type: 'broadcast';
  id: string;
  channel: string | null;
  event: string;
  payload: JsonValue;
  created_at: string;
  expires_at: string | null;
}

export interface StatsEvent {
  type: 'stats';
  at: string;
  uptime_seconds: number;
  connections: number;
  peak_connections: number;
  online_users: number;
  channels: number;
  subscriptions: number;
  messages_in: number;
  messages_out: number;
  messages_in_per_second: number;
  messages_out_per_second: number;
}

export interface Ack {
  id: string;
  seq: number;
  channel: string;
  /** True when the ack was lost with a connection and the message was found in the replay. */
  recovered?: boolean;
}

export interface SubscribeResult<C extends {} = Content> {
  /** The channel's newest seq when the subscription began. */
  seq: number;
  unread?: number;
  /** The `history` asked for, oldest first (not emitted as 'message'). */
  messages: StoredMessage<C>[];
  hasMore: boolean;
}

export interface SubscribeOptions {
  /** Also fetch the last N messages (1-1000), returned by subscribe(). */
  history?: number;
  /** Emit every message after this seq (saved before a page reload) as 'message'. Not with history. */
  since?: number;
}

export interface SendOptions {
  /** ms to wait for the ack while connected (ackTimeout). */
  timeout?: number;
  /** Resend after a reconnect when the ack was lost (true); false: reject with connection_lost. */
  resend?: boolean;
}

export interface AuthInfo { userId: string; connectionId: string; expiresAt: number | null }

export type ChannelState = 'unsubscribed' | 'subscribing' | 'subscribed';

export type UnsubscribeReason = 'deliberate' | 'disconnected' | 'forbidden' | 'not_found' | 'deleted';

type Unsubscribe = () => void;

declare class Emitter<Events extends { [K in keyof Events]: unknown[] }> {
  on<K extends keyof Events>(name: K, listener: (...args: Events[K]) => void): Unsubscribe;
  once<K extends keyof Events>(name: K, listener: (...args: Events[K]) => void): Unsubscribe;
  off<K extends keyof Events>(name: K, listener: (...args: Events[K]) => void): void;
}

export interface ChannelEvents<C extends {} = Content> {
  subscribing: [{ reason: 'subscribe' | 'reconnecting' }];
  subscribed: [{ seq: number; unread?: number; resumed: boolean }];
  unsubscribed: [{ reason: UnsubscribeReason; error: RealtimeError | null }];
  message: [MessageEvent<C>];
  typing: [TypingEvent];
  presence: [PresenceChange];
  broadcast: [BroadcastEvent];
  deleted: [Record<string, unknown>];
  error: [RealtimeError];
}

export class Channel<C extends {} = Content> extends Emitter<ChannelEvents<C>> {
  /** The name given to client.channel() (slug or UUID). */
  readonly name: string;
  /** The slug the server uses in events. */
  readonly slug: string;
  readonly state: ChannelState;
  /** The newest message seq seen; the `since` of the next resubscribe. */
  readonly lastSeq: number | null;
  readonly presence: Map<string, PresenceMember>;
  readonly typingUsers: Set<string>;
  readonly unread: number | undefined;
  subscribe(options?: SubscribeOptions): Promise<SubscribeResult<C>>;
  unsubscribe(): Promise<void>;
  send(content: C, options?: SendOptions): Promise<Ack>;
  /** Stored messages, oldest first: the newest `limit`; `before`: older than seq; `after`: the oldest newer than seq (not with before). One page, bounded in bytes too: follow hasMore. */
  history(options?: { limit?: number; before?: number; after?: number }): Promise<{ messages: StoredMessage<C>[]; hasMore: boolean }>;
  /** Returns whether a frame was sent (throttled, never queued). */
  typing(isTyping?: boolean): boolean;
  setPresence(status: 'online' | 'away', meta?: Record<string, JsonValue>): boolean;
  markRead(seq?: number): boolean;
}

export interface ClientEvents {
  state: [ClientState];
  connected: [AuthInfo & { resumed: boolean }];
  disconnected: [{ code: number; reason: string }];
  reconnecting: [{ attempt: number; delay: number }];
  token: [{ expiresAt: number | null }];
  broadcast: [BroadcastEvent];
  stats: [StatsEvent];
  error: [RealtimeError];
  event: [Record<string, unknown>];
}

export class RealtimeClient extends Emitter<ClientEvents> {
  constructor(options: ClientOptions);
  readonly options: Required<ClientOptions>;
  readonly state: ClientState;
  readonly userId: string | null;
  readonly connectionId: string | null;
  /** exp of the current token in ms since the epoch, or null. */
  readonly expiresAt: number | null;
  /** Authenticated and resubscribed. */
  readonly connected: boolean;
  /** Sends waiting to be written or acked. */
  readonly queuedSends: number;
  /** Resolves at the first auth_ok; while a reconnect waits for its backoff, tries at once. */
  connect(): Promise<AuthInfo>;
  /** One object per name; `C` types the content of its messages. */
  channel<C extends {} = Content>(name: string): Channel<C>;
  close(code?: number, reason?: string): void;
  /** The user is active (sends, typing and presence say so too). */
  active(): void;
  request(frame: Record<string, unknown>, options?: { timeout?: number }): Promise<Record<string, unknown>>;
  ping(): Promise<number>;
  setPresence(status: 'online' | 'away', meta?: Record<string, JsonValue>): boolean;
  refreshToken(): Promise<Record<string, unknown>>;
  /** Admin only: 'stats' events about once a second. */
  subscribeStats(): Promise<Record<string, unknown>>;
  unsubscribeStats(): Promise<void>;
}

/** The events of one text frame (one JSON value, or several separated by "\n"). */
export function parseFrame(text: string): Record<string, unknown>[];

export default RealtimeClient;
