// Node `ws` peer: the JSON subset of common.mjs, as many users write it: a
// Map of channel -> Set of sockets; each message event is serialized once
// into one Buffer and sent to every subscriber.
// Usage: node ws-server.mjs --port P [--host 127.0.0.1]
import { WebSocketServer } from 'ws';
import {
  ackEvent, errorEvent, messageEvent, nextSeq, parseArgs, parseRequest, ready, subscribedEvent,
  tokenOf,
} from './common.mjs';

const options = parseArgs(process.argv);
const channels = new Map(); // channel -> Set<WebSocket>
let connections = 0;

const server = new WebSocketServer({
  host: options.host,
  port: options.port,
  backlog: 4096,
  perMessageDeflate: false,
  maxPayload: 1 << 20,
  clientTracking: false,
  verifyClient: (info) => tokenOf(info.req.url.split('?')[1] ?? '') !== '',
});

server.on('connection', (ws) => {
  const user = `u${++connections}`;
  const subscribed = new Set();
  ws.on('message', (data, isBinary) => {
    const request = isBinary ? 'binary frame' : parseRequest(data.toString());
    if (typeof request === 'string') {
      ws.send(errorEvent(request));
      return;
    }
    if (request.type === 'subscribe') {
      let members = channels.get(request.channel);
      if (!members) channels.set(request.channel, (members = new Set()));
      members.add(ws);
      subscribed.add(request.channel);
      ws.send(subscribedEvent(request));
      return;
    }
    const seq = nextSeq(request.channel);
    const event = Buffer.from(messageEvent(request, user, seq));
    const members = channels.get(request.channel);
    if (members) for (const member of members) member.send(event, { binary: false });
    ws.send(ackEvent(request, seq));
  });
  ws.on('close', () => {
    for (const channel of subscribed) {
      const members = channels.get(channel);
      members.delete(ws);
      if (members.size === 0) channels.delete(channel);
    }
  });
  ws.on('error', () => {});
  ws.send('{"type":"auth_ok"}');
});
server.on('listening', () => ready('ws', options));
server.on('error', (error) => {
  console.error(`ws peer: ${error.message}`);
  process.exit(1);
});
