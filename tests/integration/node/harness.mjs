// Test harness for driving the real `nself` binary and talking to it with
// Node's `ws`: a throwaway project directory, JWTs, and a client that can
// await the next event of a kind.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import WebSocket from 'ws';

const run = promisify(execFile);
export const NSELF = process.env.NSELF_BINARY;
if (!NSELF) throw new Error('NSELF_BINARY is not set (run through ctest)');

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const base64url = (data) => Buffer.from(data).toString('base64url');

// An HS256 JWT for `claims` (sub, exp...).
export function signToken(secret, claims) {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify(claims));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

// The environment for the binary: ours without the project's variables.
function childEnv(extra) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(WEBSOCKET_|REALTIME_|HASURA_|DATABASE_URL$|REDIS_URL$)/.test(key)) continue;
    env[key] = value;
  }
  // NSELF_TEST_ENGINE=lock|shards: every server on that engine (REALTIME_ENGINE; default shards).
  const engine = process.env.NSELF_TEST_ENGINE ? { REALTIME_ENGINE: process.env.NSELF_TEST_ENGINE } : {};
  return { ...env, ...engine, ...extra };
}

// Creates a PostgreSQL database for one test in the server the harness started.
export async function createPostgresDatabase() {
  const server = process.env.NSELF_TEST_POSTGRES_URL;
  if (!server) return null;
  const name = `nself_node_${randomBytes(6).toString('hex')}`;
  await run('psql', [server, '-qc', `CREATE DATABASE ${name}`]);
  const url = server.replace(/\/[^/?]*(\?|$)/, `/${name}$1`);
  return {
    url,
    async drop() {
      await run('psql', [server, '-qc', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
    },
  };
}

// Runs `body(url)` on a fresh PostgreSQL database, dropped after. Without
// the harness's server the test is skipped (failed when
// NSELF_TEST_REQUIRE_SERVICES=1, as scripts/test-env.sh sets).
export async function withPostgresDatabase(t, body) {
  const database = await createPostgresDatabase();
  if (!database) {
    if (process.env.NSELF_TEST_REQUIRE_SERVICES === '1') assert.fail('NSELF_TEST_POSTGRES_URL is not set');
    t.skip('no PostgreSQL server');
    return;
  }
  try {
    await body(database.url);
  } finally {
    await database.drop();
  }
}

// A project directory with its own .env and a server on a free port.
export class Project {
  static async create({ databaseUrl = null, env = {} } = {}) {
    const project = new Project();
    project.dir = mkdtempSync(join(tmpdir(), 'nself-node-'));
    project.port = await freePort();
    project.secret = randomBytes(16).toString('hex');
    project.env = { ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}), ...env };
    writeFileSync(
      join(project.dir, '.env'),
      `WEBSOCKET_HOST=127.0.0.1\nWEBSOCKET_PORT=${project.port}\nREALTIME_JWT_SECRET=${project.secret}\n`,
    );
    return project;
  }

  // Runs `nself realtime <args>`; resolves with {code, stdout, stderr}.
  realtime(args, { timeout = 30000 } = {}) {
    return new Promise((resolve) => {
      execFile(
        NSELF,
        ['realtime', ...args],
        { cwd: this.dir, env: childEnv(this.env), timeout },
        (error, stdout, stderr) => resolve({ code: error ? (error.code ?? -1) : 0, stdout, stderr }),
      );
    });
  }

  async mustRealtime(args) {
    const result = await this.realtime(args);
    if (result.code !== 0) {
      throw new Error(`nself realtime ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    }
    return result;
  }

  token(sub, extra = {}) {
    return signToken(this.secret, { sub, exp: Math.floor(Date.now() / 1000) + 3600, ...extra });
  }

  url(query = '') {
    return `ws://127.0.0.1:${this.port}/${query}`;
  }

  async cleanup() {
    await this.realtime(['stop']);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// A WebSocket client that queues every event and lets a test await the next
// one of a given type (failing after a timeout instead of hanging).
export class Client {
  static connect(url, options = {}) {
    return new Promise((resolve, reject) => {
      const client = new Client();
      client.ws = new WebSocket(url, options);
      client.events = [];
      client.waiters = [];
      client.closed = new Promise((resolveClosed) => {
        client.ws.on('close', (code, reason) => resolveClosed({ code, reason: reason.toString() }));
      });
      client.ws.on('message', (data) => {
        const event = JSON.parse(data.toString());
        client.events.push(event);
        client.#wake();
      });
      client.ws.once('open', () => resolve(client));
      client.ws.once('error', reject);
      client.ws.once('unexpected-response', (request, response) =>
        reject(new Error(`HTTP ${response.statusCode}`)),
      );
    });
  }

  send(object) {
    this.ws.send(JSON.stringify(object));
  }

  #wake() {
    for (const waiter of [...this.waiters]) {
      const index = this.events.findIndex(waiter.match);
      if (index >= 0) {
        const [event] = this.events.splice(index, 1);
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        clearTimeout(waiter.timer);
        waiter.resolve(event);
      }
    }
  }

  // The next event matching `match` (a type name or a predicate).
  next(match, timeoutMs = 5000) {
    const predicate = typeof match === 'string' ? (event) => event.type === match : match;
    const index = this.events.findIndex(predicate);
    if (index >= 0) return Promise.resolve(this.events.splice(index, 1)[0]);
    return new Promise((resolve, reject) => {
      const waiter = { match: predicate, resolve };
      waiter.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no ${typeof match === 'string' ? match : 'matching'} event within ${timeoutMs} ms; got ${JSON.stringify(this.events.slice(-5))}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  close() {
    this.ws.close();
    return this.closed;
  }
}

// Every message of a channel through paged history requests, oldest first.
export async function fullHistory(client, channel) {
  const messages = [];
  let before;
  for (;;) {
    const ref = `h${messages.length}`;
    client.send({ type: 'history', channel, limit: 1000, ...(before ? { before } : {}), ref });
    const page = await client.next((event) => event.type === 'history' && event.ref === ref, 15000);
    messages.unshift(...page.messages);
    if (!page.has_more || page.messages.length === 0) return messages;
    before = page.messages[0].seq;
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
