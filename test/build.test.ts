/** `npm run build` makes `node dist/cli.js` the same command line as the sources. */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { migrations } from '../migrations/index.ts';
import { createDatabaseUrl } from './support/database.ts';

const run = promisify(execFile);
// Inside the project, so the built files resolve node_modules as dist/ would.
mkdirSync('.test-build', { recursive: true });
const out = mkdtempSync(join('.test-build', 'dist-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

it('builds, and the built CLI migrates and reports status', { timeout: 120_000 }, async () => {
  await run(process.execPath, [
    'node_modules/typescript/bin/tsc',
    '-p',
    'tsconfig.build.json',
    '--outDir',
    out,
  ]);
  await run(process.execPath, ['scripts/write-bin.mjs', out]);
  const env = { PATH: process.env.PATH, DATABASE_URL: await createDatabaseUrl(), LOG_LEVEL: 'warn' };
  const migrate = await run(process.execPath, [join(out, 'cli.js'), 'migrate'], { env });
  expect(migrate.stdout).toContain(`applied ${Object.keys(migrations).length} migration`);
  const status = await run(process.execPath, [join(out, 'cli.js'), 'status', '--json'], { env });
  expect(JSON.parse(status.stdout)).toMatchObject({ cursor: null, quarantined: 0 });
  // docs/operations.md's way to choose V8's heap growth instead of the CLI's (src/heap-policy.ts).
  const v8Policy = await run(
    process.execPath,
    ['--heap-growing-percent=0', join(out, 'cli.js'), 'status', '--json'],
    { env },
  );
  expect(JSON.parse(v8Policy.stdout)).toMatchObject({ cursor: null, quarantined: 0 });
});
