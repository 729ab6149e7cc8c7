/**
 * `npm run bench`: every figure of issue 5, each beside the limit it is measured against in the
 * same run; prints the table, writes bench/results.json and BENCHMARKS.md (or both into --out),
 * and bench/runs.json, from which a partial run (`--only`) keeps the figures it did not run.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FIGURE_KEYS, type FigureKey, parseBenchArgs, USAGE } from './args.ts';
import { type BenchContext, count } from './context.ts';
import { postmasterPid } from './cpu.ts';
import { backfillFigures } from './figures/backfill.ts';
import { fleetFigures } from './figures/fleet.ts';
import { latencyFigures } from './figures/latency.ts';
import { liveLagFigures } from './figures/live-lag.ts';
import { memoryFigures } from './figures/memory.ts';
import { reconcileFigures } from './figures/reconcile.ts';
import { describeMachine, loadAverage } from './machine.ts';
import { startBenchPostgres } from './postgres.ts';
import {
  defaultPaths,
  type FigureOutput,
  type GroupOutput,
  partialRunProblem,
  table,
  writeMergedResults,
} from './report.ts';
import { FULL, QUICK } from './sizes.ts';
import { registerBenchTracing } from './tracing.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const RUNNERS: Record<FigureKey, (ctx: BenchContext) => Promise<FigureOutput>> = {
  backfill: backfillFigures,
  latency: latencyFigures,
  reconcile: reconcileFigures,
  live: liveLagFigures,
  memory: memoryFigures,
  fleet: fleetFigures,
};

async function main(): Promise<void> {
  let args: ReturnType<typeof parseBenchArgs>;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    process.exit(2);
  }
  const paths = defaultPaths(args.outDir, ROOT);
  const problem = partialRunProblem(paths, args.only, FIGURE_KEYS);
  if (problem !== null) {
    process.stderr.write(`bench: ${problem}\n`);
    process.exit(2);
  }
  const startedAt = new Date();
  const started = performance.now();
  const loadBefore = loadAverage();
  const machine = describeMachine();
  const postgres = await startBenchPostgres();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s`;
  const ctx: BenchContext = {
    postgres,
    sizes: args.quick ? QUICK : FULL,
    latencyMs: args.latencyMs,
    cores: machine.cores,
    postgresPid: postmasterPid(postgres.server.url),
    progress: (message) => process.stderr.write(`[bench ${elapsed()}] ${message}\n`),
  };
  ctx.progress(
    `${machine.cores} cores, Node ${machine.node}, PostgreSQL ${postgres.version} (${postgres.server.kind})`,
  );

  const tracing = args.tracing ? registerBenchTracing() : null;
  const groups: GroupOutput[] = [];
  try {
    // In the file's order, whatever the order given.
    for (const key of FIGURE_KEYS.filter((k) => args.only.includes(k)))
      groups.push({ key, ...(await RUNNERS[key](ctx)) });
  } finally {
    await postgres.stop();
  }
  if (tracing) ctx.progress(`tracing: ${count(await tracing.stop())} spans recorded and exported`);

  if (args.outDir !== null) mkdirSync(args.outDir, { recursive: true });
  const info = {
    machine,
    postgres: postgres.version,
    command: args.command,
    quick: args.quick,
    startedAt,
    durationMs: performance.now() - started,
    loadBefore,
    loadAfter: loadAverage(),
  };
  const kept = writeMergedResults(paths, groups, info, FIGURE_KEYS);
  const keptText = kept.length > 0 ? ` (${kept.join(', ')} kept from the run that last measured each)` : '';
  process.stdout.write(
    `${table(groups.flatMap((g) => g.rows))}\n\nwrote ${paths.json} and ${paths.markdown}${keptText} in ${elapsed().trim()}\n`,
  );
  // Postgres, the emulators and their sockets are closed; anything left is a leak, not work.
  process.exit(0);
}

await main();
