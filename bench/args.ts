/** `npm run bench -- [--quick] [--out DIR] [--latency MS] [--only a,b] [--tracing]`: parsed, validated. */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

export const FIGURE_KEYS = ['backfill', 'latency', 'reconcile', 'live', 'memory', 'fleet'] as const;
export type FigureKey = (typeof FIGURE_KEYS)[number];

export interface BenchArgs {
  readonly quick: boolean;
  /** Where results.json and BENCHMARKS.md go; the committed full-run files by default. */
  readonly outDir: string | null;
  /** The modelled WorkOS round trip, per request. */
  readonly latencyMs: number;
  readonly only: readonly FigureKey[];
  /** An OpenTelemetry SDK registered first (bench/tracing.ts): what the spans cost when recorded. */
  readonly tracing: boolean;
  /** The command line as typed, for the report. */
  readonly command: string;
}

export const USAGE = `usage: npm run bench -- [--quick] [--out DIR] [--latency MS] [--only ${FIGURE_KEYS.join(',')}] [--tracing]
  --quick       every figure at a small size (under a minute)
  --out DIR     write results.json and BENCHMARKS.md to DIR instead of bench/ and the repository root
  --latency MS  modelled WorkOS round trip per request (default 80)
  --only LIST   run only these figures
  --tracing     with an OpenTelemetry SDK registered: every span recorded, batched, then dropped`;

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      latency: { type: 'string', default: '80' },
      only: { type: 'string' },
      tracing: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const latencyMs = Number(values.latency);
  if (!Number.isInteger(latencyMs) || latencyMs < 0)
    throw new Error(`--latency must be a whole number of ms`);
  const only = values.only === undefined ? [...FIGURE_KEYS] : values.only.split(',').map((s) => s.trim());
  for (const key of only) {
    if (!(FIGURE_KEYS as readonly string[]).includes(key))
      throw new Error(`--only: unknown figure "${key}" (one of ${FIGURE_KEYS.join(', ')})`);
  }
  // The committed figures are the untraced ones: a traced run is for a comparison beside them.
  if (values.tracing && values.out === undefined) throw new Error('--tracing needs --out DIR');
  return {
    quick: values.quick,
    outDir: values.out === undefined ? null : resolve(values.out),
    latencyMs,
    only: only as FigureKey[],
    tracing: values.tracing,
    command: ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' '),
  };
}
