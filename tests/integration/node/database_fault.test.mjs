// PostgreSQL stopped mid-traffic and started again (issue 8, "Faults"): the
// server stays up, says "degraded" in /health and `status`, answers
// `unavailable` instead of acking what it could not store, reconnects by
// itself once the database is back, and nothing acked is lost (checked in the
// database itself). The test runs its OWN PostgreSQL (initdb + pg_ctl in a
// temporary directory on a free port) so that it can stop and start it.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { Client, Project, freePort, sleep } from './harness.mjs';

const run = promisify(execFile);

function postgresBin() {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).sort((a, b) => Number(a) - Number(b));
  const bin = join(root, versions.at(-1) ?? '', 'bin');
  return existsSync(join(bin, 'initdb')) ? bin : null;
}

// A PostgreSQL server of the test's own, in a temporary directory.
class OwnPostgres {
  static async create() {
    const bin = postgresBin();
    if (!bin) return null;
    const pg = new OwnPostgres();
    pg.bin = bin;
    pg.dir = mkdtempSync(join(tmpdir(), 'nself-pg-fault-'));
    chmodSync(pg.dir, 0o755);
    pg.port = await freePort();
    // initdb and postgres refuse to run as root: run them as `postgres`.
    pg.prefix = [];
    if (process.getuid() === 0) {
      try {
        execFileSync('id', ['postgres'], { stdio: 'ignore' });
      } catch {
        execFileSync('useradd', ['--system', '--no-create-home', 'postgres']);
      }
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
      chownSync(pg.dir, uid, gid);
      pg.prefix = ['runuser', '-u', 'postgres', '--'];
    }
    await pg.#as(join(bin, 'initdb'), ['-D', join(pg.dir, 'data'), '-U', 'postgres', '-A', 'trust',
      '--no-sync', '-E', 'UTF8']);
    await pg.start();
    pg.url = `postgres://postgres@127.0.0.1:${pg.port}/postgres`;
    return pg;
  }

  #as(program, args) {
    const [command, ...rest] = this.prefix.length ? [...this.prefix, program] : [program];
    return run(command, [...rest, ...args], { timeout: 60000 });
  }

  start() {
    return this.#as(join(this.bin, 'pg_ctl'), ['-D', join(this.dir, 'data'), '-l',
      join(this.dir, 'pg.log'), '-w', '-t', '30', '-o',
      `-h 127.0.0.1 -p ${this.port} -k ${this.dir} -c fsync=off`, 'start']);
  }

  // mode: fast (sessions terminated, clean shutdown) or immediate (as a crash).
  stop(mode) {
    return this.#as(join(this.bin, 'pg_ctl'), ['-D', join(this.dir, 'data'), '-m', mode, '-w',
      'stop']);
  }

  async query(sql) {
    const { stdout } = await run('psql', [this.url, '-AtXqc', sql]);
    return stdout.trim();
  }

  async destroy() {
    if (existsSync(join(this.dir, 'data', 'postmaster.pid'))) {
      await this.stop('immediate').catch(() => {});
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function health(project) {
  const response = await fetch(`http://127.0.0.1:${project.port}/health`);
  return { code: response.status, body: await response.json() };
}

async function waitFor(what, predicate, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

// A sender keeping up to `window` messages in flight, recording acks and errors.
class Sender {
  constructor(client, channel, window = 50) {
    Object.assign(this, { client, channel, window });
    this.sent = 0;
    this.answered = 0;
    this.acked = new Map(); // id -> seq
    this.errors = new Map(); // code -> count
    this.running = true;
    client.ws.on('message', (data) => {
      const event = JSON.parse(data.toString());
      if (event.type === 'ack') {
        this.acked.set(event.id, event.seq);
        this.answered += 1;
      } else if (event.type === 'error' && event.ref !== undefined) {
        this.errors.set(event.code, (this.errors.get(event.code) ?? 0) + 1);
        this.answered += 1;
      }
    });
    this.done = (async () => {
      while (this.running) {
        while (this.running && this.sent - this.answered < this.window) {
          client.send({ type: 'message', channel, content: { n: this.sent }, ref: this.sent });
          this.sent += 1;
        }
        await sleep(2);
      }
      // Every message sent gets an answer: an ack or an error.
      await waitFor('every message answered', () => this.answered === this.sent);
    })();
  }

  errorCount(code) {
    return this.errors.get(code) ?? 0;
  }

  async stop() {
    this.running = false;
    await this.done;
  }
}

test('PostgreSQL stopped mid-traffic and started again: degraded, unavailable, reconnected, no acked message lost', async (t) => {
  const pg = await OwnPostgres.create();
  if (!pg) {
    if (process.env.NSELF_TEST_REQUIRE_SERVICES === '1') {
      assert.fail('NSELF_TEST_REQUIRE_SERVICES=1 but the PostgreSQL server binaries were not found');
    }
    t.skip('PostgreSQL server binaries not found');
    return;
  }
  const project = await Project.create({
    databaseUrl: pg.url,
    env: { REALTIME_MAX_MESSAGES_PER_SECOND: '1000000' },
  });
  let sender = null;
  try {
    await project.mustRealtime(['init']);
    await project.mustRealtime(['channel', 'create', 'fault']);
    await project.mustRealtime(['start']);
    const pid = (await health(project)).body.pid;
    assert.equal((await health(project)).body.database.status, 'ok');

    const client = await Client.connect(project.url(`?token=${project.token('writer')}`));
    await client.next('auth_ok');
    sender = new Sender(client, 'fault');

    for (const mode of ['fast', 'immediate']) {
      const before = sender.acked.size;
      await waitFor('acks before the stop', () => sender.acked.size >= before + 300);

      await pg.stop(mode);
      const unavailableBefore = sender.errorCount('unavailable');
      await waitFor('unavailable errors', () => sender.errorCount('unavailable') > unavailableBefore + 20);
      // Degraded, not down: /health answers (200), says so, and so does `status`.
      const degraded = await health(project);
      assert.equal(degraded.code, 200);
      assert.equal(degraded.body.status, 'degraded');
      assert.equal(degraded.body.pid, pid);
      assert.equal(degraded.body.database.status, 'unavailable');
      const status = await project.mustRealtime(['status', '--json']);
      assert.equal(JSON.parse(status.stdout).database, 'unavailable');
      const human = await project.mustRealtime(['status']);
      assert.match(human.stdout, /Database:\s+unavailable/);
      // Nothing is acked while the database is down.
      const ackedWhileDown = sender.acked.size;
      await sleep(500);
      assert.equal(sender.acked.size, ackedWhileDown, 'a message was acked while PostgreSQL was down');

      await pg.start();
      // Back by itself: acks again, /health ok again, same process.
      await waitFor('acks after the restart', () => sender.acked.size >= ackedWhileDown + 300);
      const recovered = await health(project);
      assert.equal(recovered.body.status, 'ok');
      assert.equal(recovered.body.database.status, 'ok');
      assert.equal(recovered.body.pid, pid);
    }
    await sender.stop();
    await client.close();
    assert.equal(sender.errors.size, 1, `only unavailable errors: ${JSON.stringify([...sender.errors])}`);

    // Every acked message is in the database with the seq of its ack, and
    // seqs have no gap: failed batches took none.
    const rows = (await pg.query(
      "SELECT m.id, m.seq FROM realtime.messages m JOIN realtime.channels c ON c.id = m.channel_id WHERE c.slug = 'fault' ORDER BY m.seq",
    )).split('\n').map((line) => line.split('|'));
    const stored = new Map(rows.map(([id, seq]) => [id, Number(seq)]));
    for (const [id, seq] of sender.acked) {
      assert.equal(stored.get(id), seq, `acked message ${id} (seq ${seq}) is not in the database`);
    }
    rows.forEach(([, seq], index) => assert.equal(Number(seq), index + 1, 'seq has a gap'));
    const lastSeq = Number(await pg.query("SELECT last_seq FROM realtime.channels WHERE slug = 'fault'"));
    assert.equal(lastSeq, rows.length);
    // Stored but not acked is possible only for a commit whose answer was lost.
    assert.ok(rows.length >= sender.acked.size);
    assert.ok(rows.length <= sender.acked.size + sender.window * 2);
    console.log('fault figures', {
      sent: sender.sent,
      acked: sender.acked.size,
      unavailable: sender.errorCount('unavailable'),
      stored: rows.length,
    });
    const log = readFileSync(join(project.dir, '.nself/realtime', `server-${project.port}.log`), 'utf8');
    assert.match(log, /database unavailable/);
    assert.match(log, /database available again/);
  } finally {
    if (sender) {
      sender.running = false;
      sender.done.catch(() => {});
      sender.client.ws.terminate();
    }
    await project.cleanup();
    await pg.destroy();
  }
});
