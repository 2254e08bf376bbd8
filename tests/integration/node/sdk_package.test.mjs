// The SDK as an npm package (issue 13, item 9): `npm pack` of clients/js
// (its prepack builds dist/ with esbuild) gives a tarball with the ES
// module, the CommonJS and minified builds, the types, README and LICENSE;
// installed into an empty project, both `import` and `require` of
// '@nself/realtime-client' talk to the real server.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { Project } from './harness.mjs';

const run = promisify(execFile);
const here = fileURLToPath(new URL('.', import.meta.url));
const sdkDir = join(here, '../../../clients/js');
let project;
let work;

before(async () => {
  project = await Project.create();
  await project.mustRealtime(['init']);
  await project.mustRealtime(['channel', 'create', 'packaged']);
  await project.mustRealtime(['start']);
  work = mkdtempSync(join(tmpdir(), 'nself-sdk-pack-'));
});

after(async () => {
  if (work) rmSync(work, { recursive: true, force: true });
  await project?.cleanup();
});

test('npm pack, install into an empty project, import and require it', async () => {
  // A copy of clients/js whose build tools are the tests' (esbuild).
  const source = join(work, 'source');
  cpSync(sdkDir, source, { recursive: true, filter: (path) => !/\/(dist|node_modules)(\/|$)/.test(path) });
  symlinkSync(join(here, 'node_modules'), join(source, 'node_modules'));
  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: source });
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[')));
  const files = info.files.map((file) => file.path).sort();
  assert.deepEqual(files, [
    'LICENSE', 'README.md', 'dist/realtime-client.cjs', 'dist/realtime-client.iife.min.js',
    'dist/realtime-client.min.js', 'index.d.ts', 'package.json', 'realtime-client.js',
  ]);

  const app = join(work, 'app');
  await run('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(work, info.filename)], { cwd: app });
  const installed = JSON.parse(readFileSync(join(app, 'node_modules/@nself/realtime-client/package.json'), 'utf8'));
  assert.equal(installed.license, 'MIT');
  assert.ok(installed.repository?.url);

  const ws = join(here, 'node_modules/ws/index.js');
  const esm = `
    import { RealtimeClient } from '@nself/realtime-client';
    import { createRequire } from 'node:module';
    const WebSocket = createRequire(import.meta.url)(${JSON.stringify(ws)});
    const client = new RealtimeClient({ url: process.env.URL, token: process.env.TOKEN, WebSocket });
    await client.connect();
    const ack = await client.channel('packaged').send('from esm');
    console.log(JSON.stringify(ack));
    client.close();
  `;
  const cjs = `
    const { RealtimeClient } = require('@nself/realtime-client');
    const WebSocket = require(${JSON.stringify(ws)});
    (async () => {
      const client = new RealtimeClient({ url: process.env.URL, token: process.env.TOKEN, WebSocket });
      await client.connect();
      const ack = await client.channel('packaged').send('from cjs');
      console.log(JSON.stringify(ack));
      client.close();
    })().catch((error) => { console.error(error); process.exit(1); });
  `;
  writeFileSync(join(app, 'esm.mjs'), esm);
  writeFileSync(join(app, 'cjs.cjs'), cjs);
  const env = { ...process.env, URL: project.url(), TOKEN: project.token('packager') };
  const fromEsm = JSON.parse((await run(process.execPath, ['esm.mjs'], { cwd: app, env })).stdout);
  const fromCjs = JSON.parse((await run(process.execPath, ['cjs.cjs'], { cwd: app, env })).stdout);
  assert.equal(fromEsm.seq, 1);
  assert.equal(fromCjs.seq, 2);
  const minified = readFileSync(join(app, 'node_modules/@nself/realtime-client/dist/realtime-client.min.js'), 'utf8');
  assert.ok(minified.length < readFileSync(join(sdkDir, 'realtime-client.js'), 'utf8').length / 2);
});
