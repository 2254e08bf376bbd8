// TLS straight from the server (WEBSOCKET_SSL_CERT + WEBSOCKET_SSL_KEY) with a
// self-signed certificate made here by the openssl CLI: wss:// with Node's
// `ws` trusting that certificate as its CA, https /health, the CLI (start's
// readiness check, status, stats, stop) over TLS, old protocol versions and
// weak ciphers refused, plain HTTP on the TLS port answered with a 400, a
// restart reloading a replaced certificate, and unusable files failing start
// with a message that names the key.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { Client, Project } from './harness.mjs';

const certDir = mkdtempSync(join(tmpdir(), 'nself-tls-'));

// A self-signed P-256 certificate for 127.0.0.1/localhost; returns its paths.
function makeCertificate(name) {
  const cert = join(certDir, `${name}.crt`);
  const key = join(certDir, `${name}.key`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
  return { cert, key, pem: readFileSync(cert) };
}

let project;
let main;
before(async () => {
  main = makeCertificate('main');
  project = await Project.create({
    env: { WEBSOCKET_SSL_CERT: main.cert, WEBSOCKET_SSL_KEY: main.key },
  });
  await project.mustRealtime(['init']);
  await project.mustRealtime(['channel', 'create', 'general']);
  // `start` returns only once /health answered over TLS with the child's pid.
  const started = await project.mustRealtime(['start']);
  assert.match(started.stdout, new RegExp(`started \\(pid \\d+\\): wss://127\\.0\\.0\\.1:${project.port}`));
});
after(async () => {
  await project.cleanup();
  rmSync(certDir, { recursive: true, force: true });
});

const wssUrl = (query = '') => `wss://127.0.0.1:${project.port}/${query}`;

// GET over https trusting `ca`; resolves with {status, body, peer certificate}.
function httpsGet(path, options = {}) {
  return new Promise((resolve, reject) => {
    const request = https.get(
      { host: '127.0.0.1', port: project.port, path, ca: main.pem, agent: false, ...options },
      (response) => {
        const certificate = response.socket.getPeerCertificate();
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode, body, certificate }));
      },
    );
    request.on('error', reject);
    request.setTimeout(5000, () => request.destroy(new Error('timeout')));
  });
}

// A raw TLS handshake with `options`; resolves with the negotiated protocol
// and cipher, or rejects with the handshake error.
function handshake(options) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: project.port, ca: main.pem, ...options });
    socket.setTimeout(5000, () => socket.destroy(new Error('timeout')));
    socket.once('secureConnect', () => {
      const result = { protocol: socket.getProtocol(), cipher: socket.getCipher().name };
      socket.end();
      resolve(result);
    });
    socket.once('error', reject);
  });
}

test('wss:// with the certificate as CA: authenticate and exchange a message', async () => {
  const alice = await Client.connect(wssUrl(`?token=${project.token('alice')}`), { ca: main.pem });
  const bob = await Client.connect(wssUrl(`?token=${project.token('bob')}`), { ca: main.pem });
  await alice.next('auth_ok');
  await bob.next('auth_ok');
  for (const client of [alice, bob]) {
    client.send({ type: 'subscribe', channel: 'general' });
    await client.next('subscribed');
  }
  // Larger than one TLS record (16 KiB) and than the session's read buffer.
  const content = 'x'.repeat(40 * 1024);
  alice.send({ type: 'message', channel: 'general', content, ref: 'r1' });
  const ack = await alice.next('ack');
  const received = await bob.next((event) => event.type === 'message' && event.id === ack.id);
  assert.equal(received.content, content);
  await alice.close();
  await bob.close();
});

test('the certificate is verified: without the CA a client refuses the server', async () => {
  await assert.rejects(Client.connect(wssUrl(), {}), /self[- ]signed/i);
});

test('https /health over TLS; the CLI reaches the server (status, stats) over TLS', async () => {
  const health = await httpsGet('/health');
  assert.equal(health.status, 200);
  assert.equal(JSON.parse(health.body).status, 'ok');

  const status = JSON.parse((await project.mustRealtime(['status', '--json'])).stdout);
  assert.equal(status.running, true);
  assert.equal(status.port, project.port);
  const stats = JSON.parse((await project.mustRealtime(['stats', '--json'])).stdout);
  assert.equal(stats.running, true);
});

