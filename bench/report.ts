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
  fleetRequests: 'fleet: WorkOS requests/min, all replicas',
  fleetLagP50: 'fleet: lag p50, active environment, un-nudged',
  fleetLagP99: 'fleet: lag p99, active environment, un-nudged',
  fleetNudgedP50: 'fleet: lag p50, active environment, webhook nudge',
  fleetNudgedP99: 'fleet: lag p99, active environment, webhook nudge',
  fleetShare: 'fleet: environments per replica, most held',
  fleetTakeover: "fleet: a SIGKILLed replica's environments held again",
  fleetRss: 'fleet: peak RSS per replica, most',
  fleetSessions: 'fleet: Postgres sessions, peak',
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

export interface ResultPaths {
  readonly json: string;
  readonly markdown: string;
  /**
   * What each group of figures was last measured as (its run, its rows with what they were
   * measured over, its notes): what a partial run (`--only`) merges with.
   */
  readonly runs?: string | undefined;
}

/** One group of figures (one runner of bench/figures/) as a run measured it. */
export interface GroupOutput extends FigureOutput {
  readonly key: string;
}

/** bench/runs.json: each group as the last run that measured it left it. */
interface RunsFile {
  readonly groups: Record<string, StoredGroup>;
}

interface StoredGroup {
  readonly run: Omit<RunInfo, 'startedAt'> & { readonly startedAt: string };
  readonly rows: readonly Row[];
  /** One object a note: JSON arrays of strings are what Biome would reflow. */
  readonly notes: readonly { readonly note: string }[];
}

interface Group extends GroupOutput {
  readonly run: RunInfo;
}

/** One run's figures, replacing whatever the files held (the whole benchmark, or a test's). */
export function writeResults(
  paths: ResultPaths,
  rows: readonly Row[],
  notes: readonly string[],
  info: RunInfo,
): void {
  writeGroups(paths, [{ key: 'all', rows, notes, run: info }]);
}

/**
 * A run's groups of figures, merged with the previous runs' for the groups it did not run
 * (`order`, every group there is, in the order the file lists them): those are kept as
 * bench/runs.json has them, and the header says which figures come from which run. Returns the
 * groups kept.
 */
export function writeMergedResults(
  paths: ResultPaths & { readonly runs: string },
  ran: readonly GroupOutput[],
  info: RunInfo,
  order: readonly string[],
): string[] {
  const previous = readRuns(paths.runs);
  const groups: Group[] = [];
  const kept: string[] = [];
  for (const key of order) {
    const now = ran.find((g) => g.key === key);
    const before = previous?.groups[key];
    if (now) groups.push({ ...now, run: info });
    else if (before) {
      kept.push(key);
      groups.push({
        key,
        rows: before.rows,
        notes: before.notes.map((n) => n.note),
        run: { ...before.run, startedAt: new Date(before.run.startedAt) },
      });
    }
  }
  const runs: RunsFile = {
    groups: Object.fromEntries(
      groups.map((g) => [
        g.key,
        {
          run: { ...g.run, startedAt: g.run.startedAt.toISOString() },
          rows: g.rows,
          notes: g.notes.map((note) => ({ note })),
        },
      ]),
    ),
  };
  writeFileSync(paths.runs, `${JSON.stringify(runs, null, 2)}\n`);
  writeGroups(paths, groups);
  return kept;
}

/**
 * Why a run of only `only` (of `all`) must not write to `paths`: it would replace BENCHMARKS.md
 * and results.json, and bench/runs.json does not hold the other groups to keep. Null when it may.
 */
export function partialRunProblem(
  paths: ResultPaths & { readonly runs: string },
  only: readonly string[],
  all: readonly string[],
): string | null {
  const others = all.filter((key) => !only.includes(key));
  if (others.length === 0 || !(existsSync(paths.markdown) || existsSync(paths.json))) return null;
  const stored = readRuns(paths.runs);
  const missing = others.filter((key) => stored?.groups[key] === undefined);
  if (missing.length === 0) return null;
  return `--only ${only.join(',')} would replace ${paths.markdown} and ${paths.json}, and ${paths.runs} does not hold the figures to keep beside them (${missing.join(', ')}): run the whole benchmark once (it writes that file), or write elsewhere (--out DIR)`;
}

function readRuns(file: string | undefined): RunsFile | null {
  return file !== undefined && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as RunsFile) : null;
}

function writeGroups(paths: ResultPaths, groups: readonly Group[]): void {
  const rows = groups.flatMap((g) => g.rows);
  const results: Result[] = rows.map(({ detail: _detail, ...result }) => ({
    ...result,
    value: round(result.value),
    limit: result.limit === null ? null : round(result.limit),
    ratio: result.ratio === null ? null : round(result.ratio),
  }));
  writeFileSync(paths.json, `${JSON.stringify(results, null, 2)}\n`);
  const kept = existsSync(paths.markdown) ? measuredByHand(readFileSync(paths.markdown, 'utf8')) : null;
  const written = markdown(groups);
  writeFileSync(paths.markdown, kept === null ? written : `${written}\n${kept}`);
}

