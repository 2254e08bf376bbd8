// The SDK's TypeScript types (issue 13, item 8): sdk_types/usage.ts is
// compiled with the real tsc in strict mode. It uses the API as an
// application would, and holds lines that must not compile (a misspelled
// event name, a listener of the wrong shape, content of the wrong type, a
// wrong state): each carries a ts-expect-error directive, so a type that
// lets the mistake through fails the compilation.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';

const run = promisify(execFile);
const here = fileURLToPath(new URL('.', import.meta.url));

test('index.d.ts compiles against usage.ts with tsc --strict, and rejects the mistakes', async () => {
  const tsc = `${here}node_modules/typescript/bin/tsc`;
  const result = await run(process.execPath, [tsc, '-p', `${here}sdk_types/tsconfig.json`]).then(
    () => ({ code: 0, output: '' }),
    (error) => ({ code: error.code, output: `${error.stdout}${error.stderr}` }),
  );
  assert.equal(result.code, 0, result.output);
});