test('TLS 1.2 and 1.3 with modern ciphers only', async () => {
  const v13 = await handshake({});
  assert.equal(v13.protocol, 'TLSv1.3');
  const v12 = await handshake({ maxVersion: 'TLSv1.2' });
  assert.equal(v12.protocol, 'TLSv1.2');
  assert.match(v12.cipher, /^ECDHE-ECDSA-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
  // A client that offers only a CBC cipher (no AEAD) finds nothing in common.
  await assert.rejects(
    handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA' }),
    /handshake failure|no shared cipher|ERR_SSL/i,
  );
});

test('a TLS 1.1 (and 1.0) client is refused', async () => {
  for (const version of ['TLSv1.1', 'TLSv1']) {
    // SECLEVEL=0 lets this client offer the old version at all.
    const error = await handshake({
      minVersion: version,
      maxVersion: version,
      ciphers: 'DEFAULT@SECLEVEL=0',
    }).then(
      () => null,
      (failure) => failure,
    );
    assert.ok(error, `${version} handshake succeeded`);
    assert.match(`${error.code} ${error.message}`, /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|protocol version/i);
  }
  // The server is still fine.
  assert.equal((await httpsGet('/health')).status, 200);
});

test('plain HTTP to the TLS port gets a plain-text 400 and the connection closes', async () => {
  const response = await new Promise((resolve, reject) => {
    const socket = net.connect(project.port, '127.0.0.1', () => {
      socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
    });
    let data = '';
    socket.on('data', (chunk) => (data += chunk));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error('timeout')));
  });
  assert.match(response, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(response, /use https:\/\/ or wss:\/\//);
  // A plain ws:// client gets an error, not a hang.
  await assert.rejects(Client.connect(`ws://127.0.0.1:${project.port}/`), /Unexpected server response: 400|HTTP 400/);
});

test('a client that says nothing, or garbage in a TLS record, does not disturb others', async () => {
  const idle = net.connect(project.port, '127.0.0.1');
  const garbage = net.connect(project.port, '127.0.0.1', () => {
    // A TLS record header claiming a handshake, then nonsense.
    garbage.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]));
  });
  const closed = new Promise((resolve) => garbage.on('close', resolve));
  let alert = Buffer.alloc(0);
  garbage.on('data', (chunk) => (alert = Buffer.concat([alert, chunk])));
  garbage.on('error', () => {});
  idle.on('error', () => {});
  await closed;
  assert.equal(alert[0], 0x15, 'a TLS alert record');
  assert.equal((await httpsGet('/health')).status, 200);
  idle.destroy();
});

test('a restart reloads a replaced certificate', async () => {
  const before = await httpsGet('/health');
  const replacement = makeCertificate('replacement');
  copyFileSync(replacement.cert, main.cert);
  copyFileSync(replacement.key, main.key);
  main.pem = readFileSync(main.cert);
  await project.mustRealtime(['restart']);
  const after = await httpsGet('/health');
  assert.equal(after.status, 200);
  assert.notEqual(after.certificate.fingerprint256, before.certificate.fingerprint256);
  assert.equal(after.certificate.subject.CN, 'replacement');
  // The CLI trusts the new configured certificate.
  assert.equal(JSON.parse((await project.mustRealtime(['status', '--json'])).stdout).running, true);
  const stopped = JSON.parse((await project.mustRealtime(['stop', '--json'])).stdout);
  assert.equal(stopped.stopped, true);
  assert.equal(stopped.graceful, true);
});

// `start` in a project whose TLS files are bad; resolves with its result.
async function startWith(env) {
  const other = await Project.create({ env });
  try {
    const init = await other.realtime(['init']);
    if (init.code !== 0) return init;  // a configuration error is reported before any start
    return await other.realtime(['start']);
  } finally {
    await other.cleanup();
  }
}

test('unusable certificate or key files are clear start errors', async () => {
  const missing = await startWith({ WEBSOCKET_SSL_CERT: join(certDir, 'nope.crt'), WEBSOCKET_SSL_KEY: main.key });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /WEBSOCKET_SSL_CERT \(.*nope\.crt\): cannot read the file: No such file/);

  const notPem = join(certDir, 'garbage.crt');
  writeFileSync(notPem, 'not a certificate\n');
  const garbage = await startWith({ WEBSOCKET_SSL_CERT: notPem, WEBSOCKET_SSL_KEY: main.key });
  assert.equal(garbage.code, 1);
  assert.match(garbage.stderr, /WEBSOCKET_SSL_CERT \(.*garbage\.crt\): not a usable PEM certificate/);

  const other = makeCertificate('other');
  const mismatch = await startWith({ WEBSOCKET_SSL_CERT: main.cert, WEBSOCKET_SSL_KEY: other.key });
  assert.equal(mismatch.code, 1);
  assert.match(mismatch.stderr, /WEBSOCKET_SSL_KEY \(.*other\.key\) does not match the certificate/);

  const half = await startWith({ WEBSOCKET_SSL_CERT: main.cert });
  assert.equal(half.code, 2);
  assert.match(half.stderr, /must be set together/);
});
