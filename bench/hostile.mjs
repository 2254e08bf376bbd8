// Hostile load (issue 16 acceptance; docs/BENCHMARKS.md, "Hostile load"):
// real users keep connecting and chatting while an attacker runs one attack
// at full speed from another loopback address; the same users without an
// attacker are the baseline. Per phase it reports the real users' connect
// success rate and their ack latency (p50, p99, max).
//
// The attacks (issue 16's items):
//   1 admin-auth  pipelined /api requests with a wrong secret, keep-alive
//   2 unauth      WebSocket upgrades that never authenticate, reopened when closed
//   3 idle-tcp    idle TCP connections, reopened when closed, to run the
//                 server out of descriptors (its limit is lowered with prlimit)
//   5 reconnect   one user: connect, authenticate, send 10, close, at once again
//   6 store       history {limit:1000} and read requests, pipelined on 5 connections
//
// Usage: node bench/hostile.mjs [--seconds 15] [--users 4] [--rate 8]
//        [--attacks baseline,admin-auth,...] [--nofile 1024] [--per-ip 200]
// Environment: NSELF_BINARY (default build/release/nself).
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.env.NSELF_BINARY ??= join(root, 'build/release/nself');
const { Project, signToken, sleep } = await import(join(root, 'tests/integration/node/harness.mjs'));
const { default: WebSocket } = await import(join(root, 'tests/integration/node/node_modules/ws/index.js'));

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    users: { type: 'string', default: '4' },
    rate: { type: 'string', default: '8' }, // messages per second per real user (limit 10)
    attacks: { type: 'string', default: 'baseline,admin-auth,unauth,idle-tcp,reconnect,store' },
    nofile: { type: 'string', default: '1024' },
    'per-ip': { type: 'string', default: '200' },
    // Internal: this process is the attacker of one phase (its own process,
    // so that its sockets do not slow the real users' event loop).
    role: { type: 'string', default: 'main' },
    until: { type: 'string', default: '0' },
  },
});
const seconds = Number(args.seconds);
// Resets are what some attacks get (and a real user's connect counts its own
// failure); one that reaches no listener is counted, not fatal.
let strayResets = 0;
process.on('uncaughtException', (error) => {
  if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') throw error;
  ++strayResets;
});
const kUser = '127.0.0.1';
const kAttacker = '127.0.0.2';

const attacking = args.role !== 'main';
let project;
let pid;
if (attacking) {
  // The target, as the main process described it.
  const target = JSON.parse(process.env.HOSTILE_TARGET);
  project = {
    ...target,
    url: (query = '') => `ws://127.0.0.1:${target.port}/${query}`,
    token: (sub) => signToken(target.secret, { sub, exp: Math.floor(Date.now() / 1000) + 3600 }),
  };
} else {
  project = await Project.create({
    env: {
      REALTIME_ADMIN_SECRET: 'the-right-admin-secret-0123456789',
      // Per address: the attacker's own, so the real users are not its victims
      // through a shared address (docs/SECURITY.md C3, set as it recommends
      // for clients that connect directly).
      REALTIME_MAX_CONNECTIONS_PER_IP: args['per-ip'],
    },
  });
  console.error(`# server in ${project.dir}`);
  await project.mustRealtime(['init']);
  for (const name of ['chat', 'log']) await project.mustRealtime(['channel', 'create', name]);
  await project.mustRealtime(['start']);
  pid = JSON.parse((await project.mustRealtime(['status', '--json'])).stdout).pid;
  // A lower descriptor limit, so that attack 3 can reach it.
  spawnSync('prlimit', ['--pid', String(pid), `--nofile=${args.nofile}:${args.nofile}`]);
}

function connect(user, { address = kUser, timeout = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(project.url(`?token=${project.token(user)}`), { localAddress: address });
    ws.on('error', () => {}); // after the auth too: a reset is counted where it matters
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('timeout'));
    }, timeout);
    ws.once('message', (data) => {
      clearTimeout(timer);
      const event = JSON.parse(data.toString());
      if (event.type === 'auth_ok') resolve(ws);
      else reject(new Error(event.code));
    });
    ws.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

