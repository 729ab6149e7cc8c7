/**
 * The results: rows of `{figure, value, unit, limit, ratio, target, met}` (bench/results.json) and
 * the same as a table in BENCHMARKS.md, with the machine, the command, how each figure is
 * measured, and what the run observed about whatever missed its target.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Machine } from './machine.ts';

export interface Result {
  readonly figure: string;
  readonly value: number;
  readonly unit: string;
  /** What the figure is measured against, in the same unit, measured in the same run. */
  readonly limit: number | null;
  /** value ÷ limit. */
  readonly ratio: number | null;
  /** The issue's target, on the ratio or the value; null for a figure reported for context. */
  readonly target: string | null;
  readonly met: boolean | null;
}

/** A result with what it was measured over (the table shows it; results.json keeps the six fields). */
export interface Row extends Result {
  readonly detail: string;
}

export interface FigureOutput {
  readonly rows: readonly Row[];
  /** What this run observed, for BENCHMARKS.md (bounds, checks). */
  readonly notes: readonly string[];
}

/** Every figure a run reports, in order; the test checks results.json has each. */
export const FIGURES = {
  backfill: 'backfill, local',
  backfillRate: 'backfill, local: events/s',
  fetchOnly: 'backfill, local: fetch-only',
  writeOnly: 'backfill, local: write-only (COPY)',
  speedupLocal: 'speed-up over the straightforward loop, local',
  latency: 'backfill, modelled round trip',
  speedupLatency: 'speed-up over the straightforward loop, modelled round trip',
  reconcile: 'reconciliation, 1% drift',
  lagP50: 'live lag p50',
  lagP99: 'live lag p99',
  requestsPolling: 'WorkOS requests/min, 1 s polling',
  nudgeNowP50: 'live lag p50, webhook nudge, listed at once',
  nudgeNowP99: 'live lag p99, webhook nudge, listed at once',
  nudgeNowRequests: 'WorkOS requests/min, webhook nudge, listed at once',
  nudgeLateP50: 'live lag p50, webhook nudge, listed 1 s late',
  nudgeLateP99: 'live lag p99, webhook nudge, listed 1 s late',
  nudgeLateRequests: 'WorkOS requests/min, webhook nudge, listed 1 s late',
  domainPolledP50: 'domain changed → routing query right, p50, 1 s polling',
  domainPolledP99: 'domain changed → routing query right, p99, 1 s polling',
  domainNudgedP50: 'domain changed → routing query right, p50, webhook nudge',
  domainNudgedP99: 'domain changed → routing query right, p99, webhook nudge',
  domainRequests: 'WorkOS requests per domain event, webhook nudge',
  rssSmall: 'peak RSS, smaller history',
  rssLarge: 'peak RSS, larger history',
} as const;

export function row(
  figure: string,
  detail: string,
  value: number,
  unit: string,
  limit: number | null = null,
  target: {
    readonly text: string;
    readonly met: (value: number, ratio: number | null) => boolean;
  } | null = null,
): Row {
  const ratio = limit === null || limit === 0 ? null : value / limit;
  return {
    figure,
    detail,
    value,
    unit,
    limit,
    ratio,
    target: target?.text ?? null,
    met: target ? target.met(value, ratio) : null,
  };
}

export interface RunInfo {
  readonly machine: Machine;
  readonly postgres: string;
  readonly command: string;
  readonly quick: boolean;
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly loadBefore: number;
  readonly loadAfter: number;
}

/**
 * The heading of BENCHMARKS.md's last section: figures measured by hand, not by this benchmark (the
 * package's size, how long installing it takes, CI's time). A run keeps that section as it finds
 * it; `test/package.test.ts` reads the tarball's size there.
 */
export const BY_HAND = '## Measured by hand';

/** BENCHMARKS.md's section of figures measured by hand, from its heading to the end; null without one. */
export function measuredByHand(markdown: string): string | null {
  const at = markdown.indexOf(`\n${BY_HAND}\n`);
  return at === -1 ? null : markdown.slice(at + 1);
}

