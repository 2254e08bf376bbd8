// A TCP proxy between a client and the server that a test can cut: every
// open connection is destroyed at once (both sockets, no close frame: what a
// dropped network looks like to both ends), and new connections can be
// refused for a while (the network is down). Faults for the SDK tests too: a
// stall (the sockets stay open but nothing passes: a half-open connection)
// and a reset (TCP RST to both ends), and a hold (the server's side is not
// read for a while: a slow consumer).
import { createServer, connect } from 'node:net';
import { freePort } from './harness.mjs';

export class CuttableProxy {
  static async start(targetPort) {
    const proxy = new CuttableProxy();
    proxy.targetPort = targetPort;
    proxy.port = await freePort();
    proxy.accepting = true;
    proxy.stallNew = false; // true: new connections are accepted and stalled at once
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
    if (this.stallNew) {
      // Stalled from the first byte: the opening handshake never completes.
      client.pause();
      upstream.pause();
      pair.stalled = true;
      return;
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  url(query = '') {
    return `ws://127.0.0.1:${this.port}/${query}`;
  }

  // The open connections that still forward (not stalled).
  #flowing() {
    return [...this.pairs].filter((pair) => !pair.stalled);
  }

  // Destroys every open connection (a stalled one stays stalled: the side
  // that notices drops it); returns how many there were.
  cut() {
    const pairs = this.#flowing();
    for (const pair of pairs) {
      this.pairs.delete(pair);
      pair.client.destroy();
      pair.upstream.destroy();
    }
    return pairs.length;
  }

  // The network goes down (cut and refuse) or comes back.
  down() {
    this.accepting = false;
    this.cut();
    this.dropStalled();
  }

  up() {
    this.accepting = true;
  }

  // Nothing passes any more on the open connections, which stay open (what
  // a NAT that forgot the connection looks like); returns how many.
  stall() {
    const pairs = this.#flowing();
    for (const pair of pairs) {
      pair.client.unpipe(pair.upstream);
      pair.upstream.unpipe(pair.client);
      pair.client.pause();
      pair.upstream.pause();
      pair.stalled = true;
    }
    return pairs.length;
  }

  // The server's side is no longer read on the open connections (what the
  // server sees of a client that stops reading: its writes back up) while
  // the client's frames still reach the server; release() reads again.
  // Returns how many.
  hold() {
    const pairs = this.#flowing().filter((pair) => !pair.held);
    for (const pair of pairs) {
      pair.upstream.unpipe(pair.client);
      pair.upstream.pause();
      pair.held = true;
    }
    return pairs.length;
  }

  release() {
    const pairs = [...this.pairs].filter((pair) => pair.held && !pair.stalled);
    for (const pair of pairs) {
      pair.held = false;
      pair.upstream.pipe(pair.client);
    }
    return pairs.length;
  }

  // Resets every open connection (RST to both ends); returns how many.
  reset() {
    const pairs = this.#flowing();
    for (const pair of pairs) {
      this.pairs.delete(pair);
      pair.client.resetAndDestroy();
      pair.upstream.resetAndDestroy();
    }
    return pairs.length;
  }

  // The stalled connections are closed (as the side that notices would).
  dropStalled() {
    for (const pair of [...this.pairs]) {
      if (!pair.stalled) continue;
      this.pairs.delete(pair);
      pair.client.destroy();
      pair.upstream.destroy();
    }
  }

  get open() {
    return this.pairs.size;
  }

  close() {
    this.cut();
    this.dropStalled();
    return new Promise((resolve) => this.server.close(resolve));
  }
}
