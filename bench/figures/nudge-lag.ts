/**
 * Figure 4 with webhooks: live lag and WorkOS requests a minute when a signed webhook nudges the
 * poller, on a 30 s poll schedule. The worker runs as `run` runs it with `WORKOS_WEBHOOK_SECRET`
 * set (the library over the database's URL: the receiver on its own listener, the nudge through
 * NOTIFY to the lease holder); the emulator delivers every event's webhook signed as WorkOS
 * signs, and lists a new event on `GET /events` only `visibilityMs` after creating it.
 *
 * Events come one at a time, `nudgeEverySeconds` apart — SSO connections change rarely; at a
 * steady tens of events a second, 1 s polling costs fewer requests than a nudge per event. A few
 * events go first, unmeasured, so the look schedule has learned the listing delay.
 */
import { createWorkosSync } from '../../src/index.ts';
import { type BenchContext, count } from '../context.ts';
import { API_KEY, startEmulatorProcess } from '../emulator-process.ts';
import { collectLags, percentile, sleep, waitForEvents } from '../lag-watcher.ts';
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
  readonly requestsPerMinute: number;
  /** What the figures are measured over, for the table. */
  readonly over: string;
}

export async function nudgeLag(ctx: BenchContext, visibilityMs: number, seed: number): Promise<NudgeLag> {
  const { nudgeEverySeconds: every, nudgeEvents: events } = ctx.sizes;
  const emulator = await startEmulatorProcess({ seed, events: BASE_EVENTS, connections: 50 });
  const database = await ctx.postgres.createDatabase();
  const watcher = await database.client();
  const sync = createWorkosSync({
    apiKey: API_KEY,
    apiUrl: emulator.url,
    database: { url: database.url },
    schema: SCHEMA,
    pollCron: POLL_CRON,
    reconcileCron: YEARLY,
    logLevel: 'silent',
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

    ctx.progress(`live lag, webhook nudge, ${label}: an event every ${every} s for ${every * events} s`);
    const requestsBefore = await emulator.requestCount('/events');
    const started = performance.now();
    const { lags, emitted } = await collectLags(
      watcher,
      warmUp.lastSeq,
      emulator.stream(1 / every, every * events),
      60_000,
      failed,
    );
    // Requests over whole intervals between events: the last event's interval too.
    await sleep(Math.max(0, started + every * events * 1000 - performance.now()));
    const minutes = (performance.now() - started) / 60_000;
    const requestsPerMinute = ((await emulator.requestCount('/events')) - requestsBefore) / minutes;
    const sorted = [...lags].sort((a, b) => a - b);
    return {
      visibilityMs,
      lags: sorted,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      requestsPerMinute,
      over: `${count(emitted)} events, one every ${every} s, ${label}; polls every 30 s`,
    };
  } finally {
    await sync.close();
    await watcher.end();
    await database.close();
    await emulator.close();
  }
}
