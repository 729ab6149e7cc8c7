/**
 * The fleet: many WorkOS environments served by several `run` replicas, side by side in one run,
 * as users deploy it — the compiled command line in child processes (bench/build.ts), one
 * environments file declaring every environment, each key from its own variable, one pool of
 * `WORKOS_SYNC_POOL_SIZE` connections per replica, every WorkOS request through the fleet's budget
 * in Postgres. The emulator (a child of its own) serves every environment; a few of them are
 * active (a connection change in each every few seconds), the rest idle.
 *
 * 1. Start: the replicas share the environments and catch every mirror up (waited for, not slept).
 * 2. A window of `fleetMeasureSeconds`: the changes; WorkOS requests a minute over it (the
 *    emulator's record, every replica together); each change's lag, creation → its row in
 *    `events`, read per environment by a plain client (lag-watcher.ts), in the active environments
 *    without a webhook secret (polled only) and in those with one (the emulator posts their
 *    webhooks to a replica's receiver, `POST /webhooks/<environment>`); the environments each
 *    replica holds (`leases`), sampled.
 * 3. One replica SIGKILLed: the time until every environment's `events` lease is held by a live
 *    replica again.
 * 4. The survivors stopped (SIGTERM). Throughout: the fleet's Postgres sessions
 *    (`pg_stat_activity`), sampled; each replica's peak RSS (VmHWM: `peak-rss.ts`, written at exit,
 *    and read from /proc for the one killed).
 *
 * Every limit is the code's, read at run time from the configuration the replicas get
 * (`loadConfig`): the budget, the poll period, the lease (and `fleetTimings`/`handOffBounds` from
 * it), the pool.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadConfig } from '../../src/config.ts';
import { fleetTimings } from '../../src/library/fleet.ts';
import { bucketRate } from '../../src/sync/request-budget.ts';
import { handOffBounds } from '../../src/worker/fleet/rebalance.ts';
import { fleetIdlePollMaxMs } from '../../src/worker/pacing.ts';
import { schedulePeriodMs } from '../../src/worker/poll-period.ts';
import { freePort } from '../../test/support/worker-process.ts';
import { CLI, compileCli, ROOT } from '../build.ts';
import { type BenchContext, count } from '../context.ts';
import { type EnvironmentSpec, startEmulatorProcess } from '../emulator-process.ts';
import { collectEnvironmentLags, percentile, sleep } from '../lag-watcher.ts';
import { highWaterMarkKb } from '../peak-rss.ts';
import { SCHEMA } from '../postgres.ts';
import { FIGURES, type FigureOutput, row } from '../report.ts';

const PEAK_RSS = fileURLToPath(new URL('../peak-rss.ts', import.meta.url));
const POOL_SIZE = 10;
/** Each environment's world: this many connections, each activated once (its history). */
const CONNECTIONS = 2;
const YEARLY = '0 0 1 1 *';
/** The benchmark's own sessions, told apart from the fleet's in `pg_stat_activity`. */
const BENCH_APPLICATION = 'workos-sync-bench';
const SESSIONS_EVERY_MS = 100;
const LEASES_EVERY_MS = 1_000;
const MB = 1024 * 1024;

interface Replica {
  readonly index: number;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly webhookPort: number;
  readonly rssFile: string;
  readonly exited: Promise<void>;
  stopping: boolean;
  stderr: string;
}

interface Held {
  /** Environments whose `events` lease is held now (not expired). */
  readonly held: number;
  /** By holder. */
  readonly byHolder: ReadonlyMap<string, number>;
}

