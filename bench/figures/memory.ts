/**
 * Figure 5 — peak RSS of the real `workos-sync backfill` command, in a child process, over two
 * histories an order of magnitude apart: memory must not grow with history.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HEAP_GROWING_PERCENT } from '../../src/heap-policy.ts';
import { CLI, compileCli, ROOT } from '../build.ts';
import { type BenchContext, count, seconds } from '../context.ts';
import { API_KEY, startEmulatorProcess } from '../emulator-process.ts';
import { FIGURES, type FigureOutput, row } from '../report.ts';

const PEAK_RSS = fileURLToPath(new URL('../peak-rss.ts', import.meta.url));
const MB = 1024 * 1024;
const CEILING_MB = 200;
/** For the note on what bounds the peak: the same backfill with V8's own heap growth policy. */
const V8_DEFAULT_GROWTH = '--heap-growing-percent=0';

interface Run {
  readonly events: number;
  readonly peakMb: number;
  /** Heap still reachable after a full collection at exit: what the process retains. */
  readonly liveHeapMb: number;
  readonly ms: number;
}

export async function memoryFigures(ctx: BenchContext): Promise<FigureOutput> {
  const [small, large] = ctx.sizes.memoryEvents;
  ctx.progress('peak RSS: compiling the command');
  compileCli();
  const baselineMb = await helpPeakMb();
  const a = await backfillInChild(ctx, small);
  const b = await backfillInChild(ctx, large);
  const v8Default = ctx.sizes.memoryV8DefaultRun
    ? await backfillInChild(ctx, small, [V8_DEFAULT_GROWTH])
    : null;
  return {
    rows: [
      row(FIGURES.rssSmall, `backfill of ${count(a.events)} events`, a.peakMb, 'MB', CEILING_MB, {
        text: `< ${CEILING_MB} MB`,
        met: (value) => value < CEILING_MB,
      }),
      row(FIGURES.rssLarge, `backfill of ${count(b.events)} events`, b.peakMb, 'MB', a.peakMb, {
        text: `≤ 1.1× the smaller history, < ${CEILING_MB} MB`,
        met: (value, ratio) => ratio !== null && ratio <= 1.1 && value < CEILING_MB,
      }),
    ],
    notes: [
      `Peak RSS of \`workos-sync backfill\` (compiled, as \`node dist/cli.js\` runs it; ${count(ctx.sizes.memoryConnections)} connections both times, so only the history differs): ${a.peakMb.toFixed(1)} MB for ${count(a.events)} events (${seconds(a.ms).toFixed(0)} s), ${b.peakMb.toFixed(1)} MB for ${count(b.events)} events (${seconds(b.ms).toFixed(0)} s). What the process retains — its heap after a full collection at exit — is ${a.liveHeapMb.toFixed(1)} MB and ${b.liveHeapMb.toFixed(1)} MB: pages are read a few ahead and applied a few at a time, so memory follows the page size, not the history.`,
      `Where the peak comes from: Node and the modules the command loads take ${baselineMb.toFixed(0)} MB (\`workos-sync --help\` peaks there; each command imports only its own modules); the rest is garbage not yet collected — pages live for a few hundred milliseconds, long enough to be promoted, and die in the old generation — bounded by how far the heap may grow past the live set before a full collection. The CLI sets that to ${HEAP_GROWING_PERCENT}% (\`src/heap-policy.ts\`).${
        v8Default
          ? ` With V8's own policy (\`node ${V8_DEFAULT_GROWTH}\`, up to 4× the live set on a machine with memory to spare) the ${count(small)}-event backfill peaked at ${v8Default.peakMb.toFixed(1)} MB in ${seconds(v8Default.ms).toFixed(0)} s (with the CLI's: ${a.peakMb.toFixed(1)} MB in ${seconds(a.ms).toFixed(0)} s).`
          : ''
      }`,
    ],
  };
}

/** Peak RSS of the command doing nothing but load: Node plus its modules. */
async function helpPeakMb(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'workos-sync-bench-'));
  try {
    const file = join(dir, 'peak-rss.json');
    await run(process.execPath, ['--import', PEAK_RSS, CLI, '--help'], {
      ...process.env,
      BENCH_PEAK_RSS_FILE: file,
    });
    return ((JSON.parse(readFileSync(file, 'utf8')) as { peakKb: number }).peakKb * 1024) / MB;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function backfillInChild(
  ctx: BenchContext,
  events: number,
  nodeFlags: readonly string[] = [],
): Promise<Run> {
  ctx.progress(`peak RSS: generating ${count(events)} events`);
  // The emulator keeps the whole history in memory; the engine must not.
  const emulator = await startEmulatorProcess(
    { seed: 5, events, connections: ctx.sizes.memoryConnections },
    { heapMb: 8192 },
  );
  const db = await ctx.postgres.createDatabase({ migrate: false });
  const dir = mkdtempSync(join(tmpdir(), 'workos-sync-bench-'));
  const rssFile = join(dir, 'peak-rss.json');
  try {
    const flags = nodeFlags.length === 0 ? '' : `, node ${nodeFlags.join(' ')}`;
    ctx.progress(`peak RSS: workos-sync backfill of ${count(events)} events in a child process${flags}`);
    const started = performance.now();
    const { code, stdout, stderr } = await run(
      process.execPath,
      [...nodeFlags, '--expose-gc', '--import', PEAK_RSS, CLI, 'backfill', '--json'],
      {
        ...process.env,
        WORKOS_API_KEY: API_KEY,
        WORKOS_API_URL: emulator.url,
        DATABASE_URL: db.url,
        LOG_LEVEL: 'warn',
        BENCH_PEAK_RSS_FILE: rssFile,
      },
    );
    const ms = performance.now() - started;
    if (code !== 0) throw new Error(`backfill exited with ${code}: ${stderr.slice(-2000)}`);
    const summary = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { events?: number };
    if (summary.events !== events) throw new Error(`backfill applied ${summary.events} of ${events} events`);
    const peak = JSON.parse(readFileSync(rssFile, 'utf8')) as { peakKb: number; liveHeapBytes: number };
    return { events, peakMb: (peak.peakKb * 1024) / MB, liveHeapMb: peak.liveHeapBytes / MB, ms };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await db.close();
    await emulator.close();
  }
}

function run(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    // Progress lines arrive every 2 s: keep the tail only.
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-8000);
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
