// Socket.IO peer (what nself shipped before): WebSocket transport only, the
// events of common.mjs as Socket.IO events whose single argument is the same
// JSON object ("42[\"message\",{\"type\":\"message\",...}]" on the wire),
// fan-out through rooms (io.to(channel).emit: the packet is encoded once for
// the room). nself-bench speaks engine.io v4 framing over its raw WebSocket
// (--target socketio: "40" to join the namespace, "3" to answer pings).
// Usage: node socketio-server.mjs --port P [--host 127.0.0.1]
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { errorEvent, nextSeq, parseArgs, ready } from './common.mjs';

const options = parseArgs(process.argv);
const http = createServer();
const io = new Server(http, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  maxHttpBufferSize: 1 << 20,
  pingInterval: 600_000, // the runs are shorter than this: no heartbeat traffic
  pingTimeout: 600_000,
});
let connections = 0;

io.use((socket, next) => {
  const token = socket.handshake.query.token ?? socket.handshake.auth?.token;
  next(typeof token === 'string' && token !== '' ? undefined : new Error('unauthorized'));
});

const valid = (request) =>
  request !== null && typeof request === 'object' && typeof request.channel === 'string' &&
  request.channel !== '';

io.on('connection', (socket) => {
  const user = `u${++connections}`;
  socket.on('subscribe', (request) => {
    if (!valid(request)) {
      socket.emit('error', JSON.parse(errorEvent('channel required')));
      return;
    }
    socket.join(request.channel);
    socket.emit('subscribed', { type: 'subscribed', channel: request.channel, ref: request.ref ?? null });
  });
  socket.on('message', (request) => {
    if (!valid(request) || request.content === undefined) {
      socket.emit('error', JSON.parse(errorEvent('channel and content required', request?.ref)));
      return;
    }
    const seq = nextSeq(request.channel);
    io.to(request.channel).emit('message', {
      type: 'message', channel: request.channel, user_id: user, seq, content: request.content,
    });
    socket.emit('ack', { type: 'ack', ref: request.ref ?? null, channel: request.channel, seq });
  });
  socket.emit('auth_ok', { type: 'auth_ok' });
});

http.on('error', (error) => {
  console.error(`socketio peer: ${error.message}`);
  process.exit(1);
});
http.listen({ host: options.host, port: options.port, backlog: 4096 }, () => ready('socketio', options));
