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
 * Prints a Markdown table: mutant, rule, killed by (test), first assertion message. It edits
 * the checkout it runs in: run it in a worktree of its own (`git worktree add ../mutants`) if
 * you go on working meanwhile.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Mutant, mutants } from './mutants.ts';

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

function apply(mutant: Mutant): () => void {
  const path = join(root, mutant.file);
  const original = readFileSync(path, 'utf8');
  const at = original.indexOf(mutant.find);
  if (at === -1 || original.indexOf(mutant.find, at + 1) !== -1) {
    throw new Error(
      `mutant ${mutant.id}: its text is not found exactly once in ${mutant.file}: update mutants.ts`,
    );
  }
  writeFileSync(path, original.slice(0, at) + mutant.replace + original.slice(at + mutant.find.length));
  return () => writeFileSync(path, original);
}

function runTests(mutant: Mutant): Outcome {
  const out = mkdtempSync(join(tmpdir(), 'workos-sync-mutant-'));
  const report = join(out, 'report.json');
  try {
    // A mutant's own tests, in whichever tier each is (the embedded re-runs add nothing here).
    const projects = all ? [] : ['--project', 'pure', '--project', 'postgres', '--project', 'e2e'];
    const files = all ? [] : mutant.tests;
    spawnSync(
      process.execPath,
      [
        'node_modules/vitest/vitest.mjs',
        'run',
        ...projects,
        '--reporter=json',
        `--outputFile=${report}`,
        ...files,
      ],
      { cwd: root, stdio: ['ignore', 'ignore', 'ignore'], timeout: 30 * 60_000 },
    );
    const json = JSON.parse(readFileSync(report, 'utf8')) as VitestJson;
    for (const file of json.testResults) {
      const failed = file.assertionResults.find((t) => t.status === 'failed');
      if (failed) {
        const message = (failed.failureMessages[0] ?? '').split('\n')[0]!.slice(0, 160);
        return { mutant, killedBy: `${file.name.slice(root.length)} > ${failed.fullName}`, message };
      }
      if (file.message)
        return { mutant, killedBy: file.name.slice(root.length), message: file.message.split('\n')[0]! };
    }
    return { mutant, killedBy: null, message: '' };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

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
    const outcome = runTests(mutant);
    process.stderr.write(outcome.killedBy ? 'killed\n' : 'SURVIVED\n');
    outcomes.push(outcome);
  } finally {
    restore();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
process.stdout.write('| # | broken on purpose | killed by | first assertion message |\n|---|---|---|---|\n');
for (const { mutant, killedBy, message } of outcomes) {
  process.stdout.write(
    `| ${mutant.id} | ${cell(mutant.rule)} (\`${mutant.file}\`) | ${killedBy ? cell(killedBy) : '**survived**'} | ${cell(message)} |\n`,
  );
}
process.exitCode = outcomes.some((o) => o.killedBy === null) ? 1 : 0;
