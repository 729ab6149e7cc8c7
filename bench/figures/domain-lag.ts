/**
 * Figure 4 for domains: from a domain change in WorkOS (added, verified, removed: an
 * `organization_domain.*` event, no connection event) to the routing query (`domain_routes`)
 * answering it right — with 1 s polling, and with the webhook nudge on a 30 s schedule. Each
 * batch with domain events also lists the organization's connections again before it commits
 * (`organization-refresh.ts`), so the figure includes that request. The watcher checks, as each
 * event becomes visible, that `domain_routes` then holds the domain in the event's state (or no
 * longer holds it): the answer was right at that instant, in the same commit.
 */
import type pg from 'pg';
import { createWorkosSync } from '../../src/index.ts';
import { createMetrics } from '../../src/worker/metrics.ts';
import { startWorker } from '../../src/worker/worker.ts';
import { createWorkosClient } from '../../src/workos/client.ts';
import { workosConnectionsSource } from '../../src/workos/connections-source.ts';
import { workosEventsSource } from '../../src/workos/events-source.ts';
import { workosOrganizationsSource } from '../../src/workos/organizations-source.ts';
import { type BenchContext, count } from '../context.ts';
import { API_KEY, startEmulatorProcess } from '../emulator-process.ts';
import { collectLags, percentile, waitForEvents } from '../lag-watcher.ts';
import { noSecrets, SCHEMA, silentLog } from '../postgres.ts';

const BASE_EVENTS = 200;
const ORGANIZATIONS = 20;
const SECRET = 'whsec_bench_0123456789abcdef';

export interface DomainLag {
  readonly mode: 'polling' | 'nudge';
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** WorkOS requests (`/events` and the refreshes' `/connections`) per domain event. */
  readonly requestsPerEvent: number;
  readonly over: string;
}

export async function domainLag(ctx: BenchContext, mode: DomainLag['mode']): Promise<DomainLag> {
  const emulator = await startEmulatorProcess({
    seed: mode === 'polling' ? 7 : 8,
    events: BASE_EVENTS,
    connections: 50,
    organizations: ORGANIZATIONS,
  });
  const database = await ctx.postgres.createDatabase();
  const watcher = await database.client();
  let failure: Error | undefined;
  const failed = () => failure;
  const stop = await startSync(mode, emulator.url, database.url, database.db, (error) => {
    failure ??= error;
  });
  try {
    if (mode === 'nudge') await emulator.sendWebhooks(stop.webhookUrl!, SECRET);
    const baseSeq = await waitForEvents(watcher, BASE_EVENTS, failed);
    const rate = mode === 'polling' ? ctx.sizes.domainRate : 1 / ctx.sizes.domainNudgeEverySeconds;
    const events = ctx.sizes.domainEvents;
    ctx.progress(
      `domain → routing query, ${mode === 'polling' ? '1 s polling' : 'webhook nudge'}: ${events} domain events`,
    );
    const requestsBefore =
      (await emulator.requestCount('/events')) + (await emulator.requestCount('/connections'));
    const { lags, emitted } = await collectLags(
      watcher,
      baseSeq,
      emulator.domainStream(rate, events / rate),
      10_000,
      failed,
      (event) => routeIsRight(watcher, event),
    );
    const requests =
      (await emulator.requestCount('/events')) +
      (await emulator.requestCount('/connections')) -
      requestsBefore;
    const sorted = [...lags].sort((a, b) => a - b);
    const how =
      mode === 'polling'
        ? `${rate}/s, polled every 1 s`
        : `one every ${1 / rate} s, nudged; polls every 30 s`;
    return {
      mode,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      max: sorted.at(-1)!,
      requestsPerEvent: requests / emitted,
      over: `${count(emitted)} domain events (added, verified, removed) at ${how}`,
    };
  } finally {
    await stop.close();
    await watcher.end();
    await database.close();
    await emulator.close();
  }
}

async function startSync(
  mode: DomainLag['mode'],
  apiUrl: string,
  databaseUrl: string,
  db: Parameters<typeof startWorker>[0]['db'],
  onFatal: (error: Error) => void,
): Promise<{ readonly webhookUrl: string | null; close(): Promise<void> }> {
  if (mode === 'polling') {
    const workos = createWorkosClient({ apiKey: API_KEY, apiUrl });
    const worker = startWorker(
      {
        db,
        events: workosEventsSource(workos),
        connections: workosConnectionsSource(workos),
        organizations: workosOrganizationsSource(workos),
        log: silentLog,
        scrub: noSecrets,
        metrics: createMetrics({ db }),
      },
      { pollCron: '* * * * * *', reconcileCron: '0 0 1 1 *', holder: 'bench', leaseTtlMs: 30_000, onFatal },
    );
    return { webhookUrl: null, close: () => worker.stop() };
  }
  const sync = createWorkosSync({
    apiKey: API_KEY,
    apiUrl,
    database: { url: databaseUrl },
    schema: SCHEMA,
    pollCron: '*/30 * * * * *',
    reconcileCron: '0 0 1 1 *',
    logLevel: 'silent',
    webhooks: { secret: SECRET, host: '127.0.0.1', port: 0 },
  });
  const running = sync.start({ holder: 'bench-domains', http: false });
  void running.done.then((error) => error && onFatal(error));
  const { webhookUrl } = await running.ready;
  return { webhookUrl: webhookUrl ?? null, close: () => sync.close() };
}

/** What the routing query answers for the event's domain, as the event becomes visible, is what it says. */
async function routeIsRight(
  watcher: pg.Client,
  event: { readonly id: string; readonly event: string; readonly data: unknown },
): Promise<void> {
  if (!event.event.startsWith('organization_domain.')) return;
  const domain = event.data as { id: string; state: string };
  const { rows } = await watcher.query<{ domain_state: string }>(
    `select domain_state from ${SCHEMA}.domain_routes where domain_id = $1`,
    [domain.id],
  );
  const expected = event.event === 'organization_domain.deleted' ? [] : [domain.state];
  const answered = rows.map((r) => r.domain_state);
  if (answered.join() !== expected.join())
    throw new Error(
      `domain_routes answered ${JSON.stringify(answered)} for ${event.id}, not ${JSON.stringify(expected)}`,
    );
}