export async function fleetFigures(ctx: BenchContext): Promise<FigureOutput> {
  const s = ctx.sizes;
  const E = s.fleetEnvironments;
  const R = s.fleetReplicas;
  const names = Array.from({ length: E }, (_, i) => `e${String(i).padStart(4, '0')}`);
  const keyVar = (name: string) => `WORKOS_API_KEY_${name.toUpperCase()}`;
  const environments: EnvironmentSpec[] = names.map((name) => ({ name, apiKey: `sk_test_bench_${name}` }));
  const secretVar = (name: string) => `WORKOS_WEBHOOK_SECRET_${name.toUpperCase()}`;
  const activeCount = Math.min(E, Math.max(4, Math.round(E * s.fleetActiveFraction)));
  // Spread over the names, so over the replicas whatever the hash gives each.
  const active = Array.from({ length: activeCount }, (_, i) => names[Math.floor((i * E) / activeCount)]!);
  // Every other active environment has a webhook secret, and the emulator posts its changes' webhooks.
  const nudged = active.filter((_, i) => i % 2 === 1);
  const polled = active.filter((_, i) => i % 2 === 0);
  const secretOf = (name: string) => `whsec_bench_${name}_0123456789`;

  ctx.progress('fleet: compiling the command');
  compileCli();
  const dir = mkdtempSync(join(tmpdir(), 'workos-sync-bench-fleet-'));
  const emulator = await startEmulatorProcess({
    seed: 17,
    events: 0,
    connections: 0,
    maxRecordedRequests: Number.MAX_SAFE_INTEGER,
  });
  const database = await ctx.postgres.createDatabase();
  // Migrated; the fleet's sessions are the replicas' alone from here on.
  await database.close();
  // A plain client each: the lags, the leases, the sessions.
  const watcher = await benchClient(database.url);
  const leases = await benchClient(database.url);
  const sampler = await benchClient(database.url);
  const replicas: Replica[] = [];
  let failure: Error | undefined;
  const failed = () => failure;
  let sessions: SessionSampler | undefined;
  let leaseSamples: { stop(): Promise<number> } | undefined;
  try {
    ctx.progress(`fleet: ${count(E)} environments in the emulator`);
    const historyEvents = await emulator.addEnvironments(environments, CONNECTIONS);
    const file = join(dir, 'environments.yaml');
    const secretLine = (n: string) => (nudged.includes(n) ? `    webhook_secret_env: ${secretVar(n)}\n` : '');
    writeFileSync(
      file,
      `environments:\n${names.map((n) => `  - name: ${n}\n    api_key_env: ${keyVar(n)}\n${secretLine(n)}`).join('')}`,
    );
    const env: Record<string, string> = {
      DATABASE_URL: database.url,
      WORKOS_SYNC_SCHEMA: SCHEMA,
      WORKOS_API_URL: emulator.url,
      WORKOS_SYNC_ENVIRONMENTS_FILE: file,
      WORKOS_SYNC_POOL_SIZE: String(POOL_SIZE),
      // The hourly reconciliations of every environment at once would fall in some runs' window
      // and not in others'; each environment's first one runs all the same.
      WORKOS_SYNC_RECONCILE_CRON: YEARLY,
      WORKOS_SYNC_HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
      ...(s.fleetLeaseSeconds === null ? {} : { WORKOS_SYNC_LEASE_SECONDS: String(s.fleetLeaseSeconds) }),
      ...Object.fromEntries(environments.map((e) => [keyVar(e.name), e.apiKey])),
      ...Object.fromEntries(nudged.map((n) => [secretVar(n), secretOf(n)])),
      WORKOS_SYNC_WEBHOOK_HOST: '127.0.0.1',
    };
    // The limits, as the code gives them to the replicas.
    const config = loadConfig(env);
    const poolSize = config.database.poolSize ?? POOL_SIZE;
    const budget = config.workos.requestsPerMinute;
    const burst = bucketRate(budget).capacity;
    const periods = new Set(config.environments.map((e) => schedulePeriodMs(e.schedules.pollCron)));
    if (periods.size !== 1) throw new Error('fleet: the environments poll on different schedules');
    const pollPeriodMs = [...periods][0]!;
    const timings = fleetTimings(config.leaseTtlMs);
    // An idle environment's polls back off up to this bound (worker/pacing.ts): a change in one
    // whose last polls found nothing waits at most that long, not the poll period.
    const lagLimitMs = config.idlePollMaxMs ?? fleetIdlePollMaxMs(config.leaseTtlMs);
    const bounds = handOffBounds(timings);
    // Every environment is served at least once a turn of the budget: E requests at its rate.
    const budgetTurnMs = (E * 60_000) / budget;

    sessions = sampleSessions(sampler);
    ctx.progress(`fleet: ${R} replicas (run, pool ${poolSize}), lease ${timings.leaseTtlMs / 1000} s`);
    const startedAt = performance.now();
    // Each replica's webhook receiver on a port of its own.
    const ports = new Set<number>();
    while (ports.size < R) ports.add(await freePort());
    for (const [i, port] of [...ports].entries()) {
      replicas.push(
        startReplica(i, { ...env, WORKOS_SYNC_WEBHOOK_PORT: String(port) }, port, dir, (error) => {
          failure ??= error;
        }),
      );
    }

    // 1. Every mirror caught up, every environment held, each replica its share.
    const fair = Math.ceil(E / R);
    const settleTimeoutMs = 60_000 + 4 * Math.max(3 * budgetTurnMs, timings.leaseTtlMs);
    let last: { caughtUp: number; held: Held } | undefined;
    // The first replica to tick sees itself alone and takes everything until it sees the others.
    let startupMost = 0;
    await waitFor(
      async () => {
        last = { caughtUp: await caughtUp(leases, CONNECTIONS), held: await leasesHeld(leases) };
        const most = Math.max(0, ...last.held.byHolder.values());
        startupMost = Math.max(startupMost, most);
        return last.caughtUp === E && last.held.held === E && last.held.byHolder.size === R && most <= fair;
      },
      settleTimeoutMs,
      failed,
      () =>
        `the fleet never settled: ${last?.caughtUp ?? 0} of ${E} mirrors caught up, ${last?.held.held ?? 0} leases held by ${last?.held.byHolder.size ?? 0} holders (${[...(last?.held.byHolder.values() ?? [])].join(', ')})${tails(replicas)}`,
    );
    const settledMs = performance.now() - startedAt;
    // Its receiver answers (an unknown environment's path is 404) once a replica listens.
    await waitFor(
      async () =>
        (
          await Promise.all(
            replicas.map(
              async (r) =>
                (await fetch(`${webhooksUrl(r)}/ready-check`).catch(() => undefined))?.status === 404,
            ),
          )
        ).every(Boolean),
      30_000,
      failed,
      () => `a webhook receiver never listened${tails(replicas)}`,
    );
    // WorkOS posts each environment's webhooks to one endpoint: here one replica's, round them.
    await emulator.sendEnvironmentWebhooks(
      nudged.map((environment, i) => ({
        environment,
        url: `${webhooksUrl(replicas[i % R]!)}/${environment}`,
        secret: secretOf(environment),
      })),
    );

    // 2. The window.
    const seconds = s.fleetMeasureSeconds;
    ctx.progress(
      `fleet: settled in ${(settledMs / 1000).toFixed(0)} s; ${active.length} active environments, a change each every ${s.fleetChangeEverySeconds} s for ${seconds} s`,
    );
    leaseSamples = sampleLeases(leases);
    const before = await emulator.requestsByEnvironment();
    const windowStart = performance.now();
    const streaming = emulator.environmentChanges(active, s.fleetChangeEverySeconds, seconds);
    const requests = streaming.then(async () => ({
      by: await emulator.requestsByEnvironment(),
      ms: performance.now() - windowStart,
    }));
    const graceMs = Math.max(10_000, 3 * pollPeriodMs, 2 * budgetTurnMs, 2 * lagLimitMs);
    const { lags, emitted } = await collectEnvironmentLags(watcher, active, streaming, graceMs, failed);
    const window = await requests;
    const mostHeld = await leaseSamples.stop();
    leaseSamples = undefined;
    const minutes = window.ms / 60_000;
    const spent = spentRequests(before, window.by);
    const perMinuteEach = (group: readonly string[]) =>
      group.reduce((sum, e) => sum + (spent.get(e) ?? 0), 0) / Math.max(1, group.length) / minutes;
    const idle = names.filter((n) => !active.includes(n));
    const requestsPerMinute = [...spent.values()].reduce((a, b) => a + b, 0) / minutes;
    if (emitted < active.length) throw new Error(`fleet: the window made ${emitted} changes`);
    // The stream's i-th change is in active[i % A]: what each environment was sent.
    const sent = (i: number) => Math.floor(emitted / active.length) + (i < emitted % active.length ? 1 : 0);
    const lagsOf = (group: readonly string[]) => summarize(active, group, lags, sent, graceMs);
    const plain = lagsOf(polled);
    const nudges = lagsOf(nudged);

    // 3. One replica killed.
    const holders = await leasesHeld(leases);
    const heldBy = (r: Replica) => holders.byHolder.get(holderOf(r, holders) ?? '') ?? 0;
    const victim = replicas.reduce((a, b) => (heldBy(b) > heldBy(a) ? b : a));
    const victimHolder = holderOf(victim, holders);
    if (victimHolder === undefined)
      throw new Error(`fleet: no lease names replica ${victim.index + 1} (pid ${victim.pid}) as its holder`);
    const victimHeld = heldBy(victim);
    const victimPeakKb = highWaterMarkKb(victim.pid);
    ctx.progress(`fleet: SIGKILL to replica ${victim.index + 1} (${victimHeld} environments)`);
    victim.stopping = true;
    const killedAt = performance.now();
    victim.child.kill('SIGKILL');
    let takeover: Held | undefined;
    await waitFor(
      async () => {
        takeover = await leasesHeld(leases, victimHolder);
        return takeover.held === E;
      },
      3 * bounds.deadMs + 10_000,
      failed,
      () =>
        `the killed replica's environments were not all taken: ${takeover?.held ?? 0} of ${E} held${tails(replicas)}`,
      50,
    );
    const takeoverMs = performance.now() - killedAt;
    const survivorsMost = Math.max(0, ...(takeover?.byHolder.values() ?? []));
    await victim.exited;

    // 4. The others stopped, as a deployment stops them.
    ctx.progress('fleet: stopping the replicas');
    await Promise.all(replicas.filter((r) => r !== victim).map(stopReplica));
    const peak = await sessions.stop();
    sessions = undefined;
    const peaks = replicas.map((r) => (r === victim ? victimPeakKb : (readPeak(r.rssFile)?.peakKb ?? null)));
    const known = peaks.filter((kb): kb is number => kb !== null).map((kb) => (kb * 1024) / MB);
    if (known.length === 0) throw new Error('fleet: no replica reported its peak RSS');
    const heaps = replicas
      .map((r) => readPeak(r.rssFile)?.liveHeapBytes)
      .filter((b): b is number => b !== undefined)
      .map((b) => b / MB);
    const listening = peak.listening > 0;
    const sessionLimit = R * poolSize + (listening ? R : 0);

    const over = `${count(E)} environments (${active.length} active, a change each every ${s.fleetChangeEverySeconds} s), ${R} replicas, ${seconds} s`;
    const lagOver = (what: string, n: number) =>
      `${count(n)} changes in ${what}, ${count(E)} environments, ${R} replicas, polled every ${pollPeriodMs / 1000} s`;
    const plainOver = lagOver(`${polled.length} active environments without webhooks`, plain.count);
    const nudgedOver = lagOver(`${nudged.length} active environments with webhooks`, nudges.count);
    const share = E / R;
    return {
      rows: [
        row(FIGURES.fleetRequests, over, requestsPerMinute, 'requests/min', budget, {
          text: '≤ budget (+ one burst)',
          met: (value) => value <= budget + burst / minutes,
        }),
        row(FIGURES.fleetLagP50, plainOver, plain.p50, 'ms', lagLimitMs),
        row(FIGURES.fleetLagP99, plainOver, plain.p99, 'ms', lagLimitMs, {
          text: '≤ backoff bound + 250 ms',
          met: (value) => value <= lagLimitMs + 250,
        }),
        // Against the listing delay, as the single environment's nudge figures: events listed at once.
        row(FIGURES.fleetNudgedP50, nudgedOver, nudges.p50, 'ms'),
        row(FIGURES.fleetNudgedP99, nudgedOver, nudges.p99, 'ms', null, {
          text: '≤ listing delay + 250 ms',
          met: (value) => value <= 250,
        }),
        row(
          FIGURES.fleetShare,
          `${count(E)} environments over ${R} replicas, sampled every ${LEASES_EVERY_MS / 1000} s over the window`,
          mostHeld,
          'environments',
          share,
          { text: `≤ ⌈E/W⌉ (${count(fair)})`, met: (value) => value <= fair },
        ),
        row(
          FIGURES.fleetTakeover,
          `${count(victimHeld)} environments of a SIGKILLed replica, lease ${timings.leaseTtlMs / 1000} s, tick ${timings.tickMs / 1000} s`,
          takeoverMs / 1000,
          's',
          bounds.deadMs / 1000,
          {
            text: '≤ max(heartbeat TTL + tick, lease) + tick',
            met: (value) => value * 1000 <= bounds.deadMs,
          },
        ),
        row(
          FIGURES.fleetRss,
          `${R} replicas, ${count(fair)} environments each, then ${count(Math.ceil(E / (R - 1)))} after the kill`,
          Math.max(...known),
          'MB',
        ),
        row(
          FIGURES.fleetSessions,
          `${R} replicas, pool ${poolSize}${listening ? ', a LISTEN session each' : ''}, sampled every ${SESSIONS_EVERY_MS} ms`,
          peak.sessions,
          'sessions',
          sessionLimit,
          {
            text: listening ? '≤ replicas × (pool + 1)' : '≤ replicas × pool',
            met: (value) => value <= sessionLimit,
          },
        ),
      ],
      notes: [
        `Fleet: ${count(E)} environments (each ${CONNECTIONS} connections and ${CONNECTIONS} events of history; ${count(historyEvents)} events in all) on ${R} \`run\` replicas (compiled, pool ${poolSize}, lease ${timings.leaseTtlMs / 1000} s, every environment polled on ${config.environments[0]!.schedules.pollCron}: every ${pollPeriodMs / 1000} s), budget ${count(budget)} requests/min (burst ${burst}). Started together, they caught every mirror up and settled on their shares in ${(settledMs / 1000).toFixed(1)} s${startupMost > fair ? `; meanwhile one replica held up to ${count(startupMost)} environments at once (the first to tick takes every environment until it sees the others: docs/fleet.md, "The hand-off"), which that replica's peak RSS counts` : ''}.`,
        `Fleet window: ${count(emitted)} changes in ${active.length} active environments over ${(window.ms / 1000).toFixed(1)} s; ${count(Math.round(requestsPerMinute * minutes))} WorkOS requests (${count(Math.round(requestsPerMinute))}/min against a budget of ${count(budget)}): ${perMinuteEach(nudged).toFixed(1)}/min per active environment with webhooks, ${perMinuteEach(polled).toFixed(1)}/min per one without, ${perMinuteEach(idle).toFixed(1)}/min per idle one; every ${pollPeriodMs / 1000} s would be ${(60_000 / pollPeriodMs).toFixed(0)}/min each, ${count(Math.round((E * 60_000) / pollPeriodMs))}/min for the fleet${(E * 60_000) / pollPeriodMs > budget ? `, over the budget: the budget stretches every environment's polls to one a turn of about ${(budgetTurnMs / 1000).toFixed(0)} s` : ''}.`,
        `Fleet lag (a change's creation in the emulator → its row in \`events\`), un-nudged: ${lagText(plain, graceMs)}; nudged (\`POST /webhooks/<environment>\` at one replica's receiver, on the nudge bus to the holder; listed at once): ${lagText(nudges, graceMs)}. The un-nudged limit is the bound of an idle environment's backoff (${lagLimitMs / 1000} s: \`fleetIdlePollMaxMs\`, docs/fleet.md#idle-polls-back-off): an active environment whose last poll found nothing polls less often until one finds something.${(E * 60_000) / pollPeriodMs > budget ? " With the budget spent, a nudged poll's requests go first (urgent: a reserve of the bucket, and the head of its process's queue: docs/request-budget.md#urgent-requests-first), so a webhook's change does not wait its turn behind the idle polls." : ''}`,
        `Fleet hand-over: SIGKILLed, a replica holding ${count(victimHeld)} environments; every environment's \`events\` lease held by a live replica again after ${(takeoverMs / 1000).toFixed(1)} s, against ${(bounds.deadMs / 1000).toFixed(0)} s (\`handOffBounds\`: heartbeat TTL ${timings.heartbeatTtlMs / 1000} s, tick ${timings.tickMs / 1000} s, lease ${timings.leaseTtlMs / 1000} s; a dead holder's lease lives on for its TTL from its last renewal, made every third of it). The ${R - 1} survivors then held at most ${count(survivorsMost)} each (fair share ${(E / (R - 1)).toFixed(1)}).`,
        `Fleet memory and sessions: peak RSS per replica ${peaks.map((kb) => (kb === null ? 'unknown' : `${((kb * 1024) / MB).toFixed(1)} MB`)).join(', ')} (the killed one's as of its kill, from /proc; the others' at exit)${heaps.length > 0 ? `; heap live after a full collection at exit ${heaps.map((h) => `${h.toFixed(1)} MB`).join(', ')}` : ''}. Postgres sessions of the fleet at most ${peak.sessions} at once (${peak.listening} of them LISTENing), against ${R} × ${poolSize}${listening ? ' + a LISTEN session each' : ''}.`,
      ],
    };
  } finally {
    await Promise.all(replicas.map((r) => stopReplica(r).catch(() => undefined)));
    await sessions?.stop().catch(() => undefined);
    await leaseSamples?.stop().catch(() => undefined);
    for (const client of [watcher, leases, sampler]) await client.end().catch(() => undefined);
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: BENCH_APPLICATION });
  await client.connect();
  return client;
}

