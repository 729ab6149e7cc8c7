/**
 * `npm run bench`: every figure of issue 5, each beside the limit it is measured against in the
 * same run; prints the table, writes bench/results.json and BENCHMARKS.md (or both into --out).
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type FigureKey, parseBenchArgs, USAGE } from './args.ts';
import type { BenchContext } from './context.ts';
import { postmasterPid } from './cpu.ts';
import { backfillFigures } from './figures/backfill.ts';
import { latencyFigures } from './figures/latency.ts';
import { liveLagFigures } from './figures/live-lag.ts';
import { memoryFigures } from './figures/memory.ts';
import { reconcileFigures } from './figures/reconcile.ts';
import { describeMachine, loadAverage } from './machine.ts';
import { startBenchPostgres } from './postgres.ts';
import { defaultPaths, type FigureOutput, type Row, table, writeResults } from './report.ts';
import { FULL, QUICK } from './sizes.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const RUNNERS: Record<FigureKey, (ctx: BenchContext) => Promise<FigureOutput>> = {
  backfill: backfillFigures,
  latency: latencyFigures,
  reconcile: reconcileFigures,
  live: liveLagFigures,
  memory: memoryFigures,
};

async function main(): Promise<void> {
  let args: ReturnType<typeof parseBenchArgs>;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
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

  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    for (const key of args.only) {
      const output = await RUNNERS[key](ctx);
      rows.push(...output.rows);
      notes.push(...output.notes);
    }
  } finally {
    await postgres.stop();
  }

  const paths = defaultPaths(args.outDir, ROOT);
  if (args.outDir !== null) mkdirSync(args.outDir, { recursive: true });
  writeResults(paths, rows, notes, {
    machine,
    postgres: postgres.version,
    command: args.command,
    quick: args.quick,
    startedAt,
    durationMs: performance.now() - started,
    loadBefore,
    loadAfter: loadAverage(),
  });
  process.stdout.write(
    `${table(rows)}\n\nwrote ${paths.json} and ${paths.markdown} in ${elapsed().trim()}\n`,
  );
  // Postgres, the emulators and their sockets are closed; anything left is a leak, not work.
  process.exit(0);
}

await main();
