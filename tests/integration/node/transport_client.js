// External-client checks with Node's `ws` package, driven by
// tests/integration/server/external_clients_test.cpp:
//   node transport_client.js SCENARIO PORT
// Exits 0 when the scenario behaved as expected, 1 (with a reason on stderr)
// otherwise. Prints "open" on stdout once connected (the driver waits for it).
'use strict';
const WebSocket = require('ws');

const [scenario, port] = process.argv.slice(2);
const url = `ws://127.0.0.1:${port}/`;
const fail = (why) => { console.error(`${scenario}: ${why}`); process.exit(1); };
const pass = () => process.exit(0);
setTimeout(() => fail('timed out'), 10000).unref();

function open(path = '/') {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  ws.on('error', (error) => fail(`error: ${error.message}`));
  return ws;
}

function expectClose(ws, code, reason) {
  ws.on('close', (got, why) => {
    if (got !== code) fail(`close code ${got} (${why}), expected ${code}`);
    if (reason !== undefined && why.toString() !== reason) fail(`close reason "${why}"`);
    pass();
  });
}

const scenarios = {
  echo() {
    const ws = open();
    ws.on('open', () => ws.send('hello from node'));
    ws.on('message', (data, isBinary) => {
      if (isBinary || data.toString() !== 'hello from node') fail(`bad echo ${data}`);
      ws.close(1000, 'done');
    });
    expectClose(ws, 1000);
  },
  ping() {
    const ws = open();
    ws.on('open', () => ws.ping('node-ping'));
    ws.on('pong', (data) => {
      if (data.toString() !== 'node-ping') fail(`pong payload ${data}`);
      ws.close();
    });
    expectClose(ws, 1005);  // close() without a code: the server echoes an empty close
  },
  // The server is configured with ping_interval 200 ms and idle timeout 600 ms.
  // ws answers pings automatically, so the connection must stay open.
  'server-ping'() {
    const ws = open();
    let pings = 0;
    ws.on('ping', () => { pings += 1; });
    ws.on('close', (code) => fail(`closed with ${code} after ${pings} pings`));
    ws.on('open', () => setTimeout(() => {
      if (pings < 3) fail(`only ${pings} pings`);
      ws.send('alive');
    }, 1500));
    ws.on('message', (data) => {
      if (data.toString() !== 'alive') fail(`bad echo ${data}`);
      ws.removeAllListeners('close');
      expectClose(ws, 1000);
      ws.close(1000);
    });
  },
  // max_message_bytes is 1024.
  oversize() {
    const ws = open();
    ws.on('open', () => ws.send('x'.repeat(2000)));
    expectClose(ws, 1009);
  },
  'invalid-utf8'() {
    const ws = open();
    ws.on('open', () => ws.send(Buffer.from([0x68, 0xc3, 0x28]), { binary: false }));
    expectClose(ws, 1007);
  },
  pipelined() {
    const ws = open();
    const count = 2000;
    let next = 0;
    ws.on('open', () => { for (let i = 0; i < count; i += 1) ws.send(`m${i}`); });
    ws.on('message', (data) => {
      if (data.toString() !== `m${next}`) fail(`got ${data}, expected m${next}`);
      next += 1;
      if (next === count) ws.close(1000);
    });
    expectClose(ws, 1000);
  },
  stop() {
    const ws = open();
    ws.on('open', () => console.log('open'));
    expectClose(ws, 1001, 'server shutting down');
  },
  full() {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (request, response) => {
      if (response.statusCode !== 503) fail(`status ${response.statusCode}`);
      pass();
    });
    ws.on('open', () => fail('opened past max_connections'));
    ws.on('error', (error) => fail(`error: ${error.message}`));
  },
  'not-found'() {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/nope`);
    ws.on('unexpected-response', (request, response) => {
      if (response.statusCode !== 404) fail(`status ${response.statusCode}`);
      pass();
    });
    ws.on('open', () => fail('opened an unknown path'));
    ws.on('error', (error) => fail(`error: ${error.message}`));
  },
  // permessage-deflate is offered by ws by default and must be declined.
  'no-deflate'() {
    const ws = new WebSocket(url, { perMessageDeflate: true });
    ws.on('error', (error) => fail(`error: ${error.message}`));
    ws.on('open', () => {
      if (ws.extensions !== '') fail(`extensions negotiated: ${ws.extensions}`);
      ws.close(1000);
    });
    expectClose(ws, 1000);
  },
};

if (!scenarios[scenario]) fail('unknown scenario');
scenarios[scenario]();
