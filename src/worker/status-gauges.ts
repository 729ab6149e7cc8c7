/**
 * The worker's gauges read from the database at scrape time (see `metrics.ts` for the rest).
 */
import type { Kysely } from 'kysely';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Database } from '../db/tables.ts';
import type { Logger } from '../logger.ts';
import { readStatus, type StatusReport } from '../sync/status.ts';

export interface StatusGaugeDeps {
  readonly db: Kysely<Database>;
  readonly now?: () => Date;
  /**
   * How the status is read; default `readStatus` on `db`. A fleet gives every environment's
   * gauges one read of them all per scrape (fleet/fleet-status.ts), instead of one each.
   */
  readonly readStatus?: ((at: Date) => Promise<StatusReport>) | undefined;
  /** Told once when scrape-time reads start failing and once when they recover. */
  readonly log?: Logger;
}

/**
 * The gauges computed from the database when scraped. Every one of them awaits one shared
 * `readStatus` (prom-client calls every metric's collect in the same tick of `registry.metrics()`,
 * so one in-flight read serves the whole scrape). When the read fails, the gauges are left out of
 * that scrape — a stale number would look like a healthy one — and the scrape itself still
 * succeeds, with the failure counted.
 */
export function registerStatusGauges(
  deps: StatusGaugeDeps,
  registry: Registry,
  prefix: string,
  timeoutMs: number,
): void {
  const registers = [registry];
  const now = deps.now ?? (() => new Date());
  const read = deps.readStatus ?? ((at: Date) => readStatus(deps.db, at));
  let inFlight: Promise<{ status: StatusReport; at: Date } | undefined> | undefined;
  let failing = false;

  const scrapeErrors = new Counter({
    name: `${prefix}scrape_errors_total`,
    help: 'Scrapes whose database-derived gauges could not be read (the database was unreachable or too slow).',
    registers,
    // Awaiting the shared read makes a failure show up in the very scrape that hit it.
    async collect() {
      await currentStatus();
    },
  });

  function currentStatus() {
    inFlight ??= readWithTimeout().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  async function readWithTimeout() {
    const at = now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const status = await Promise.race([
        read(at),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`status read timed out after ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
      if (failing) deps.log?.info('metrics: database-derived gauges readable again');
      failing = false;
      return { status, at };
    } catch (error) {
      scrapeErrors.inc();
      if (!failing) deps.log?.warn({ err: error }, 'metrics: could not read status from the database');
      failing = true;
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /** A gauge with no labels whose value comes from the status read, or is absent. */
  const statusGauge = (
    name: string,
    help: string,
    pick: (status: StatusReport, at: Date) => number | null,
  ): void => {
    new Gauge({
      name: `${prefix}${name}`,
      help,
      registers,
      async collect() {
        const read = await currentStatus();
        const value = read ? pick(read.status, read.at) : null;
        if (value === null) this.remove();
        else this.set(value);
      },
    });
  };

  statusGauge(
    'cursor_age_seconds',
    'Seconds since the stored cursor last moved (absent before any).',
    (s) => s.cursorAgeSeconds,
  );
  statusGauge(
    'lag_seconds',
    'Seconds the mirror may be behind WorkOS: since the last poll that reached the end of the stream, or since the newest applied event before any did (absent before any).',
    (s) => s.lagSeconds,
  );
  statusGauge(
    'seconds_since_last_poll',
    'Seconds since the last poll by any replica (absent before any).',
    (s, at) => secondsSince(s.lastPollAt, at),
  );
  statusGauge(
    'seconds_since_last_successful_poll',
    'Seconds since the last poll by any replica that reached the end of the stream (absent before any).',
    (s, at) => secondsSince(s.caughtUpAt, at),
  );
  statusGauge(
    'quarantined_events',
    'Events recorded as quarantined (invalid payloads, kept with their error).',
    (s) => s.quarantined,
  );
  statusGauge(
    'oldest_event_age_seconds',
    "Seconds since the oldest event the event log keeps was created (absent while it keeps none): past the retention by more than a prune's period, pruning is not running.",
    (s, at) => secondsSince(s.oldestEventCreatedAt, at),
  );
  statusGauge(
    'certificates_expiring_14d',
    'SAML certificates of connections not known to be deleted that expire within 14 days (not yet expired).',
    (s) => s.expiringCertificates.within14Days,
  );
  statusGauge(
    'certificates_expiring_30d',
    'SAML certificates of connections not known to be deleted that expire within 30 days (not yet expired).',
    (s) => s.expiringCertificates.within30Days,
  );
  statusGauge(
    'certificates_expired',
    'SAML certificates of connections not known to be deleted that have expired.',
    (s) => s.expiringCertificates.expired,
  );

  /**
   * A gauge by `state`, every value from the status read: each scrape sets only the states it
   * reads (one no longer held would otherwise keep its last value), none when the read failed.
   */
  const byStateGauge = (
    name: string,
    help: string,
    pick: (status: StatusReport) => Readonly<Record<string, number>>,
  ): void => {
    new Gauge({
      name: `${prefix}${name}`,
      help,
      labelNames: ['state'] as const,
      registers,
      async collect() {
        const read = await currentStatus();
        this.reset();
        if (!read) return;
        for (const [state, n] of Object.entries(pick(read.status))) this.set({ state }, n);
      },
    });
  };

  byStateGauge('connections', 'Connections in the mirror, by state (live, deleted).', (s) => ({
    live: s.counts.liveConnections,
    deleted: s.counts.deletedConnections,
  }));
  byStateGauge('organizations', 'Organizations in the mirror, by state (live, deleted).', (s) => ({
    live: s.counts.liveOrganizations,
    deleted: s.counts.deletedOrganizations,
  }));
  byStateGauge(
    'organization_domains',
    'Live organization domains in the mirror, by verification state (pending, verified, failed, …; unknown when WorkOS sent none).',
    (s) => s.counts.organizationDomains,
  );
}

function secondsSince(date: Date | null, at: Date): number | null {
  return date === null ? null : Math.max(0, (at.getTime() - date.getTime()) / 1000);
}