function startReplica(
  index: number,
  env: Record<string, string>,
  webhookPort: number,
  dir: string,
  onUnexpectedExit: (error: Error) => void,
): Replica {
  const rssFile = join(dir, `peak-rss-${index}.json`);
  const child = spawn(process.execPath, ['--expose-gc', '--import', PEAK_RSS, CLI, 'run'], {
    cwd: ROOT,
    // Nothing of the shell's: the replicas' configuration is exactly `env`.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, BENCH_PEAK_RSS_FILE: rssFile },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const replica: Replica = {
    index,
    child,
    pid: child.pid!,
    webhookPort,
    rssFile,
    stopping: false,
    stderr: '',
    exited: new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve()); // never started: no 'exit' may follow
    }),
  };
  child.once('error', (error) =>
    onUnexpectedExit(new Error(`fleet: replica ${index + 1}: ${error.message}`)),
  );
  child.stderr!.on('data', (chunk: Buffer) => {
    replica.stderr = (replica.stderr + chunk.toString()).slice(-4000);
  });
  child.once('exit', (code, signal) => {
    if (!replica.stopping)
      onUnexpectedExit(
        new Error(`fleet: replica ${index + 1} exited (${signal ?? code}):\n${replica.stderr.slice(-2000)}`),
      );
  });
  return replica;
}