// ---- the real users: each holds a connection that sends `rate` messages a
// second and waits for each ack, and opens a new connection every 200 ms.
async function realUsers(until) {
  const latencies = [];
  const connects = { ok: 0, failed: 0 };
  const errors = {};
  const users = Array.from({ length: Number(args.users) }, (_, i) => `real-${i}`);
  await Promise.all(
    users.map(async (user) => {
      const chatting = (async () => {
        let ws;
        while (!ws && Date.now() < until) {
          ws = await connect(user).catch(() => {
            ++connects.failed; // the chatting connection could not connect
            return undefined;
          });
        }
        if (!ws) return;
        let n = 0;
        const pending = new Map();
        ws.on('message', (data) => {
          for (const line of data.toString().split('\n')) {
            const event = JSON.parse(line);
            const sent = pending.get(event.ref);
            if (sent === undefined) continue;
            pending.delete(event.ref);
            if (event.type === 'ack') latencies.push(performance.now() - sent);
            else errors[event.code] = (errors[event.code] ?? 0) + 1;
          }
        });
        while (Date.now() < until) {
          const ref = `${user}-${n++}`;
          pending.set(ref, performance.now());
          ws.send(JSON.stringify({ type: 'message', channel: 'chat', content: n, ref }));
          await sleep(1000 / Number(args.rate));
        }
        await sleep(1000);
        errors.unanswered = (errors.unanswered ?? 0) + pending.size;
        ws.close();
      })();
      const connecting = (async () => {
        while (Date.now() < until) {
          try {
            const ws = await connect(user);
            ++connects.ok;
            ws.close();
          } catch {
            ++connects.failed;
          }
          await sleep(200);
        }
      })();
      await Promise.all([chatting, connecting]);
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (p) => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? NaN;
  return { connects, acks: latencies.length, p50: at(50), p99: at(99), max: latencies.at(-1) ?? NaN, errors };
}

// ---- the attacks: each runs until `until`, as fast as it can, and counts
// what it did.
const attacks = {
  baseline: async () => ({}),

  'admin-auth': async (until) => {
    let sent = 0;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8, localAddress: kAttacker });
    const one = () =>
      new Promise((resolve) => {
        const request = http.request(
          { host: '127.0.0.1', port: project.port, path: `/api/channels/${'x'.repeat(7000)}`, agent, headers: { 'X-Realtime-Admin-Secret': 'wrong-secret' } },
          (response) => {
            response.resume();
            response.on('end', resolve);
          },
        );
        request.on('error', resolve);
        request.end();
        ++sent;
      });
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (Date.now() < until) await one();
      }),
    );
    agent.destroy();
    return { requests: sent };
  },

  unauth: async (until) => {
    let opened = 0;
    const open = new Set();
    const one = () =>
      new Promise((resolve) => {
        const ws = new WebSocket(project.url(), { localAddress: kAttacker });
        ws.on('error', () => {});
        ++opened;
        open.add(ws);
        const done = () => {
          open.delete(ws);
          resolve();
        };
        ws.on('error', done);
        ws.on('close', done);
      });
    await Promise.all(
      Array.from({ length: 300 }, async () => {
        while (Date.now() < until) await one().then(() => sleep(10));
      }).concat([sleep(until - Date.now()).then(() => open.forEach((ws) => ws.terminate()))]),
    );
    return { upgrades: opened };
  },

  'idle-tcp': async (until) => {
    let opened = 0;
    const sockets = new Set();
    const one = () =>
      new Promise((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port: project.port, localAddress: kAttacker });
        ++opened;
        sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => {
          sockets.delete(socket);
          resolve();
        });
      });
    await Promise.all(
      Array.from({ length: 2000 }, async () => {
        while (Date.now() < until) await one().then(() => sleep(10));
      }).concat([sleep(until - Date.now()).then(() => sockets.forEach((s) => s.destroy()))]),
    );
    return { connections: opened };
  },

  reconnect: async (until) => {
    let cycles = 0;
    let acks = 0;
    let refused = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (Date.now() < until) {
          let ws;
          try {
            ws = await connect('mallory', { address: kAttacker });
          } catch {
            await sleep(5);
            continue;
          }
          ++cycles;
          const answered = new Promise((resolve) => {
            let left = 10;
            ws.on('message', (data) => {
              const event = JSON.parse(data.toString());
              if (event.type === 'ack') ++acks;
              else if (event.code === 'rate_limited') ++refused;
              if (--left === 0) resolve();
            });
            ws.on('close', resolve);
          });
          ws.send(JSON.stringify(Array.from({ length: 10 }, (_, i) => ({ type: 'message', channel: 'chat', content: i, ref: i }))));
          await Promise.race([answered, sleep(1000)]);
          ws.terminate();
        }
      }),
    );
    return { cycles, acks, refused };
  },

  store: async (until) => {
    let sent = 0;
    await Promise.all(
      Array.from({ length: 5 }, async () => {
        while (Date.now() < until) {
          let ws;
          try {
            ws = await connect('mallory', { address: kAttacker });
          } catch {
            await sleep(50);
            continue;
          }
          const closed = new Promise((resolve) => ws.on('close', resolve));
          ws.on('message', () => {});
          let open = true;
          closed.then(() => (open = false));
          while (open && Date.now() < until) {
            const frame = Array.from({ length: 100 }, (_, i) =>
              i % 10 === 0 ? { type: 'history', channel: 'log', limit: 1000 } : { type: 'read', channel: 'log', seq: i },
            );
            ws.send(JSON.stringify(frame));
            sent += 100;
            await sleep(1);
          }
          ws.terminate();
        }
      }),
    );
    return { requests: sent };
  },
};

