/**
 * Figure 4 — live lag: the real worker polling every second, a steady stream of events created
 * in the emulator, and for each event the time from its creation to its row being visible; and
 * the WorkOS requests a minute that polling makes (what the webhook nudge is measured against).
 */
import { createMetrics } from '../../src/worker/metrics.ts';
import { schedulePeriodMs } from '../../src/worker/poll-period.ts';
import { startWorker } from '../../src/worker/worker.ts';
import { createWorkosClient } from '../../src/workos/client.ts';
import { workosConnectionsSource } from '../../src/workos/connections-source.ts';
import { workosEventsSource } from '../../src/workos/events-source.ts';
import { type BenchContext, count } from '../context.ts';
import { API_KEY, startEmulatorProcess } from '../emulator-process.ts';
import { collectLags, percentile, WATCH_EVERY_MS, waitForEvents } from '../lag-watcher.ts';
import { noSecrets, silentLog } from '../postgres.ts';
import { FIGURES, type FigureOutput, row } from '../report.ts';
import { type DomainLag, domainLag } from './domain-lag.ts';
import { type NudgeLag, nudgeLag } from './nudge-lag.ts';

const POLL_CRON = '* * * * * *';
/** The history the worker catches up with before the stream starts. */
const BASE_EVENTS = 500;

/**
 * 1 s polling first, then the webhook nudge at both listing delays side by side: each is one
 * event every several seconds, mostly waiting, and needs the polling figure's requests a minute.
 */
export async function liveLagFigures(ctx: BenchContext): Promise<FigureOutput> {
  const polling = await pollingLagFigures(ctx);
  const [now, late] = await Promise.all([nudgeLag(ctx, 0, 5), nudgeLag(ctx, 1_000, 6)]);
  const domainsPolled = await domainLag(ctx, 'polling');
  const domainsNudged = await domainLag(ctx, 'nudge');
  return {
    rows: [
      ...polling.rows,
      ...nudgeRows(now, polling.requestsPerMinute, {
        p50: FIGURES.nudgeNowP50,
        p99: FIGURES.nudgeNowP99,
        requests: FIGURES.nudgeNowRequests,
      }),
      ...nudgeRows(late, polling.requestsPerMinute, {
        p50: FIGURES.nudgeLateP50,
        p99: FIGURES.nudgeLateP99,
        requests: FIGURES.nudgeLateRequests,
      }),
      ...domainRows(domainsPolled, FIGURES.domainPolledP50, FIGURES.domainPolledP99, 1_000),
      ...domainRows(domainsNudged, FIGURES.domainNudgedP50, FIGURES.domainNudgedP99, 0),
      row(FIGURES.domainRequests, domainsNudged.over, domainsNudged.requestsPerEvent, 'requests/event'),
    ],
    notes: [
      ...polling.notes,
      nudgeNote(now, polling.requestsPerMinute),
      nudgeNote(late, polling.requestsPerMinute),
      domainNote(domainsPolled),
      domainNote(domainsNudged),
    ],
  };
}

/** Against the poll period (polling) or the listing delay (nudged, listed at once: no limit). */
function domainRows(m: DomainLag, p50: string, p99: string, periodMs: number) {
  return [
    row(p50, m.over, m.p50, 'ms', periodMs || null),
    row(p99, m.over, m.p99, 'ms', periodMs || null, {
      text: periodMs ? '≤ poll period + 250 ms' : '≤ listing delay + 250 ms',
      met: (value) => value <= periodMs + 250,
    }),
  ];
}

function domainNote(m: DomainLag): string {
  return `Domain changed → routing query right, ${m.mode === 'polling' ? '1 s polling' : 'webhook nudge'}: p50 ${m.p50.toFixed(0)} ms, p99 ${m.p99.toFixed(0)} ms, max ${m.max.toFixed(0)} ms over ${m.over}; ${m.requestsPerEvent.toFixed(2)} WorkOS requests per domain event (the poll, and one listing of the organization's connections per batch).`;
}

function nudgeRows(
  m: NudgeLag,
  pollingPerMinute: number,
  names: { readonly p50: string; readonly p99: string; readonly requests: string },
) {
  // Against the listing delay, the part of the lag that is WorkOS's; none when listed at once.
  const limit = m.visibilityMs === 0 ? null : m.visibilityMs;
  return [
    row(names.p50, m.over, m.p50, 'ms', limit),
    row(names.p99, m.over, m.p99, 'ms', limit, {
      text: '≤ listing delay + 250 ms',
      met: (value) => value <= m.visibilityMs + 250,
    }),
    row(names.requests, m.requestsOver, m.requestsPerMinute, 'requests/min', pollingPerMinute, {
      text: '≤ 1/10 of 1 s polling',
      met: (_value, ratio) => ratio !== null && ratio <= 0.1,
    }),
  ];
}

