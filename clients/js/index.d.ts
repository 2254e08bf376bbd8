// Types of @nself/realtime-client (realtime-client.js). Wire formats are in
// docs/PROTOCOL.md.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type TokenSource = string | (() => string | Promise<string>);

export interface ClientOptions {
  /** ws://host:port/ or wss://... */
  url: string;
  /** A JWT, or a function returning one (called on every connect and refresh). */
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
  /** ms to wait for a send's ack while connected (10000). */
  ackTimeout?: number;
  /** ms to wait for other replies (15000). */
  requestTimeout?: number;
  /** ms from open to auth_ok before the socket is dropped (10000). */
  authTimeout?: number;
  /** Refresh a provider's token this many ms before exp (60000; at the latest half-way). */
  refreshMargin?: number;
  /** ms without any frame before a ping (25000); 0: no pings. */
  pingInterval?: number;
  /** ms to wait for the pong before the connection is treated as lost (10000). */
  pongTimeout?: number;
  /** Minimum ms between two typing:true of a channel (3000). */
  typingInterval?: number;
  /** Most sends kept while offline (1000); more reject with 'queue_full'. */
  maxQueue?: number;
  /** Client-side pacing of message/typing/presence ({perSecond: 10, burst: 10}); false: none. */
  rateLimit?: { perSecond: number; burst?: number } | false;
  /** Retries (a second apart) of a send refused with rate_limited (5). */
  rateLimitRetries?: number;
}

export type ClientState = 'idle' | 'connecting' | 'authenticating' | 'connected' | 'reconnecting' | 'closed';

export class RealtimeError extends Error {
  /** The server's error code (bad_request, forbidden, not_found, rate_limited, ...) or a
   *  client one: timeout, closed, queue_full, connection_lost, token_provider, bad_frame. */
  code: string;
  event: Record<string, unknown> | null;
}

export interface MessageEvent {
  type: 'message';
  channel: string;
  id: string;
  seq: number;
  user_id: string;
  content: JsonValue;
  created_at: string;
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

export interface SubscribeResult {
  seq: number;
  unread?: number;
  /** The `history` asked for, oldest first (not emitted as 'message'). */
  messages: Omit<MessageEvent, 'type' | 'channel'>[];
  hasMore: boolean;
}

export interface AuthInfo { userId: string; connectionId: string; expiresAt: number | null }

type Unsubscribe = () => void;

declare class Emitter<Events extends Record<string, unknown[]>> {
  on<K extends keyof Events & string>(name: K, listener: (...args: Events[K]) => void): Unsubscribe;
  once<K extends keyof Events & string>(name: K, listener: (...args: Events[K]) => void): Unsubscribe;
  off<K extends keyof Events & string>(name: K, listener: (...args: Events[K]) => void): void;
}

export interface ChannelEvents extends Record<string, unknown[]> {
  message: [MessageEvent];
  typing: [TypingEvent];
  presence: [PresenceChange];
  broadcast: [BroadcastEvent];
  subscribed: [{ seq: number; unread?: number; resumed: boolean }];
  deleted: [Record<string, unknown>];
  error: [RealtimeError];
}

export class Channel extends Emitter<ChannelEvents> {
  /** The name given to client.channel() (slug or UUID). */
  readonly name: string;
  /** The slug the server uses in events. */
  readonly slug: string;
  readonly state: 'unsubscribed' | 'subscribing' | 'subscribed' | 'deleted';
  /** The newest message seq seen; the `since` of the next resubscribe. */
  readonly lastSeq: number | null;
  readonly presence: Map<string, PresenceMember>;
  readonly typingUsers: Set<string>;
  readonly unread: number | undefined;
  subscribe(options?: { history?: number }): Promise<SubscribeResult>;
  unsubscribe(): Promise<void>;
  send(content: JsonValue, options?: { timeout?: number }): Promise<Ack>;
  history(options?: { limit?: number; before?: number }): Promise<{ messages: SubscribeResult['messages']; hasMore: boolean }>;
  /** Returns whether a frame was sent (throttled, never queued). */
  typing(isTyping?: boolean): boolean;
  setPresence(status: 'online' | 'away', meta?: Record<string, JsonValue>): boolean;
  markRead(seq?: number): boolean;
}

export interface ClientEvents extends Record<string, unknown[]> {
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
  connect(): Promise<AuthInfo>;
  channel(name: string): Channel;
  close(code?: number, reason?: string): void;
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
