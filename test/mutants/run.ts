/**
 * Breaks the project's invariants on purpose, one line at a time, and checks that a test fails:
 * a suite is as strong as the bugs it catches. Each mutant in `mutants.ts` is an exact-text
 * patch to one source file; for each, this applies it, runs the tests named with it (or with
 * `--all`, the whole suite), records the first failing test and its first assertion message,
 * and restores the file, whatever happens. Not part of `npm test`: about 20 minutes for all.
 *
 *   npx tsx test/mutants/run.ts                 every mutant, against its own tests
 *   npx tsx test/mutants/run.ts 3 7             only these
 *   npx tsx test/mutants/run.ts --all 3         against the whole suite (both projects)
 *
 * Before any mutant, two checks, each of which stops the run (exit 2) saying why: every chosen
 * mutant still applies (its text is found exactly once — one that no longer applies would pass
 * for killed while nothing is tested), and the tests it will run pass unmutated (a test failing
 * already would kill every mutant). Prints a Markdown table: mutant, rule, killed by (test), first
 * assertion message, and the patch's digest (`patchDigest`), which the README's copy of the table
 * must carry for each row. It edits the checkout it runs in: run it in a worktree of its own
 * (`git worktree add ../mutants`) if you go on working meanwhile.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Mutant, mutants, patchDigest } from './mutants.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const args = process.argv.slice(2);
const all = args.includes('--all');
const wanted = new Set(args.filter((a) => a !== '--all').map(Number));
const chosen = mutants.filter((m) => wanted.size === 0 || wanted.has(m.id));

interface Outcome {
  readonly mutant: Mutant;
  readonly killedBy: string | null;
  readonly message: string;
}

interface VitestJson {
  testResults: {
    name: string;
    assertionResults: { fullName: string; status: string; failureMessages: string[] }[];
    message?: string;
  }[];
}

/** Why a mutant cannot be applied, or null when its text is in its file exactly once. */
function unappliable(mutant: Mutant): string | null {
  const original = readFileSync(join(root, mutant.file), 'utf8');
  const found = original.split(mutant.find).length - 1;
  return found === 1
    ? null
    : `mutant ${mutant.id}: its text is found ${found} times in ${mutant.file}, not once: update mutants.ts`;
}

function apply(mutant: Mutant): () => void {
  const path = join(root, mutant.file);
  const original = readFileSync(path, 'utf8');
  const at = original.indexOf(mutant.find);
  writeFileSync(path, original.slice(0, at) + mutant.replace + original.slice(at + mutant.find.length));
  return () => writeFileSync(path, original);
}

/** The first failing test of a run of `files` (all of them with `--all`), or null when all pass. */
function firstFailure(files: readonly string[]): { readonly test: string; readonly message: string } | null {
  const out = mkdtempSync(join(tmpdir(), 'workos-sync-mutant-'));
  const report = join(out, 'report.json');
  try {
    // The tests named, in whichever tier each is (the embedded re-runs add nothing here).
    const projects = all ? [] : ['--project', 'pure', '--project', 'postgres', '--project', 'e2e'];
    spawnSync(
      process.execPath,
      [
        'node_modules/vitest/vitest.mjs',
        'run',
        ...projects,
        '--reporter=json',
        `--outputFile=${report}`,
        ...(all ? [] : files),
      ],
      { cwd: root, stdio: ['ignore', 'ignore', 'ignore'], timeout: 30 * 60_000 },
    );
    const json = JSON.parse(readFileSync(report, 'utf8')) as VitestJson;
    for (const file of json.testResults) {
      const failed = file.assertionResults.find((t) => t.status === 'failed');
      if (failed) {
        const message = (failed.failureMessages[0] ?? '').split('\n')[0]!.slice(0, 160);
        return { test: `${file.name.slice(root.length)} > ${failed.fullName}`, message };
      }
      if (file.message) return { test: file.name.slice(root.length), message: file.message.split('\n')[0]! };
    }
    return null;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const problems = chosen.map(unappliable).filter((problem) => problem !== null);
if (problems.length > 0) {
  process.stderr.write(`${problems.join('\n')}\n`);
  process.exit(2);
}
const baselineFiles = [...new Set(chosen.flatMap((m) => m.tests))];
process.stderr.write(`baseline: ${all ? 'the whole suite' : baselineFiles.join(' ')}, unmutated … `);
const red = firstFailure(baselineFiles);
if (red) {
  process.stderr.write(
    `FAILED\n${red.test}: ${red.message}\nA test that fails already kills every mutant: fix it first.\n`,
  );
  process.exit(2);
}
process.stderr.write('green\n');

const outcomes: Outcome[] = [];
for (const mutant of chosen) {
  const restore = apply(mutant);
  const stop = () => {
    restore();
    process.exit(130);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    process.stderr.write(`mutant ${mutant.id}: ${mutant.rule} … `);
    const failure = firstFailure(mutant.tests);
    const outcome = { mutant, killedBy: failure?.test ?? null, message: failure?.message ?? '' };
    process.stderr.write(outcome.killedBy ? 'killed\n' : 'SURVIVED\n');
    outcomes.push(outcome);
  } finally {
    restore();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
process.stdout.write(
  '| # | broken on purpose | killed by | first assertion message | patch |\n|---|---|---|---|---|\n',
);
for (const { mutant, killedBy, message } of outcomes) {
  process.stdout.write(
    `| ${mutant.id} | ${cell(mutant.rule)} (\`${mutant.file}\`) | ${killedBy ? cell(killedBy) : '**survived**'} | ${cell(message)} | \`${patchDigest(mutant)}\` |\n`,
  );
}
process.exitCode = outcomes.some((o) => o.killedBy === null) ? 1 : 0;
