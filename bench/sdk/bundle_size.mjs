// The SDK's size in a browser bundle beside centrifuge-js and pusher-js:
// each is bundled for the browser by esbuild (minified, ES2022) from an
// entry that imports the whole client, then gzipped (level 9).
//
//   node bench/sdk/bundle_size.mjs
//
// The packages come from tests/integration/node/node_modules
// (scripts/install-test-clients.sh installs them).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const nodeTests = fileURLToPath(new URL('../../tests/integration/node/', import.meta.url));
const require = createRequire(nodeTests);
const { build } = require('esbuild');
const versionOf = (dir) => JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')).version;
const sdk = fileURLToPath(new URL('../../clients/js/realtime-client.js', import.meta.url));

const clients = [
  { name: '@nself/realtime-client', entry: `export * from ${JSON.stringify(sdk)};`, version: versionOf(fileURLToPath(new URL("../../clients/js", import.meta.url))) },
  { name: 'centrifuge', entry: "export * from 'centrifuge';", version: versionOf(`${nodeTests}node_modules/centrifuge`) },
  { name: 'pusher-js', entry: "export { default } from 'pusher-js';", version: versionOf(`${nodeTests}node_modules/pusher-js`) },
];

console.log('| client | version | minified (bytes) | minified + gzip (bytes) |');
console.log('|---|---|---|---|');
for (const client of clients) {
  const result = await build({
    stdin: { contents: client.entry, resolveDir: nodeTests, loader: 'js' },
    bundle: true, minify: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'error',
  });
  const code = result.outputFiles[0].contents;
  console.log(`| ${client.name} | ${client.version} | ${code.length} | ${gzipSync(code, { level: 9 }).length} |`);
}