/** SIGTERM, as a deployment stops a replica (it exits within 15 s); SIGKILL after 30 s. */
async function stopReplica(replica: Replica): Promise<void> {
  replica.stopping = true;
  if (replica.child.exitCode !== null || replica.child.signalCode !== null) return;
  replica.child.kill('SIGTERM');
  const timer = setTimeout(() => replica.child.kill('SIGKILL'), 30_000);
  await replica.exited;
  clearTimeout(timer);
}

function readPeak(file: string): { peakKb: number; liveHeapBytes: number } | null {
  return existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { peakKb: number; liveHeapBytes: number })
    : null;
}

/** The holder a replica names in `leases` (`host:pid:random`, src/workos-sync.ts). */
function holderOf(replica: Replica, held: Held): string | undefined {
  return [...held.byHolder.keys()].find((h) => h.split(':').at(-2) === String(replica.pid));
}

function tails(replicas: readonly Replica[]): string {
  return replicas.map((r) => `\nreplica ${r.index + 1}:\n${r.stderr.slice(-1500)}`).join('');
}

async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  failed: () => Error | undefined,
  describe: () => string,
  everyMs = 250,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (true) {
    const error = failed();
    if (error) throw error;
    if (await check()) return;
    if (performance.now() > deadline)
      throw new Error(`fleet: not within ${(timeoutMs / 1000).toFixed(0)} s: ${describe()}`);
    await sleep(everyMs);
  }
}

