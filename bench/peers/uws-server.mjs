// uWebSockets.js peer (npm `uwebsockets` 3.0.6, a republish of its binaries):
// the JSON subset of common.mjs with uWS's native topic publish
// (app.publish: serialized and framed once for every subscriber of a topic).
// Usage: node uws-server.mjs --port P [--host 127.0.0.1]
import uWS from 'uwebsockets';
import {
  ackEvent, errorEvent, messageEvent, nextSeq, parseArgs, parseRequest, ready, subscribedEvent,
  tokenOf,
} from './common.mjs';

const options = parseArgs(process.argv);
const decoder = new TextDecoder();
let connections = 0;

const app = uWS.App();
app.ws('/*', {
  compression: uWS.DISABLED,
  maxPayloadLength: 1 << 20,
  idleTimeout: 0, // no idle close (nself's default keeps idle connections too)
  maxBackpressure: 64 << 20, // publish never drops for a slow subscriber in these runs
  upgrade: (res, req, context) => {
    if (tokenOf(req.getQuery()) === '') {
      res.writeStatus('401 Unauthorized').end();
      return;
    }
    res.upgrade(
      { user: `u${++connections}` },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  },
  open: (ws) => {
    ws.send('{"type":"auth_ok"}');
  },
  message: (ws, data, isBinary) => {
    const request = isBinary ? 'binary frame' : parseRequest(decoder.decode(data));
    if (typeof request === 'string') {
      ws.send(errorEvent(request));
      return;
    }
    if (request.type === 'subscribe') {
      ws.subscribe(request.channel);
      ws.send(subscribedEvent(request));
      return;
    }
    const seq = nextSeq(request.channel);
    app.publish(request.channel, messageEvent(request, ws.getUserData().user, seq));
    ws.send(ackEvent(request, seq));
  },
});
app.listen(options.host, options.port, (socket) => {
  if (!socket) {
    console.error(`uws peer: cannot listen on ${options.host}:${options.port}`);
    process.exit(1);
  }
  ready('uws', options);
});