export function writeResults(
  paths: { readonly json: string; readonly markdown: string },
  rows: readonly Row[],
  notes: readonly string[],
  info: RunInfo,
): void {
  const results: Result[] = rows.map(({ detail: _detail, ...result }) => ({
    ...result,
    value: round(result.value),
    limit: result.limit === null ? null : round(result.limit),
    ratio: result.ratio === null ? null : round(result.ratio),
  }));
  writeFileSync(paths.json, `${JSON.stringify(results, null, 2)}\n`);
  const kept = existsSync(paths.markdown) ? measuredByHand(readFileSync(paths.markdown, 'utf8')) : null;
  const written = markdown(rows, notes, info);
  writeFileSync(paths.markdown, kept === null ? written : `${written}\n${kept}`);
}

export function defaultPaths(outDir: string | null, root: string): { json: string; markdown: string } {
  return outDir === null
    ? { json: join(root, 'bench', 'results.json'), markdown: join(root, 'BENCHMARKS.md') }
    : { json: join(outDir, 'results.json'), markdown: join(outDir, 'BENCHMARKS.md') };
}

/** The table as printed and as written into BENCHMARKS.md. */
export function table(rows: readonly Row[]): string {
  const lines = [
    '| figure | measured over | value | limit (same run) | ratio | target | met |',
    '|---|---|--:|--:|--:|---|:-:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.figure} | ${r.detail} | ${format(r.value, r.unit)} | ${r.limit === null ? '' : format(r.limit, r.unit)} | ${
        r.ratio === null ? '' : `${r.ratio.toFixed(2)}×`
      } | ${r.target ?? ''} | ${r.met === null ? '' : r.met ? 'yes' : '**no**'} |`,
    );
  }
  return lines.join('\n');
}

function markdown(rows: readonly Row[], notes: readonly string[], info: RunInfo): string {
  const m = info.machine;
  return `# Benchmarks

Written by \`${info.command}\` (${info.quick ? 'quick sizes' : 'full sizes'}) on ${info.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC; the run took ${(info.durationMs / 60_000).toFixed(1)} min. Rerun it to refresh this file and \`bench/results.json\`; do not edit by hand, except the last section ("${BY_HAND.slice(3)}"), which a run keeps as it is.

Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGb} GB memory, ${m.platform}, Node ${m.node}, PostgreSQL ${info.postgres}. Load average (1 min) ${info.loadBefore} before the run and ${info.loadAfter} after: other work on the machine shares the same cores.

${table(rows)}

Each figure stands beside the limit it is measured against, measured in the same run; \`ratio\` is value ÷ limit (for the speed-ups: our rate ÷ the straightforward loop's rate).

## How each figure is measured

- **Emulator and SDK.** WorkOS is the bundled emulator (\`emulator/\`) in a child process of its own — WorkOS's CPU is not the engine's — serving a seeded scenario (\`generateScenario\`); the engine talks to it over HTTP through the real \`@workos-inc/node\` SDK, exactly as in production. Postgres is the one the tests use (\`test/support/postgres-server.ts\`: \`TEST_DATABASE_URL\`, else Testcontainers, else a throwaway cluster from the machine's binaries with \`fsync=off\`), a fresh migrated database per measurement.
- **backfill, local** — \`poll\` (what \`backfill\` runs once the first reconciliation is done) from an empty database over the whole stream, no added latency. Its limit is the slower of two ways to do only half the job: **fetch-only**, every page fetched in order through the same SDK client and events source with no database; **write-only**, the rows that backfill left in \`events\`, \`connections\`, \`connection_domains\` and \`connection_certificates\`, read back out and written into a fresh database (same tables and indexes) with \`COPY ... FROM STDIN\` (the COPY sub-protocol spoken over the plain \`pg\` client, \`bench/copy.ts\`; \`pg-copy-streams\` is not a dependency).
- **backfill, modelled round trip** — the same, over a smaller stream, with the emulator holding every request for the round trip (\`--latency\`, default 80 ms) before answering. Its limit is the number of \`/events\` requests the backfill made × the round trip: the time just waiting for WorkOS takes, since each page's cursor is the previous page's last id.
- **reconciliation** — \`reconcile()\` against List Connections with the mirror already reconciled once and 1% of the connections then changed silently (a third renamed, a third deleted, a third new). Its limit is listing-only: every page of \`GET /connections\` fetched through the same SDK client, with no validation, certificate parsing or database.
- **live lag** — the real worker (\`startWorker\`, polling every second: \`* * * * * *\`) runs in-process; the emulator creates connection events at a steady rate; a watcher polls \`events\` every 10 ms and takes, for each event, the time it became visible minus its \`created_at\`. The emulator makes events visible at once (WorkOS takes a few seconds; that delay is WorkOS's, not the engine's). The limit is the poll period. **WorkOS requests/min** counts the emulator's \`GET /events\` requests over the stream.
- **webhook nudge** — the worker as \`run\` runs it with \`WORKOS_WEBHOOK_SECRET\` (\`createWorkosSync\` over the database's URL: the receiver on its own listener, the nudge through NOTIFY to the lease holder), polling every 30 s (\`*/30 * * * * *\`); the emulator posts each event's webhook signed as WorkOS signs, and lists the event on \`GET /events\` at once or 1 s after creating it (WorkOS: a few seconds). Events come one at a time, after three unmeasured ones from which the look schedule learns the listing delay: the lag over 120 events 1.5 s apart (each event's looks are over before the next arrives; its p99 is not its maximum), the requests a minute over 12 events 25 s apart (connection changes are rare; at tens a second, 1 s polling costs fewer requests), counted over whole intervals between events, against the 1 s polling figure's. Lag is measured as above, from the event's creation; the limit is the listing delay. The worker's debug log says, for each nudged event, how many looks missed it and when the one that found it began: the notes below count them and explain the slowest.
- **domain changed → routing query right** — organizations WorkOS knows (20, each with an active connection that lists its domains), and a stream of domain events round them: a domain added, then verified, then removed. The worker polls every second (\`startWorker\`), or is nudged on a 30 s schedule as above (events listed at once). The watcher takes, for each domain event, the time it became visible in \`events\` minus its creation, and checks at that instant that \`domain_routes\` answers the domain in the event's state (or no longer answers it): the event, the domain row and the refresh of the organization's connections commit together. The limit is the poll period (polling) or the listing delay (nudged). **Requests per domain event** counts \`GET /events\` and the refreshes' \`GET /connections?organization_id=\` over the stream, divided by its events.
- **peak RSS** — the real \`workos-sync backfill\` command (compiled as \`npm run build\` compiles it, into \`node_modules/.cache/workos-sync-bench\`; reconciliation first, then every event) in a child process against a fresh database, over the same connections both times so only the history differs. The child reports its peak (VmHWM) and its heap after a full collection as it exits (\`bench/peak-rss.ts\`, preloaded with \`--import\`). Target: the larger history within 10% of the smaller, and under 200 MB.
- **straightforward loop** — the loop of WorkOS's guide (\`bench/straightforward-loop.ts\`): fetch a page, then for each event one transaction that applies it and writes the cursor, then fetch the next page. It reuses the engine's parser, handlers and guarded writes, so both leave identical tables (checked on the modelled-round-trip data). Locally it runs the first part of the same stream (one transaction per event is slow; its rate does not change along the stream); its rate is compared with the engine's.

## Observations from this run

${notes.map((n) => `- ${n}`).join('\n')}
`;
}

function format(value: number, unit: string): string {
  const digits = unit === 's' ? 2 : unit === 'MB' ? 1 : 0;
  const text = value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
  return `${text} ${unit}`;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