export function defaultPaths(
  outDir: string | null,
  root: string,
): { json: string; markdown: string; runs: string } {
  return outDir === null
    ? {
        json: join(root, 'bench', 'results.json'),
        markdown: join(root, 'BENCHMARKS.md'),
        runs: join(root, 'bench', 'runs.json'),
      }
    : {
        json: join(outDir, 'results.json'),
        markdown: join(outDir, 'BENCHMARKS.md'),
        runs: join(outDir, 'runs.json'),
      };
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

function markdown(groups: readonly Group[]): string {
  const rows = groups.flatMap((g) => g.rows);
  const notes = groups.flatMap((g) => g.notes);
  return `# Benchmarks

${header(groups)}

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
- **fleet** — \`run\` as a fleet is deployed: the command compiled as for peak RSS, 3 replicas in child processes started together on one database, one environments file declaring 1,000 environments (each key from its own variable; each environment a world of its own in the one emulator, 2 connections each activated once), \`WORKOS_SYNC_POOL_SIZE=10\`, every other setting the code's default except reconciliations (yearly: every environment's hourly one at the same minute would fall in some runs' window and not others'; each environment's first one runs all the same). Once every mirror has caught up and each replica holds its share (waited for, not slept), 5% of the environments change — a connection activated or deactivated in each every 5 s, spread evenly — for 60 s. Half of those have a webhook secret in the file, and the emulator posts their changes' webhooks, signed with it, to one replica's receiver (\`POST /webhooks/<environment>\`, the environments dealt round the replicas; the holder hears of it on the nudge bus); events are listed at once. **WorkOS requests/min** counts every request the emulator answered over that window, all replicas and environments together, against \`WORKOS_SYNC_REQUESTS_PER_MINUTE\` (met when within it, one burst allowed). **Lag** is each change's, from its creation to its row in \`events\`, read every 10 ms by a plain client per environment: un-nudged (the active environments without a webhook), against the bound of an idle environment's backoff (\`fleetIdlePollMaxMs\` of the lease period: 30 s; an active environment's last poll may have found nothing); nudged, against the listing delay, as for one environment. **Environments per replica** is the most \`events\` leases one replica holds, sampled every second over the window, against the fair share E/W (target: ⌈E/W⌉, the rule's own bound). Then the replica holding the most is SIGKILLed: **held again** is the time until every environment's \`events\` lease is held, unexpired by the database's clock, by a live replica, against \`handOffBounds\` for the library's timings (\`fleetTimings\` of the lease period: with the default 30 s lease, 35 s). The survivors then stop on SIGTERM. **Peak RSS** is each replica's VmHWM (\`peak-rss.ts\` at exit; the killed one's read from /proc as it is killed), the most of the three. **Postgres sessions** is the most client sessions on the bench database at once in \`pg_stat_activity\`, the benchmark's own aside, sampled every 100 ms from before the replicas start until they have stopped, against replicas × pool (plus a LISTEN session each, when any is seen).

## Observations from ${runsOf(groups).length > 1 ? 'these runs' : 'this run'}

${notes.map((n) => `- ${n}`).join('\n')}
`;
}

/** Who wrote the file: one run, or (after a partial run) which figures come from which. */
function header(groups: readonly Group[]): string {
  const runs = runsOf(groups);
  const keep = `do not edit by hand, except the last section ("${BY_HAND.slice(3)}"), which a run keeps as it is.`;
  if (runs.length <= 1) {
    const info = runs[0]?.run;
    if (!info) return `Rerun \`npm run bench\` to write this file and \`bench/results.json\`; ${keep}`;
    return `Written by \`${info.command}\` (${sizes(info)}) on ${when(info)} UTC; the run took ${took(info)}. Rerun it to refresh this file and \`bench/results.json\`; ${keep}

Machine: ${machine(info)}. Load average (1 min) ${info.loadBefore} before the run and ${info.loadAfter} after: other work on the machine shares the same cores.`;
  }
  const lines = runs.map(
    ({ run, keys }) =>
      `| ${keys.join(', ')} | \`${run.command}\` (${sizes(run)}) | ${when(run)} | ${took(run)} | ${machine(run)} | ${run.loadBefore} → ${run.loadAfter} |`,
  );
  return `Written by more than one run: a partial run (\`npm run bench -- --only …\`) replaces its own figures and keeps the others as the last run that measured them left them (\`bench/runs.json\`). Each figure and its limit still come from one run. Rerun \`npm run bench\` to refresh every figure at once; ${keep}

| figures | run | on (UTC) | took | machine | load average (1 min), before → after |
|---|---|---|--:|---|---|
${lines.join('\n')}

Other work on the machine shares the same cores.`;
}

/** The runs the groups come from, each with its groups, in the groups' order. */
function runsOf(groups: readonly Group[]): { run: RunInfo; keys: string[] }[] {
  const runs: { run: RunInfo; keys: string[] }[] = [];
  for (const g of groups) {
    const same = runs.find((r) => sameRun(r.run, g.run));
    if (same) same.keys.push(g.key);
    else runs.push({ run: g.run, keys: [g.key] });
  }
  return runs;
}

function sameRun(a: RunInfo, b: RunInfo): boolean {
  return a.startedAt.getTime() === b.startedAt.getTime() && a.command === b.command;
}

function sizes(info: RunInfo): string {
  return info.quick ? 'quick sizes' : 'full sizes';
}

function when(info: RunInfo): string {
  return info.startedAt.toISOString().slice(0, 16).replace('T', ' ');
}

function took(info: RunInfo): string {
  return `${(info.durationMs / 60_000).toFixed(1)} min`;
}

function machine(info: RunInfo): string {
  const m = info.machine;
  return `${m.cores} cores (${m.cpu}), ${m.memoryGb} GB memory, ${m.platform}, Node ${m.node}, PostgreSQL ${info.postgres}`;
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
