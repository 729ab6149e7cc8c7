/**
 * The health and metrics server over real HTTP, with the database-derived gauges read from a real
 * Postgres: liveness, readiness (database and poll freshness), the metrics the worker records and
 * the ones computed at scrape time, a scrape with the database gone, and the disabled port.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { databaseCheck, type HealthSource, startHttpServer } from '../src/worker/http-server.ts';
import { createMetrics, type SyncMetrics } from '../src/worker/metrics.ts';
import { schedulePeriodMs } from '../src/worker/poll-period.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { capturingLogger, silentLogger } from './support/logs.ts';

let t: TestDatabase;
const servers: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await t.close();
});
beforeEach(() => t.reset());

const DAY_MS = 86_400_000;

interface Health extends HealthSource {
  lastTick: Date | null;
  databaseError: Error | null;
}

function health(overrides: Partial<Pick<Health, 'startedAt' | 'pollPeriodMs'>> = {}): Health {
  const source: Health = {
    lastTick: null,
    databaseError: null,
    startedAt: overrides.startedAt ?? new Date(),
    pollPeriodMs: overrides.pollPeriodMs ?? 50,
    lastSuccessfulTickAt: () => source.lastTick,
    checkDatabase: async () => {
      if (source.databaseError) throw source.databaseError;
      await databaseCheck(t.db)();
    },
  };
  return source;
}

async function start(
  options: { metrics?: SyncMetrics; health?: HealthSource; scrub?: (text: string) => string } = {},
) {
  const server = await startHttpServer(
    {
      metrics: options.metrics ?? createMetrics({ db: t.db }),
      health: options.health ?? health(),
      log: silentLogger(),
      ...(options.scrub ? { scrub: options.scrub } : {}),
    },
    { host: '127.0.0.1', port: 'ephemeral' },
  );
  if (!server) throw new Error('server disabled');
  servers.push(server);
  return server;
}

async function get(url: string) {
  const response = await fetch(url);
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

/** The value of one exact series line in a Prometheus exposition, or undefined if absent. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    if (line.slice(0, at) === series) return Number(line.slice(at + 1));
  }
  return undefined;
}

async function scrape(url: string) {
  const response = await get(`${url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.type).toContain('text/plain');
  return response.text;
}

describe('liveness and routing', () => {
  it('GET /healthz answers 200 {"status":"ok"}', async () => {
    const { url } = await start();
    const response = await get(`${url}/healthz`);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toEqual({ status: 'ok' });
  });

  it('anything else is 404, and a wrong method on a known path is 405', async () => {
    const { url } = await start();
    expect((await get(`${url}/`)).status).toBe(404);
    expect((await get(`${url}/metricsx`)).status).toBe(404);
    const post = await fetch(`${url}/healthz`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('port 0 disables the server', async () => {
    const server = await startHttpServer(
      { metrics: createMetrics({ db: t.db }), health: health(), log: silentLogger() },
      { host: '127.0.0.1', port: 0 },
    );
    expect(server).toBeUndefined();
  });

  it('close() returns promptly with an idle keep-alive connection open', async () => {
    const server = await startHttpServer(
      { metrics: createMetrics({ db: t.db }), health: health(), log: silentLogger() },
      { host: '127.0.0.1', port: 'ephemeral' },
    );
    // fetch keeps its connection alive by default.
    expect((await get(`${server!.url}/healthz`)).status).toBe(200);
    const started = Date.now();
    await server!.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    await expect(fetch(`${server!.url}/healthz`)).rejects.toThrow();
  });
});

describe('readiness', () => {
  it('is 503 naming the poll check when no tick came within three periods of the start', async () => {
    const h = health({ pollPeriodMs: 50, startedAt: new Date(Date.now() - 1_000) });
    const { url } = await start({ health: h });
    const response = await get(`${url}/readyz`);
    expect(response.status).toBe(503);
    const body = JSON.parse(response.text);
    expect(body.status).toBe('unready');
    expect(body.checks.database).toBe('ok');
    expect(body.checks.poll).toMatch(/^no successful poll since start [\d.]+ s ago \(limit 0\.15 s\)$/);
  });

  it('allows three periods from the start before the first tick', async () => {
    const h = health({ pollPeriodMs: 60_000, startedAt: new Date(Date.now() - 1_000) });
    const { url } = await start({ health: h });
    const response = await get(`${url}/readyz`);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toEqual({ status: 'ok', checks: { database: 'ok', poll: 'ok' } });
  });

  it('is 200 once the last successful tick is recent, and 503 again when it grows old', async () => {
    const h = health({ pollPeriodMs: 50, startedAt: new Date(Date.now() - 10_000) });
    const { url } = await start({ health: h });
    expect((await get(`${url}/readyz`)).status).toBe(503);

    h.lastTick = new Date();
    const ready = await get(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toEqual({ status: 'ok', checks: { database: 'ok', poll: 'ok' } });

    h.lastTick = new Date(Date.now() - 42_000);
    const stale = await get(`${url}/readyz`);
    expect(stale.status).toBe(503);
    expect(JSON.parse(stale.text).checks.poll).toBe('last successful poll 42 s ago (limit 0.15 s)');
  });

  it('is 503 naming the database when checkDatabase throws, with secrets scrubbed', async () => {
    const h = health();
    h.lastTick = new Date();
    h.databaseError = new Error('connect ECONNREFUSED for postgres://sync:hunter2-secret@db\nstack line');
    const { url } = await start({
      health: h,
      scrub: (text) => text.replaceAll('hunter2-secret', '[redacted]'),
    });
    const response = await get(`${url}/readyz`);
    expect(response.status).toBe(503);
    expect(JSON.parse(response.text)).toEqual({
      status: 'unready',
      checks: { database: 'error: connect ECONNREFUSED for postgres://sync:[redacted]@db', poll: 'ok' },
    });
    expect(response.text).not.toContain('hunter2');
  });

  it('is 503 when the database check hangs past its timeout', async () => {
    const h = health();
    h.lastTick = new Date();
    h.checkDatabase = () => new Promise(() => {});
    const server = await startHttpServer(
      { metrics: createMetrics({ db: t.db }), health: h, log: silentLogger() },
      { host: '127.0.0.1', port: 'ephemeral', databaseCheckTimeoutMs: 100 },
    );
    servers.push(server!);
    const response = await get(`${server!.url}/readyz`);
    expect(response.status).toBe(503);
    expect(JSON.parse(response.text).checks.database).toBe('error: no answer within 100 ms');
  });
});

describe('/metrics', () => {
  it('reports what the worker recorded, with values', async () => {
    const metrics = createMetrics({ db: t.db });
    const { url } = await start({ metrics });

    metrics.recordEvents([
      { event: 'connection.activated', outcome: 'applied' },
      { event: 'connection.activated', outcome: 'applied' },
      { event: 'connection.deleted', outcome: 'stale' },
      { event: 'user.created', outcome: 'ignored' },
    ]);
    metrics.recordPoll({ durationSeconds: 0.3, pages: 3, ok: true });
    metrics.recordPoll({ durationSeconds: 2, pages: 1, ok: false });
    metrics.recordApiError('rate_limited');
    metrics.recordApiError('rate_limited');
    metrics.recordReconciliation({
      durationSeconds: 4,
      ok: true,
      dryRun: false,
      inserted: 2,
      updated: 1,
      touched: 4,
      deleted: 3,
      unchanged: 10,
      certificatesUnparsable: 1,
    });
    metrics.recordReconciliation({
      durationSeconds: 1,
      ok: true,
      dryRun: true,
      inserted: 5,
      updated: 5,
      touched: 5,
      deleted: 5,
      unchanged: 0,
      certificatesUnparsable: 0,
    });
    metrics.recordCursorRecovery();
    metrics.setLeaseHeld('events', true);

    const text = await scrape(url);
    expect(text).toContain('# HELP workos_sync_events_total ');
    expect(text).toContain('# TYPE workos_sync_events_total counter');
    expect(sample(text, 'workos_sync_events_total{type="connection.activated",outcome="applied"}')).toBe(2);
    expect(sample(text, 'workos_sync_events_total{type="connection.deleted",outcome="stale"}')).toBe(1);
    expect(sample(text, 'workos_sync_events_total{type="other",outcome="ignored"}')).toBe(1);
    expect(
      sample(text, 'workos_sync_events_total{type="connection.deactivated",outcome="quarantined"}'),
    ).toBe(0);

    expect(sample(text, 'workos_sync_polls_total{result="ok"}')).toBe(1);
    expect(sample(text, 'workos_sync_polls_total{result="failed"}')).toBe(1);
    expect(sample(text, 'workos_sync_pages_fetched_total')).toBe(4);
    expect(sample(text, 'workos_sync_poll_duration_seconds_count')).toBe(2);
    expect(sample(text, 'workos_sync_poll_duration_seconds_sum')).toBeCloseTo(2.3);
    expect(sample(text, 'workos_sync_poll_duration_seconds_bucket{le="0.5"}')).toBe(1);
    expect(sample(text, 'workos_sync_poll_duration_seconds_bucket{le="+Inf"}')).toBe(2);

    expect(sample(text, 'workos_sync_api_errors_total{kind="rate_limited"}')).toBe(2);
    expect(sample(text, 'workos_sync_api_errors_total{kind="unauthorized"}')).toBe(0);

    // Dry-run drift is not counted: the next real run finds (and fixes) the same drift.
    expect(sample(text, 'workos_sync_reconciliation_drift_total{kind="inserted"}')).toBe(2);
    expect(sample(text, 'workos_sync_reconciliation_drift_total{kind="updated"}')).toBe(1);
    expect(sample(text, 'workos_sync_reconciliation_drift_total{kind="touched"}')).toBe(4);
    expect(sample(text, 'workos_sync_reconciliation_drift_total{kind="deleted"}')).toBe(3);
    expect(sample(text, 'workos_sync_reconciliations_total{result="ok",dry_run="false"}')).toBe(1);
    expect(sample(text, 'workos_sync_reconciliations_total{result="ok",dry_run="true"}')).toBe(1);
    expect(sample(text, 'workos_sync_reconciliations_total{result="failed",dry_run="false"}')).toBe(0);
    expect(sample(text, 'workos_sync_reconciliation_duration_seconds_count')).toBe(2);
    expect(sample(text, 'workos_sync_reconciliation_duration_seconds_sum')).toBe(5);
    expect(sample(text, 'workos_sync_reconciliation_certificates_unparsable_total')).toBe(1);
    expect(sample(text, 'workos_sync_cursor_recoveries_total')).toBe(1);

    expect(sample(text, 'workos_sync_lease_held{lease="events"}')).toBe(1);
    expect(sample(text, 'workos_sync_lease_held{lease="reconcile"}')).toBe(0);
    metrics.setLeaseHeld('events', false);
    expect(sample(await scrape(url), 'workos_sync_lease_held{lease="events"}')).toBe(0);
  });

  it('computes the database gauges at scrape time from the rows', async () => {
    const now = new Date();
    const { url } = await start();

    const empty = await scrape(url);
    expect(sample(empty, 'workos_sync_quarantined_events')).toBe(0);
    expect(sample(empty, 'workos_sync_certificates_expiring_14d')).toBe(0);
    expect(sample(empty, 'workos_sync_certificates_expiring_30d')).toBe(0);
    expect(sample(empty, 'workos_sync_connections{state="live"}')).toBe(0);
    // No cursor, no poll yet: nothing to measure, so no sample rather than a misleading 0.
    expect(sample(empty, 'workos_sync_cursor_age_seconds')).toBeUndefined();
    expect(sample(empty, 'workos_sync_seconds_since_last_poll')).toBeUndefined();
    expect(sample(empty, 'workos_sync_seconds_since_last_successful_poll')).toBeUndefined();
    expect(sample(empty, 'workos_sync_lag_seconds')).toBeUndefined();
    expect(sample(empty, 'workos_sync_scrape_errors_total')).toBe(0);

    await t.db
      .insertInto('events')
      .values([
        { id: 'event_q', event: 'connection.activated', outcome: 'quarantined', error: 'bad payload' },
        { id: 'event_a', event: 'connection.activated', outcome: 'applied' },
      ])
      .execute();
    const connection = (id: string, deleted: boolean) => ({
      id,
      organization_id: 'org_1',
      connection_type: 'OktaSAML',
      name: id,
      state: 'active',
      updated_at: now,
      deleted_at: deleted ? now : null,
      raw: '{}',
      source: 'event' as const,
    });
    await t.db
      .insertInto('connections')
      .values([connection('conn_1', false), connection('conn_2', false), connection('conn_3', true)])
      .execute();
    const certificate = (type: string, expiresInMs: number, connectionId = 'conn_1') => ({
      connection_id: connectionId,
      certificate_type: type,
      expiry_date: new Date(now.getTime() + expiresInMs),
      version_at: now,
      source: 'event' as const,
    });
    await t.db
      .insertInto('connection_certificates')
      .values([
        certificate('ResponseSigning', 10 * DAY_MS),
        certificate('RequestSigning', 90 * DAY_MS),
        certificate('ResponseEncryption', -DAY_MS),
        // Within 30 days but not 14.
        certificate('ResponseSigning', 20 * DAY_MS, 'conn_2'),
      ])
      .execute();
    await t.db
      .updateTable('sync_state')
      .set({
        cursor: 'event_a',
        cursor_updated_at: new Date(now.getTime() - 120_000),
        last_poll_at: new Date(now.getTime() - 30_000),
        caught_up_at: new Date(now.getTime() - 60_000),
      })
      .where('stream', '=', 'events')
      .execute();

    const text = await scrape(url);
    expect(sample(text, 'workos_sync_quarantined_events')).toBe(1);
    expect(sample(text, 'workos_sync_certificates_expiring_14d')).toBe(1);
    expect(sample(text, 'workos_sync_certificates_expiring_30d')).toBe(2);
    expect(sample(text, 'workos_sync_certificates_expired')).toBe(1);
    expect(sample(text, 'workos_sync_connections{state="live"}')).toBe(2);
    expect(sample(text, 'workos_sync_connections{state="deleted"}')).toBe(1);
    expect(sample(text, 'workos_sync_cursor_age_seconds')).toBeGreaterThanOrEqual(120);
    expect(sample(text, 'workos_sync_cursor_age_seconds')).toBeLessThan(130);
    expect(sample(text, 'workos_sync_lag_seconds')).toBeGreaterThanOrEqual(60);
    expect(sample(text, 'workos_sync_lag_seconds')).toBeLessThan(70);
    expect(sample(text, 'workos_sync_seconds_since_last_poll')).toBeGreaterThanOrEqual(30);
    expect(sample(text, 'workos_sync_seconds_since_last_poll')).toBeLessThan(40);
    expect(sample(text, 'workos_sync_seconds_since_last_successful_poll')).toBeGreaterThanOrEqual(60);
    expect(sample(text, 'workos_sync_seconds_since_last_successful_poll')).toBeLessThan(70);
    expect(text).toContain('# HELP workos_sync_lag_seconds ');
    expect(sample(text, 'workos_sync_scrape_errors_total')).toBe(0);
  });

  it('reads the status once per scrape, not once per gauge', async () => {
    let statusReads = 0;
    const db = t.db;
    const counting = new Proxy(db, {
      get(target, property, receiver) {
        // readStatus starts with sync_state, once per read.
        if (property === 'selectFrom') {
          return (table: never) => {
            if (table === 'sync_state') statusReads++;
            return target.selectFrom(table);
          };
        }
        return Reflect.get(target, property, receiver);
      },
    });
    const { url } = await start({ metrics: createMetrics({ db: counting }) });
    await scrape(url);
    expect(statusReads).toBe(1);
    await scrape(url);
    expect(statusReads).toBe(2);
  });

  it('still answers 200 with the database gone, counting the scrape error and leaving the gauges out', async () => {
    const other = await createTestDatabase();
    const logs = capturingLogger();
    const metrics = createMetrics({ db: other.db, log: logs.log });
    const { url } = await start({ metrics });
    metrics.recordApiError('database');

    await other.db.insertInto('events').values({ id: 'e1', event: 'x', outcome: 'quarantined' }).execute();
    const before = await scrape(url);
    expect(sample(before, 'workos_sync_quarantined_events')).toBe(1);
    expect(sample(before, 'workos_sync_scrape_errors_total')).toBe(0);

    await other.close();
    const during = await scrape(url);
    expect(sample(during, 'workos_sync_scrape_errors_total')).toBe(1);
    expect(sample(during, 'workos_sync_quarantined_events')).toBeUndefined();
    expect(sample(during, 'workos_sync_connections{state="live"}')).toBeUndefined();
    expect(sample(during, 'workos_sync_api_errors_total{kind="database"}')).toBe(1);
    expect(during).toContain('# TYPE workos_sync_quarantined_events gauge');

    const again = await scrape(url);
    expect(sample(again, 'workos_sync_scrape_errors_total')).toBe(2);
    // Warned once, not once per scrape.
    expect(
      logs.lines().filter((line) => line.msg === 'metrics: could not read status from the database'),
    ).toHaveLength(1);
  });

  it('gives up on a slow database within the status timeout', async () => {
    const hanging = new Proxy(t.db, {
      get(target, property, receiver) {
        if (property === 'selectFrom') {
          return () => ({
            selectAll: () => ({ where: () => ({ executeTakeFirst: () => new Promise(() => {}) }) }),
          });
        }
        return Reflect.get(target, property, receiver);
      },
    });
    const metrics = createMetrics({ db: hanging }, { statusTimeoutMs: 100 });
    const { url } = await start({ metrics });
    const started = Date.now();
    const text = await scrape(url);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(sample(text, 'workos_sync_scrape_errors_total')).toBe(1);
    expect(sample(text, 'workos_sync_lag_seconds')).toBeUndefined();
  });
});

describe('/metrics behind basic auth (WORKOS_SYNC_HTTP_BASIC_AUTH)', () => {
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  it('asks for the credentials: 401 with a challenge without them or with others, 200 with them; the probes stay open', async () => {
    const server = await startHttpServer(
      { metrics: createMetrics({ db: t.db }), health: health(), log: silentLogger() },
      {
        host: '127.0.0.1',
        port: 'ephemeral',
        basicAuth: { username: 'prometheus', password: 'scrape-me-1' },
      },
    );
    servers.push(server!);
    const url = `${server!.url}/metrics`;
    const without = await fetch(url);
    expect(without.status).toBe(401);
    expect(without.headers.get('www-authenticate')).toBe(
      'Basic realm="workos-sync metrics", charset="UTF-8"',
    );
    expect(await without.text()).not.toContain('workos_sync_');
    for (const header of [
      basic('prometheus', 'scrape-me-2'),
      basic('other', 'scrape-me-1'),
      'Bearer scrape-me-1',
      'Basic',
    ])
      expect((await fetch(url, { headers: { authorization: header } })).status, header).toBe(401);
    const given = await fetch(url, { headers: { authorization: basic('prometheus', 'scrape-me-1') } });
    expect(given.status).toBe(200);
    expect(await given.text()).toContain('workos_sync_events_total');
    expect((await fetch(`${server!.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server!.url}/readyz`)).status).not.toBe(401);
  });
});

describe('schedulePeriodMs', () => {
  it('is the interval between consecutive fires', () => {
    expect(schedulePeriodMs('*/5 * * * * *')).toBe(5_000);
    expect(schedulePeriodMs('* * * * * *')).toBe(1_000);
    expect(schedulePeriodMs('17 * * * *')).toBe(3_600_000);
    expect(schedulePeriodMs('*/10 * * * *')).toBe(600_000);
    expect(schedulePeriodMs('0 3 * * *')).toBe(DAY_MS);
  });

  it('is the longest gap of an irregular schedule', () => {
    // Weekdays only: Friday to Monday is three days.
    expect(schedulePeriodMs('0 0 * * 1-5')).toBe(3 * DAY_MS);
    // Minutes 0,7,…,56 then 0 again: the short wrap-around gap (4 min) is not the period.
    expect(schedulePeriodMs('*/7 * * * *')).toBe(7 * 60_000);
  });

  it('throws on an invalid expression', () => {
    expect(() => schedulePeriodMs('every five seconds')).toThrow();
    expect(() => schedulePeriodMs('61 * * * *')).toThrow();
  });
});

describe('readiness logging', () => {
  it('logs a change of readiness once, not every probe, and without secrets', async () => {
    const logs = capturingLogger(['hunter2-secret']);
    const h = health();
    h.lastTick = new Date();
    h.databaseError = new Error('password hunter2-secret rejected');
    const server = await startHttpServer(
      { metrics: createMetrics({ db: t.db }), health: h, log: logs.log },
      { host: '127.0.0.1', port: 'ephemeral' },
    );
    servers.push(server!);
    for (let i = 0; i < 3; i++) expect((await get(`${server!.url}/readyz`)).status).toBe(503);
    h.databaseError = null;
    expect((await get(`${server!.url}/readyz`)).status).toBe(200);
    const messages = logs.lines().map((line) => line.msg);
    expect(messages.filter((m) => m === 'not ready')).toHaveLength(1);
    expect(messages.filter((m) => m === 'ready')).toHaveLength(1);
    expect(logs.text()).not.toContain('hunter2-secret');
  });
});
