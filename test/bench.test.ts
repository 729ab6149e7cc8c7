/**
 * The benchmark cannot rot: `npm run bench -- --quick` runs every figure at a small size, into a
 * directory of its own (never over the committed full-run BENCHMARKS.md, results.json and
 * runs.json), and reports each figure with numbers. Speed is measured by the benchmark, never asserted here.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, inject, it } from 'vitest';
import { FIGURES, type Result } from '../bench/report.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const COMMITTED = [
  join(ROOT, 'bench', 'results.json'),
  join(ROOT, 'bench', 'runs.json'),
  join(ROOT, 'BENCHMARKS.md'),
];
const out = mkdtempSync(join(tmpdir(), 'workos-sync-bench-test-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

it('runs every figure at quick size and reports each one with numbers', { timeout: 300_000 }, async () => {
  const committedBefore = COMMITTED.map(contentOf);
  const { code, stdout, stderr } = await run(['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out], {
    ...process.env,
    // The suite's Postgres, rather than a second throwaway cluster.
    TEST_DATABASE_URL: inject('postgresUrl'),
  });
  expect(code, stderr.slice(-4000)).toBe(0);

  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Result[];
  expect(results.map((r) => r.figure)).toEqual(Object.values(FIGURES));
  for (const r of results) {
    expect(Object.keys(r).sort()).toEqual(['figure', 'limit', 'met', 'ratio', 'target', 'unit', 'value']);
    expect(Number.isFinite(r.value), r.figure).toBe(true);
    expect(r.value, r.figure).toBeGreaterThan(0);
    expect(r.unit, r.figure).not.toBe('');
    if (r.limit !== null) {
      expect(Number.isFinite(r.limit) && Number.isFinite(r.ratio), r.figure).toBe(true);
    }
    // Every figure with a target says whether it met it; the context rows have neither.
    expect(r.target === null ? r.met === null : typeof r.met === 'boolean', r.figure).toBe(true);
  }
  const withTargets = results.filter((r) => r.target !== null).map((r) => r.figure);
  expect(withTargets).toEqual([
    FIGURES.backfill,
    FIGURES.speedupLocal,
    FIGURES.latency,
    FIGURES.speedupLatency,
    FIGURES.reconcile,
    FIGURES.lagP99,
    FIGURES.nudgeNowP99,
    FIGURES.nudgeNowRequests,
    FIGURES.nudgeLateP99,
    FIGURES.nudgeLateRequests,
    FIGURES.domainPolledP99,
    FIGURES.domainNudgedP99,
    FIGURES.rssSmall,
    FIGURES.rssLarge,
    FIGURES.fleetRequests,
    FIGURES.fleetLagP99,
    FIGURES.fleetNudgedP99,
    FIGURES.fleetShare,
    FIGURES.fleetTakeover,
    FIGURES.fleetSessions,
  ]);

  const markdown = readFileSync(join(out, 'BENCHMARKS.md'), 'utf8');
  expect(markdown).toContain('npm run bench -- --quick --out');
  for (const figure of Object.values(FIGURES)) expect(markdown).toContain(`| ${figure} |`);
  expect(stdout).toContain('| figure |');
  expect(COMMITTED.map(contentOf)).toEqual(committedBefore);
});

it(
  'a partial run replaces its own figures and keeps the others, saying so',
  { timeout: 120_000 },
  async () => {
    // Over the whole quick run above: the reconciliation alone, again.
    const before = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Result[];
    const { code, stdout, stderr } = await run(
      ['--import', 'tsx', 'bench/run.ts', '--quick', '--only', 'reconcile', '--out', out],
      { ...process.env, TEST_DATABASE_URL: inject('postgresUrl') },
    );
    expect(code, stderr.slice(-4000)).toBe(0);
    expect(stdout).toContain('kept from the run that last measured each');
    const after = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Result[];
    expect(after.map((r) => r.figure)).toEqual(Object.values(FIGURES));
    const unchanged = (r: Result) => r.figure !== FIGURES.reconcile;
    expect(after.filter(unchanged)).toEqual(before.filter(unchanged));
    const markdown = readFileSync(join(out, 'BENCHMARKS.md'), 'utf8');
    expect(markdown).toContain('Written by more than one run');
    expect(markdown).toContain('| backfill, latency, live, memory, fleet | `npm run bench -- --quick --out');
    expect(markdown).toContain('| reconcile | `npm run bench -- --quick --only reconcile --out');
    for (const figure of Object.values(FIGURES)) expect(markdown).toContain(`| ${figure} |`);

    // Without what to keep beside it (no runs.json by the files), a partial run writes nothing.
    const bare = mkdtempSync(join(tmpdir(), 'workos-sync-bench-test-'));
    try {
      writeFileSync(join(bare, 'BENCHMARKS.md'), '# Benchmarks\n');
      const refused = await run(
        ['--import', 'tsx', 'bench/run.ts', '--only', 'fleet', '--out', bare],
        process.env,
      );
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('run the whole benchmark once');
      expect(readFileSync(join(bare, 'BENCHMARKS.md'), 'utf8')).toBe('# Benchmarks\n');
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  },
);

function contentOf(file: string): string | null {
  return existsSync(file) ? readFileSync(file, 'utf8') : null;
}

function run(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
