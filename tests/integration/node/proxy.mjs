// A TCP proxy between a client and the server that a test can cut: every
// open connection is destroyed at once (both sockets, no close frame: what a
// dropped network looks like to both ends), and new connections can be
// refused for a while (the network is down).
import { createServer, connect } from 'node:net';
import { freePort } from './harness.mjs';

export class CuttableProxy {
  static async start(targetPort) {
    const proxy = new CuttableProxy();
    proxy.targetPort = targetPort;
    proxy.port = await freePort();
    proxy.accepting = true;
    proxy.pairs = new Set();
    proxy.connections = 0; // accepted and forwarded, in total
    proxy.server = createServer((client) => proxy.#accept(client));
    await new Promise((resolve) => proxy.server.listen(proxy.port, '127.0.0.1', resolve));
    return proxy;
  }

  #accept(client) {
    if (!this.accepting) {
      client.destroy();
      return;
    }
    this.connections += 1;
    const upstream = connect(this.targetPort, '127.0.0.1');
    const pair = { client, upstream };
    this.pairs.add(pair);
    const drop = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  url(query = '') {
    return `ws://127.0.0.1:${this.port}/${query}`;
  }

  // Destroys every open connection; returns how many there were.
  cut() {
    const count = this.pairs.size;
    for (const { client, upstream } of [...this.pairs]) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
    return count;
  }

  // The network goes down (cut and refuse) or comes back.
  down() {
    this.accepting = false;
    this.cut();
  }

  up() {
    this.accepting = true;
  }

  get open() {
    return this.pairs.size;
  }

  close() {
    this.cut();
    return new Promise((resolve) => this.server.close(resolve));
  }
}