function nudgeNote(m: NudgeLag, pollingPerMinute: number): string {
  const listed = m.visibilityMs === 0 ? 'listed at once' : `listed ${m.visibilityMs / 1000} s after creation`;
  const looks = Object.entries(m.missesHistogram)
    .map(([misses, n]) => `${n} after ${misses} missed look${misses === '1' ? '' : 's'}`)
    .join(', ');
  const slowest =
    m.slowest.misses === null
      ? `the slowest (${m.slowest.ms.toFixed(0)} ms) was found by a poll no webhook started`
      : `the slowest (${m.slowest.ms.toFixed(0)} ms) was found after ${m.slowest.misses} missed look(s), by a poll that began ${m.slowest.foundAfterMs} ms after its webhook arrived`;
  return `Webhook nudge, events ${listed}: lag p50 ${m.p50.toFixed(0)} ms, p99 ${m.p99.toFixed(0)} ms, max ${m.max.toFixed(0)} ms over ${m.lags.length} events; found ${looks}; ${slowest}. ${m.requestsPerMinute.toFixed(1)} requests/min (over ${m.requestsOver}) against ${pollingPerMinute.toFixed(1)} for 1 s polling (${(pollingPerMinute / m.requestsPerMinute).toFixed(1)}× fewer), two of them the 30 s schedule's.`;
}

interface LiveLagOutput extends FigureOutput {
  /** WorkOS `/events` requests a minute while polling every second. */
  readonly requestsPerMinute: number;
}

async function pollingLagFigures(ctx: BenchContext): Promise<LiveLagOutput> {
  const { liveRate: rate, liveSeconds } = ctx.sizes;
  const periodMs = schedulePeriodMs(POLL_CRON);
  const emulator = await startEmulatorProcess({ seed: 4, events: BASE_EVENTS, connections: 100 });
  const db = await ctx.postgres.createDatabase();
  const watcher = await db.client();
  let failure: Error | undefined;
  const workos = createWorkosClient({ apiKey: API_KEY, apiUrl: emulator.url });
  const worker = startWorker(
    {
      db: db.db,
      events: workosEventsSource(workos),
      connections: workosConnectionsSource(workos),
      log: silentLog,
      scrub: noSecrets,
      metrics: createMetrics({ db: db.db }),
    },
    {
      pollCron: POLL_CRON,
      reconcileCron: '0 0 1 1 *',
      holder: 'bench',
      leaseTtlMs: 30_000,
      onFatal: (error) => {
        failure = error;
      },
    },
  );
  try {
    ctx.progress('live lag: the worker catches up with the history');
    const lastSeq = await waitForEvents(watcher, BASE_EVENTS, () => failure);

    ctx.progress(`live lag: ${rate} events/s for ${liveSeconds} s`);
    const requestsBefore = await emulator.requestCount('/events');
    const startedAt = performance.now();
    const { lags, emitted } = await collectLags(
      watcher,
      lastSeq,
      emulator.stream(rate, liveSeconds),
      5 * periodMs,
      () => failure,
    );
    const minutes = (performance.now() - startedAt) / 60_000;
    const requestsPerMinute = ((await emulator.requestCount('/events')) - requestsBefore) / minutes;

    const sorted = [...lags].sort((a, b) => a - b);
    const p50 = percentile(sorted, 0.5);
    const p99 = percentile(sorted, 0.99);
    const over = `${count(emitted)} events at ${rate}/s, polled every ${periodMs / 1000} s`;
    return {
      requestsPerMinute,
      rows: [
        row(FIGURES.lagP50, over, p50, 'ms', periodMs),
        row(FIGURES.lagP99, over, p99, 'ms', periodMs, {
          text: '≤ poll period + 250 ms',
          met: (value) => value <= periodMs + 250,
        }),
        row(FIGURES.requestsPolling, over, requestsPerMinute, 'requests/min'),
      ],
      notes: [
        `Live lag over ${count(emitted)} events: p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms with a ${periodMs} ms poll period. An event waits for the next tick (0–${periodMs} ms, uniformly) and then for one request and one transaction; the watcher adds up to ${WATCH_EVERY_MS} ms.`,
      ],
    };
  } finally {
    await worker.stop();
    await watcher.end();
    await db.close();
    await emulator.close();
  }
}