if (attacking) {
  const counts = await attacks[args.role](Number(args.until));
  process.stdout.write(JSON.stringify({ ...counts, strayResets }));
  process.exit(0);
}

// One phase's attacker, in its own process: resolves with its counts.
function runAttacker(name, until) {
  if (name === 'baseline') return Promise.resolve({});
  const target = JSON.stringify({ port: project.port, secret: project.secret, env: { REALTIME_ADMIN_SECRET: project.env.REALTIME_ADMIN_SECRET } });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--role', name, '--until', String(until)], {
      env: { ...process.env, HOSTILE_TARGET: target },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (data) => (out += data));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`attacker ${name} exited ${code}`))));
  });
}

// 2,000 messages in `log` (published through the API), so that each
// history request reads a full page of 1000.
{
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const publish = (n) =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ content: `m${n}` });
      const request = http.request(
        {
          host: '127.0.0.1', port: project.port, method: 'POST', path: '/api/channels/log/messages', agent,
          headers: { 'X-Realtime-Admin-Secret': project.env.REALTIME_ADMIN_SECRET, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        },
        (response) => {
          response.resume();
          response.on('end', () => (response.statusCode < 300 ? resolve() : reject(new Error(`publish: HTTP ${response.statusCode}`))));
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < 2000) await publish(next++);
  }));
  agent.destroy();
}

const rows = [];
for (const name of args.attacks.split(',')) {
  if (!attacks[name]) throw new Error(`unknown attack ${name}`);
  console.error(`# ${name}: ${seconds} s`);
  const until = Date.now() + seconds * 1000;
  const [attacker, users] = await Promise.all([runAttacker(name, until), sleep(500).then(() => realUsers(until))]);
  const alive = spawnSync('kill', ['-0', String(pid)]).status === 0;
  rows.push({ name, users, attacker, alive });
  console.error(JSON.stringify(rows.at(-1)));
  await sleep(3000); // let the server settle between phases
}
await project.cleanup();

console.log(`| attack | real users' connects ok | acks | ack p50 ms | ack p99 ms | ack max ms | errors | attacker did | server up |`);
console.log(`|---|---|---|---|---|---|---|---|---|`);
for (const { name, users, attacker, alive } of rows) {
  const total = users.connects.ok + users.connects.failed;
  console.log(
    `| ${name} | ${users.connects.ok}/${total} | ${users.acks} | ${users.p50.toFixed(1)} | ${users.p99.toFixed(1)} | ${users.max.toFixed(1)} | ${JSON.stringify(users.errors)} | ${JSON.stringify(attacker)} | ${alive ? 'yes' : 'NO'} |`,
  );
}