/** Environments whose mirror has at least `history` events. */
async function caughtUp(client: pg.Client, history: number): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `select count(*)::int as n from (
       select environment from ${SCHEMA}.events group by environment having count(*) >= $1
     ) e`,
    [history],
  );
  return rows[0]!.n;
}

/** The `events` leases held now (by the database's clock), by holder; `except` not counted. */
async function leasesHeld(client: pg.Client, except?: string): Promise<Held> {
  const { rows } = await client.query<{ holder: string; n: number }>(
    `select holder, count(*)::int as n from ${SCHEMA}.leases
      where name = 'events' and expires_at > now() and holder is distinct from $1
      group by holder`,
    [except ?? null],
  );
  return { held: rows.reduce((sum, r) => sum + r.n, 0), byHolder: new Map(rows.map((r) => [r.holder, r.n])) };
}

/** Calls `sample` every `everyMs` until stopped; its first failure stops it, and `stop` throws it. */
function sampling(everyMs: number, sample: () => Promise<void>): { stop(): Promise<void> } {
  let running = true;
  let error: unknown;
  const loop = (async () => {
    while (running) {
      try {
        await sample();
      } catch (e) {
        error = e;
        return;
      }
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      if (error !== undefined) throw error;
    },
  };
}

/** The most environments any replica holds, sampled every LEASES_EVERY_MS until stopped. */
function sampleLeases(client: pg.Client): { stop(): Promise<number> } {
  let most = 0;
  const sampler = sampling(LEASES_EVERY_MS, async () => {
    most = Math.max(most, ...(await leasesHeld(client)).byHolder.values());
  });
  return {
    async stop() {
      await sampler.stop();
      return most;
    },
  };
}

interface SessionSampler {
  stop(): Promise<{ readonly sessions: number; readonly listening: number }>;
}

/** The fleet's sessions on the bench database, every SESSIONS_EVERY_MS: the most at once. */
function sampleSessions(client: pg.Client): SessionSampler {
  let sessions = 0;
  let listening = 0;
  const sampler = sampling(SESSIONS_EVERY_MS, async () => {
    const { rows } = await client.query<{ n: number; listening: number }>(
      `select count(*)::int as n, count(*) filter (where query ilike 'listen %')::int as listening
         from pg_stat_activity
        where datname = current_database() and backend_type = 'client backend'
          and application_name is distinct from $1`,
      [BENCH_APPLICATION],
    );
    sessions = Math.max(sessions, rows[0]!.n);
    listening = Math.max(listening, rows[0]!.listening);
  });
  return {
    async stop() {
      await sampler.stop();
      return { sessions, listening };
    },
  };
}

/** WorkOS requests between two counts, by environment. */
function spentRequests(
  before: Readonly<Record<string, number>>,
  after: Readonly<Record<string, number>>,
): Map<string, number> {
  return new Map(
    Object.entries(after).map(([environment, n]) => [environment, n - (before[environment] ?? 0)]),
  );
}

interface GroupLags {
  /** Changes sent to the group's environments. */
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Not visible by the deadline: counted at the grace (a lower bound of their lag). */
  readonly unseen: number;
}

/** The lags of `group`'s changes; `sent(i)`: how many changes `active[i]` was sent. */
function summarize(
  active: readonly string[],
  group: readonly string[],
  lags: ReadonlyMap<string, readonly number[]>,
  sent: (i: number) => number,
  graceMs: number,
): GroupLags {
  const seen = group.flatMap((e) => lags.get(e) ?? []);
  const total = group.reduce((sum, e) => sum + sent(active.indexOf(e)), 0);
  const unseen = Math.max(0, total - seen.length);
  // An event not seen by the deadline had waited at least the grace since the stream ended.
  const sorted = [...seen, ...Array.from({ length: unseen }, () => graceMs)].sort((a, b) => a - b);
  if (sorted.length === 0) throw new Error('fleet: no change to measure in a group of environments');
  return {
    count: total,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted.at(-1)!,
    unseen,
  };
}

function lagText(m: GroupLags, graceMs: number): string {
  const late =
    m.unseen > 0
      ? `; ${m.unseen} not visible within ${(graceMs / 1000).toFixed(0)} s of the window's end, counted at that (a lower bound)`
      : '';
  return `p50 ${m.p50.toFixed(0)} ms, p99 ${m.p99.toFixed(0)} ms, max ${m.max.toFixed(0)} ms over ${count(m.count)} changes${late}`;
}

/** A replica's webhook receiver: `POST <this>/<environment>`. */
function webhooksUrl(replica: Replica): string {
  return `http://127.0.0.1:${replica.webhookPort}/webhooks`;
}
