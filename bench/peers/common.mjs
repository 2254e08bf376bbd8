// What the peer servers share: the command line and the subset of nself's
// JSON protocol that nself-bench speaks (docs/BENCHMARKS.md, "Peers"):
//   on open (the upgrade carries ?token=..., required non-empty, not verified):
//                                    -> {"type":"auth_ok"}
//   {"type":"subscribe","channel":C,"ref":R}
//                                    -> {"type":"subscribed","channel":C,"ref":R}
//   {"type":"message","channel":C,"content":X,"ref":R}
//                                    -> every subscriber of C (the sender too):
//                                       {"type":"message","channel":C,"user_id":U,"seq":N,"content":X}
//                                    -> the sender: {"type":"ack","ref":R,"channel":C,"seq":N}
//   anything else                    -> {"type":"error","code":"bad_request",...}
// Each server serializes a message event once and hands it to its native
// publish (uWS topics, Socket.IO rooms) or, for ws, sends the same Buffer to
// every subscriber.

export function parseArgs(argv) {
  const options = { host: '127.0.0.1', port: 3200 };
  for (let i = 2; i < argv.length; ++i) {
    if (argv[i] === '--port') options.port = Number(argv[++i]);
    else if (argv[i] === '--host') options.host = argv[++i];
    else throw new Error(`unknown argument ${argv[i]} (usage: --host H --port P)`);
  }
  if (!Number.isInteger(options.port) || options.port <= 0 || options.port > 65535) {
    throw new Error('--port must be a TCP port');
  }
  return options;
}

// The token query parameter of a request target ("/?token=..."), '' if none.
export function tokenOf(query) {
  return new URLSearchParams(query).get('token') ?? '';
}

// The per-channel sequence numbers; the user id is the connection's number.
const seqs = new Map();
export function nextSeq(channel) {
  const seq = (seqs.get(channel) ?? 0) + 1;
  seqs.set(channel, seq);
  return seq;
}

export function errorEvent(message, ref) {
  return JSON.stringify({ type: 'error', code: 'bad_request', message, ref: ref ?? null });
}

// Parses one client request; returns an object with type 'subscribe' or
// 'message' and a string channel, or an error string.
export function parseRequest(text) {
  let request;
  try {
    request = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    return 'not an object';
  }
  if (request.type !== 'subscribe' && request.type !== 'message') return 'unknown type';
  if (typeof request.channel !== 'string' || request.channel === '') return 'channel required';
  if (request.type === 'message' && request.content === undefined) return 'content required';
  return request;
}

// The message event, serialized once.
export function messageEvent(request, userId, seq) {
  return JSON.stringify({
    type: 'message',
    channel: request.channel,
    user_id: userId,
    seq,
    content: request.content,
  });
}

export function ackEvent(request, seq) {
  return JSON.stringify({ type: 'ack', ref: request.ref ?? null, channel: request.channel, seq });
}

export function subscribedEvent(request) {
  return JSON.stringify({ type: 'subscribed', channel: request.channel, ref: request.ref ?? null });
}

export function ready(kind, options) {
  console.log(`${kind} peer listening on ${options.host}:${options.port} (pid ${process.pid})`);
}
