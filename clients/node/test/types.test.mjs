// The declarations in dist/ compile for a TypeScript consumer (strict), the
// README's Next.js route handler included: test/types/consumer.ts.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

it('a strict TypeScript consumer compiles against dist/*.d.ts', { timeout: 60000 }, async () => {
  const { code, output } = await new Promise((resolve) => {
    execFile(process.execPath, [tsc, '-p', path.join(here, 'types/tsconfig.json')], { timeout: 55000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (err.code ?? 1) : 0, output: stdout + stderr }),
    );
  });
  assert.equal(code, 0, output);
});
