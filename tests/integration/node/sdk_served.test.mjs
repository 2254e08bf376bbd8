// The SDK as the real server serves it (issue 13, item 9): gzip for a
// client that accepts it (the same bytes once inflated), a strong ETag that
// per representation that turns a revalidation into 304, cacheable, importable from any origin, and
// byte for byte clients/js/realtime-client.js.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { Project } from './harness.mjs';

let project;

before(async () => {
  project = await Project.create();
  await project.mustRealtime(['init']);
  await project.mustRealtime(['start']);
});

after(async () => {
  await project?.cleanup();
});

// A raw GET (fetch would inflate the body and hide Content-Encoding).
function get(path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: project.port, path, headers }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('/sdk/realtime-client.js: gzip, ETag and 304, Cache-Control, CORS', async () => {
  const source = readFileSync(new URL('../../../clients/js/realtime-client.js', import.meta.url));
  const plain = await get('/sdk/realtime-client.js');
  assert.equal(plain.status, 200);
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.ok(plain.body.equals(source), 'the embedded SDK is clients/js/realtime-client.js');

  const zipped = await get('/sdk/realtime-client.js', { 'accept-encoding': 'gzip, br' });
  assert.equal(zipped.status, 200);
  assert.equal(zipped.headers['content-encoding'], 'gzip');
  assert.equal(zipped.headers.vary, 'Accept-Encoding');
  assert.ok(gunzipSync(zipped.body).equals(source));
  assert.ok(zipped.body.length < source.length / 3, `${zipped.body.length} of ${source.length} bytes`);
  assert.match(zipped.headers['cache-control'], /max-age=\d+/);
  assert.equal(zipped.headers['access-control-allow-origin'], '*');

  // Each representation has its own strong ETag, and a revalidation with it is a 304.
  const etag = plain.headers.etag;
  assert.match(etag, /^"[0-9a-f]{32}"$/);
  assert.equal(zipped.headers.etag, `${etag.slice(0, -1)}-gzip"`);
  const again = await get('/sdk/realtime-client.js', { 'if-none-match': zipped.headers.etag, 'accept-encoding': 'gzip' });
  assert.equal(again.status, 304);
  assert.equal(again.body.length, 0);
  assert.equal((await get('/sdk/realtime-client.js', { 'if-none-match': etag })).status, 304);
  assert.equal((await get('/sdk/realtime-client.js', { 'if-none-match': '"stale"' })).status, 200);
});
