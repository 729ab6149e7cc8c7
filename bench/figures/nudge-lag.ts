/**
 * Figure 4 with webhooks: live lag and WorkOS requests a minute when a signed webhook nudges the
 * poller, on a 30 s poll schedule. The worker runs as `run` runs it with `WORKOS_WEBHOOK_SECRET`
 * set (the library over the database's URL: the receiver on its own listener, the nudge through
 * NOTIFY to the lease holder); the emulator delivers every event's webhook signed as WorkOS
 * signs, and lists a new event on `GET /events` only `visibilityMs` after creating it.
 *
 * Two phases, each one event at a time: the lag over `nudgeLagEvents` events (enough for a p99 to
 * mean something; `nudgeLagEverySeconds` apart, so each event's looks are over before the next
 * arrives), then the requests a minute over `nudgeEvents` events `nudgeEverySeconds` apart — SSO
 * connections change rarely; at a steady tens of events a second, 1 s polling costs fewer requests
 * than a nudge per event. A few events go first, unmeasured, so the look schedule has learned the
 * listing delay. For every event the worker says (at debug level) how many looks missed it and
 * when the one that found it began: the slowest event is explained with them.
 */
import type pg from 'pg';
import pino from 'pino';
import { createWorkosSync } from '../../src/index.ts';
import { type BenchContext, count } from '../context.ts';
import { API_KEY, type EmulatorProcess, startEmulatorProcess } from '../emulator-process.ts';
import { collectLags, type Lag, percentile, sleep, waitForEvents } from '../lag-watcher.ts';
import { SCHEMA } from '../postgres.ts';

const POLL_CRON = '*/30 * * * * *';
const YEARLY = '0 0 1 1 *';
const SECRET = 'whsec_bench_0123456789abcdef';
const BASE_EVENTS = 200;
const WARM_UP_EVENTS = 3;

export interface NudgeLag {
  readonly visibilityMs: number;
  /** Sorted. */
  readonly lags: readonly number[];
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** The slowest event: how many looks missed it, and when the one that found it began. */
  readonly slowest: {
    readonly ms: number;
    readonly misses: number | null;
    readonly foundAfterMs: number | null;
  };
  /** Events by the looks that missed them before one found them. */
  readonly missesHistogram: Readonly<Record<number, number>>;
  readonly requestsPerMinute: number;
  /** What the figures are measured over, for the table. */
  readonly over: string;
  readonly requestsOver: string;
}

interface Found {
  readonly eventId: string;
  readonly misses: number;
  readonly foundAfterMs: number;
}

/** The worker's debug lines saying each nudged event reached the mirror (nudges.ts). */
function foundLog() {
  const found = new Map<string, Found>();
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        const entry = JSON.parse(line) as { msg?: string } & Found;
        if (entry.msg === 'a webhook`s event is in the mirror') found.set(entry.eventId, entry);
      },
    },
  );
  return { logger, found };
}

export async function nudgeLag(ctx: BenchContext, visibilityMs: number, seed: number): Promise<NudgeLag> {
  const { nudgeEverySeconds: every, nudgeEvents: events, nudgeLagEverySeconds: lagEvery } = ctx.sizes;
  const emulator = await startEmulatorProcess({ seed, events: BASE_EVENTS, connections: 50 });
  const database = await ctx.postgres.createDatabase();
  const watcher = await database.client();
  const log = foundLog();
  const sync = createWorkosSync({
    apiKey: API_KEY,
    apiUrl: emulator.url,
    database: { url: database.url },
    schema: SCHEMA,
    pollCron: POLL_CRON,
    reconcileCron: YEARLY,
    logger: log.logger,
    webhooks: { secret: SECRET, host: '127.0.0.1', port: 0 },
  });
  let failure: Error | undefined;
  const failed = () => failure;
  try {
    const running = sync.start({ holder: `bench-${visibilityMs}`, http: false });
    void running.done.then((error) => {
      failure ??= error ?? undefined;
    });
    const { webhookUrl } = await running.ready;
    const baseSeq = await waitForEvents(watcher, BASE_EVENTS, failed);
    await emulator.setVisibilityDelay(visibilityMs);
    await emulator.sendWebhooks(webhookUrl!, SECRET);

    const label = visibilityMs === 0 ? 'listed at once' : `listed ${visibilityMs / 1000} s late`;
    ctx.progress(`live lag, webhook nudge, ${label}: ${WARM_UP_EVENTS} events to learn from`);
    const warmUp = await collectLags(watcher, baseSeq, emulator.stream(1, WARM_UP_EVENTS), 60_000, failed);

    const lagEvents = ctx.sizes.nudgeLagEvents;
    ctx.progress(`live lag, webhook nudge, ${label}: ${lagEvents} events, one every ${lagEvery} s`);
    const measured = await collectLags(
      watcher,
      warmUp.lastSeq,
      emulator.stream(1 / lagEvery, lagEvery * lagEvents),
      60_000,
      failed,
    );

    ctx.progress(`webhook nudge, ${label}: requests over an event every ${every} s for ${every * events} s`);
    const requestsPerMinute = await requestsOver(emulator, watcher, measured.lastSeq, every, events, failed);
    return {
      ...summarize(measured.byEvent, log.found),
      visibilityMs,
      requestsPerMinute,
      over: `${count(measured.emitted)} events, one every ${lagEvery} s, ${label}; polls every 30 s`,
      requestsOver: `${count(events)} events, one every ${every} s, ${label}; polls every 30 s`,
    };
  } finally {
    await sync.close();
    await watcher.end();
    await database.close();
    await emulator.close();
  }
}

/** WorkOS requests a minute over whole intervals between sparse events (the last one's too). */
async function requestsOver(
  emulator: EmulatorProcess,
  watcher: pg.Client,
  afterSeq: number,
  every: number,
  events: number,
  failed: () => Error | undefined,
): Promise<number> {
  const requestsBefore = await emulator.requestCount('/events');
  const started = performance.now();
  await collectLags(watcher, afterSeq, emulator.stream(1 / every, every * events), 60_000, failed);
  await sleep(Math.max(0, started + every * events * 1000 - performance.now()));
  const minutes = (performance.now() - started) / 60_000;
  return ((await emulator.requestCount('/events')) - requestsBefore) / minutes;
}

function summarize(byEvent: readonly Lag[], found: ReadonlyMap<string, Found>) {
  const lags = byEvent.map((l) => l.ms).sort((a, b) => a - b);
  const slowest = byEvent.reduce((a, b) => (b.ms > a.ms ? b : a));
  const look = found.get(slowest.eventId);
  const missesHistogram: Record<number, number> = {};
  for (const { eventId } of byEvent) {
    const misses = found.get(eventId)?.misses;
    if (misses !== undefined) missesHistogram[misses] = (missesHistogram[misses] ?? 0) + 1;
  }
  return {
    lags,
    p50: percentile(lags, 0.5),
    p99: percentile(lags, 0.99),
    max: lags.at(-1)!,
    slowest: { ms: slowest.ms, misses: look?.misses ?? null, foundAfterMs: look?.foundAfterMs ?? null },
    missesHistogram,
  };
}
