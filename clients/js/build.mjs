// Builds the package's generated files into dist/ (run by `npm run build`
// and before `npm pack`): realtime-client.js itself is the ES module and
// needs no build.
//   dist/realtime-client.cjs        CommonJS, for require()
//   dist/realtime-client.min.js     the ES module minified, for browsers
//   dist/realtime-client.iife.min.js  a classic <script>: window.NselfRealtime
import { build } from 'esbuild';

const here = new URL('.', import.meta.url).pathname;
const common = { entryPoints: [`${here}realtime-client.js`], bundle: true, target: 'es2022', logLevel: 'warning' };

await build({ ...common, format: 'cjs', platform: 'neutral', outfile: `${here}dist/realtime-client.cjs` });
await build({ ...common, format: 'esm', minify: true, outfile: `${here}dist/realtime-client.min.js` });
await build({ ...common, format: 'iife', globalName: 'NselfRealtime', minify: true, outfile: `${here}dist/realtime-client.iife.min.js` });
