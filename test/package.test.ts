/**
 * `npm pack`, installed offline into a new project, then what a user types: `npx workos-sync
 * --version`, `demo`, `migrate --print-sql`, and `import { createWorkosSync } from 'workos-sync'`
 * (run, and type-checked). The installed package runs on the oldest Node it claims when
 * WORKOS_SYNC_TEST_OLDEST_NODE names that binary (.ci/run installs it), else on the current one,
 * as the test names say; WORKOS_SYNC_TEST_TOO_OLD_NODE names a Node it must refuse.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BY_HAND, measuredByHand } from '../bench/report.ts';
import { runCli } from './support/cli.ts';
import { createDatabaseUrl } from './support/database.ts';
import { npmEnv, pack, packageJson, root, run, writeConsumerProject } from './support/packed-package.ts';

const oldest = process.env.WORKOS_SYNC_TEST_OLDEST_NODE;
const tooOld = process.env.WORKOS_SYNC_TEST_TOO_OLD_NODE;
/** Under .ci/run: both Nodes above are required there, and a missing one fails the tests that need it. */
const inCi = process.env.WORKOS_SYNC_CI === '1';
const node = oldest ?? process.execPath;
const versionOf = (binary: string) => execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
const onNode = oldest
  ? `on the oldest Node it claims (${versionOf(oldest)})`
  : `on the current Node ${process.version} (WORKOS_SYNC_TEST_OLDEST_NODE unset)`;
const floor = /^>=(\d+\.\d+\.\d+)$/.exec(packageJson.engines.node ?? '')?.[1];

const tmp = mkdtempSync(join(tmpdir(), 'workos-sync-package-'));
const project = join(tmp, 'project');
let tarball: string;
let files: string[];
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// A file an earlier build left in dist/ (a module since deleted from src/): the build starts over.
const stale = `dist/src/stale-${process.pid}.js`;

beforeAll(async () => {
  mkdirSync(join(root, 'dist/src'), { recursive: true });
  writeFileSync(join(root, stale), 'export {};\n');
  tarball = await pack(tmp, process.execPath);
  files = (await run('tar', ['-tzf', tarball], {})).stdout
    .split('\n')
    .filter(Boolean)
    .map((path) => path.replace(/^package\//, ''));
  mkdirSync(project);
  writeConsumerProject(project, tarball);
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], {
    cwd: project,
    env: npmEnv(node),
  });
}, 300_000);

/** `npx workos-sync …` in the new project, on `binary`; never rejects. */
function npx(args: readonly string[], env: Record<string, string> = {}, binary = node) {
  return run('npx', ['workos-sync', ...args], {
    cwd: project,
    env: { ...npmEnv(binary), ...env },
    timeout: 120_000,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

describe('npm pack', () => {
  it('ships the compiled CLI, library and migrations, README, LICENSE, .env.example, the environments file`s schema: nothing else', () => {
    for (const file of [
      'package.json',
      'README.md',
      'LICENSE',
      '.env.example',
      packageJson.bin['workos-sync'],
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/migrations/index.js',
    ]) {
      expect(files).toContain(file);
    }
    // Every module of src/, emulator/ and migrations/, compiled with its declarations, and nothing else in dist/.
    const compiled = ['src', 'emulator', 'migrations']
      .flatMap((dir) =>
        readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' }).map((f) => `${dir}/${f}`),
      )
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) => [`dist/${file.replace(/\.ts$/, '.js')}`, `dist/${file.replace(/\.ts$/, '.d.ts')}`]);
    expect(files.filter((file) => file.startsWith('dist/')).sort()).toEqual(
      [...compiled, packageJson.bin['workos-sync']].sort(),
    );
    const outside = files.filter((file) => !file.startsWith('dist/'));
    expect(outside.sort()).toEqual([
      '.env.example',
      'LICENSE',
      'README.md',
      'package.json',
      'schema/environments.schema.json',
    ]);
    expect(files.filter((file) => /^(test|bench|\.ci|src|emulator|scripts|migrations)\//.test(file))).toEqual(
      [],
    );
    expect(files.filter((file) => file.endsWith('.map') || /(?<!\.d)\.ts$/.test(file))).toEqual([]);
  });

  it('builds from nothing: a file an earlier build left in dist/ is not shipped', () => {
    expect(files).not.toContain(stale);
    expect(existsSync(join(root, stale))).toBe(false);
  });

  it('has the size and file count BENCHMARKS.md gives (within 15%)', () => {
    // Measured by hand: in BENCHMARKS.md's section of such figures, which a benchmark run keeps.
    const byHand = measuredByHand(readFileSync(join(root, 'BENCHMARKS.md'), 'utf8'));
    expect(byHand, `BENCHMARKS.md has a section "${BY_HAND}"`).not.toBeNull();
    const stated = /tarball of about (\d+) kB and (\d+) files/.exec(byHand!);
    expect(
      stated,
      `BENCHMARKS.md's "${BY_HAND}" states "a tarball of about N kB and M files"`,
    ).not.toBeNull();
    expect(Math.abs(statSync(tarball).size / 1000 / Number(stated![1]) - 1)).toBeLessThan(0.15);
    expect(Math.abs(files.length / Number(stated![2]) - 1)).toBeLessThan(0.15);
  });
});

describe(`installed from the tarball, offline, ${onNode}`, () => {
  it('is the Node it says', () => {
    if (inCi) expect(oldest, 'WORKOS_SYNC_TEST_OLDEST_NODE is unset under WORKOS_SYNC_CI=1').toBeTruthy();
    if (oldest) expect(floor, 'package.json engines.node is >=x.y.z').toBeDefined();
    expect(versionOf(node)).toBe(oldest ? `v${floor}` : process.version);
  });

  it('npx workos-sync --version prints the package version', async () => {
    expect(await npx(['--version'])).toMatchObject({
      code: 0,
      stdout: `${packageJson.version}\n`,
      stderr: '',
    });
  });

  it('npx workos-sync demo runs the tour, and its closing hint names commands the package has', async () => {
    const demo = await npx(['demo', '--live-seconds', '3']);
    expect(demo.stderr).toBe('');
    expect(demo.code).toBe(0);
    expect(demo.stdout).toContain('To mirror your own WorkOS environment');
    const hinted = [...demo.stdout.matchAll(/npx workos-sync (\w+)/g)].map((match) => match[1]!);
    expect(hinted).toEqual(['backfill', 'run']);
    for (const command of hinted) expect((await npx([command, '--help'])).code).toBe(0);
  });

  it('npx workos-sync migrate --print-sql prints the migrations', async () => {
    const result = await npx(['migrate', '--print-sql'], { DATABASE_URL: await createDatabaseUrl() });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^create schema if not exists "workos";$/m);
    expect(result.stdout).toMatch(/create table "workos"\."connections"/);
  });

  it("import { createWorkosSync } from 'workos-sync' runs (migrate, status) and is typed", async () => {
    writeFileSync(
      join(project, 'check.mjs'),
      `import { createWorkosSync } from 'workos-sync';
if (typeof createWorkosSync !== 'function') throw new Error('createWorkosSync is ' + typeof createWorkosSync);
const sync = createWorkosSync({ database: { url: process.env.DATABASE_URL }, logLevel: 'silent' });
await sync.migrate();
console.log(JSON.stringify(await sync.status()));
await sync.close();
`,
    );
    const { stdout } = await run(node, ['check.mjs'], {
      cwd: project,
      env: { ...npmEnv(node), DATABASE_URL: await createDatabaseUrl() },
    });
    expect(JSON.parse(stdout)).toMatchObject({ cursor: null, quarantined: 0 });

    // Typed: a wrong option is an error (it would not be if the types resolved to `any`), and the
    // package's declarations check cleanly under the consumer's strict settings (skipLibCheck off).
    writeFileSync(
      join(project, 'check.ts'),
      `import { createWorkosSync, type WorkosSync } from 'workos-sync';
const sync: WorkosSync = createWorkosSync({ database: { dataDir: '.mirror' }, schema: 'mirror' });
// @ts-expect-error: a schema is a string
createWorkosSync({ schema: 42 });
export const status: Promise<{ cursor: string | null }> = sync.status();
`,
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          target: 'es2023',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
        },
        files: ['check.ts'],
      }),
    );
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const typecheck = await run(node, [tsc, '-p', 'tsconfig.json'], { cwd: project, env: npmEnv(node) }).then(
      () => '',
      (error: { stdout: string }) => error.stdout,
    );
    expect(typecheck).toBe('');
  });
});

it('workos-sync --version from the sources, too (npm run workos-sync)', async () => {
  expect(await runCli(['--version'], {})).toMatchObject({ code: 0, stdout: `${packageJson.version}\n` });
});

// Skipped on a machine without it, outside CI; under .ci/run (WORKOS_SYNC_CI=1) it runs, and fails without it.
describe.skipIf(!tooOld && !inCi)(
  `on a Node older than engines${tooOld ? ` (${versionOf(tooOld)})` : inCi ? ' (WORKOS_SYNC_TEST_TOO_OLD_NODE unset under WORKOS_SYNC_CI=1)' : ' (skipped: WORKOS_SYNC_TEST_TOO_OLD_NODE unset; .ci/run sets it)'}`,
  () => {
    it('the CLI refuses to start: one line naming the version it needs, exit code 2', async () => {
      expect(tooOld, 'WORKOS_SYNC_TEST_TOO_OLD_NODE is unset under WORKOS_SYNC_CI=1').toBeTruthy();
      const result = await npx(['demo'], {}, tooOld!);
      expect(result).toMatchObject({
        code: 2,
        stdout: '',
        stderr: `workos-sync: needs Node.js ${packageJson.engines.node} (this is ${versionOf(tooOld!)})\n`,
      });
    });
  },
);
