/**
 * The operator's view of the mirror: where the cursor is, how fresh it is, what is wrong. Times are
 * `Date`s, as everywhere in the library's types (`status --json` prints them as ISO strings).
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/tables.ts';
import { EVENTS_STREAM, readEventsState } from './events/cursor.ts';
import { lastRun } from './reconcile/runs.ts';

export interface StatusReport {
  readonly cursor: string | null;
  readonly cursorUpdatedAt: Date | null;
  /** Seconds since the cursor last moved. */
  readonly cursorAgeSeconds: number | null;
  readonly lastPollAt: Date | null;
  readonly lastPollError: string | null;
  /** The last poll that reached the end of the stream: a successful pass, in `run`. */
  readonly caughtUpAt: Date | null;
  /**
   * Seconds the mirror may be behind WorkOS: since the last poll that reached the end of the
   * stream, or — never having caught up — since the newest event applied.
   */
  readonly lagSeconds: number | null;
  readonly lastEventCreatedAt: Date | null;
  /** The last time a refused cursor was recovered from, and why. */
  readonly lastRecovery: { readonly at: Date; readonly reason: string | null } | null;
  readonly lease: { readonly holder: string; readonly expiresAt: Date; readonly expired: boolean } | null;
  readonly counts: {
    readonly connections: number;
    readonly liveConnections: number;
    readonly deletedConnections: number;
    readonly domains: number;
    readonly certificates: number;
    readonly organizations: number;
    readonly liveOrganizations: number;
    readonly deletedOrganizations: number;
    /** Live organization domains by verification state (`unknown` when WorkOS sent none). */
    readonly organizationDomains: Readonly<Record<string, number>>;
    readonly events: Readonly<Record<'applied' | 'stale' | 'ignored' | 'quarantined', number>>;
  };
  readonly lastReconciliation: {
    readonly id: string;
    readonly startedAt: Date;
    readonly finishedAt: Date | null;
    readonly status: string;
    readonly seen: number;
    readonly inserted: number;
    readonly updated: number;
    readonly touched: number;
    readonly deleted: number;
    readonly unchanged: number;
    /** What it changed of organizations and of their domains; null when it did not list them. */
    readonly organizations: DriftCounts | null;
    readonly domains: DriftCounts | null;
  } | null;
  readonly quarantined: number;
  /** Not yet expired, by how soon (so `within30Days` counts those `within14Days` too), and expired. */
  readonly expiringCertificates: {
    readonly within14Days: number;
    readonly within30Days: number;
    readonly expired: number;
  };
}

export interface DriftCounts {
  readonly inserted: number;
  readonly updated: number;
  readonly deleted: number;
}

export async function readStatus(db: Kysely<Database>, now = new Date()): Promise<StatusReport> {
  const state = await readEventsState(db);
  const lease = await db
    .selectFrom('leases')
    .selectAll()
    .where('name', '=', EVENTS_STREAM)
    .executeTakeFirst();
  const connections = await db
    .selectFrom('connections')
    .select([
      sql<number>`count(*)::int`.as('all'),
      sql<number>`(count(*) filter (where deleted_at is null))::int`.as('live'),
    ])
    .executeTakeFirstOrThrow();
  const domains = await db
    .selectFrom('connection_domains')
    .select(sql<number>`count(*)::int`.as('n'))
    .executeTakeFirstOrThrow();
  const certificates = await db
    .selectFrom('connection_certificates')
    .select(sql<number>`count(*)::int`.as('n'))
    .executeTakeFirstOrThrow();
  const organizations = await db
    .selectFrom('organizations')
    .select([
      sql<number>`count(*)::int`.as('all'),
      sql<number>`(count(*) filter (where deleted_at is null))::int`.as('live'),
    ])
    .executeTakeFirstOrThrow();
  const domainStates = await db
    .selectFrom('live_organization_domains')
    .select([sql<string>`coalesce(state, 'unknown')`.as('state'), sql<number>`count(*)::int`.as('n')])
    .groupBy(sql`coalesce(state, 'unknown')`)
    .execute();
  const outcomes = await db
    .selectFrom('events')
    .select(['outcome', sql<number>`count(*)::int`.as('n')])
    .groupBy('outcome')
    .execute();
  const expiring = await db
    .selectFrom('expiring_certificates')
    .select([
      sql<number>`(count(*) filter (where expiry_date > now() and expiry_date <= now() + interval '14 days'))::int`.as(
        'within14',
      ),
      sql<number>`(count(*) filter (where expiry_date > now() and expiry_date <= now() + interval '30 days'))::int`.as(
        'within30',
      ),
      sql<number>`(count(*) filter (where expiry_date <= now()))::int`.as('expired'),
    ])
    .executeTakeFirstOrThrow();
  const run = await lastRun(db);

  const events = { applied: 0, stale: 0, ignored: 0, quarantined: 0 };
  for (const row of outcomes) events[row.outcome] = row.n;
  const secondsSince = (d: Date | null | undefined) =>
    d ? Math.max(0, Math.round((now.getTime() - d.getTime()) / 100) / 10) : null;

  return {
    cursor: state?.cursor ?? null,
    cursorUpdatedAt: state?.cursor_updated_at ?? null,
    cursorAgeSeconds: secondsSince(state?.cursor_updated_at),
    lastPollAt: state?.last_poll_at ?? null,
    lastPollError: state?.last_poll_error ?? null,
    caughtUpAt: state?.caught_up_at ?? null,
    lagSeconds: secondsSince(state?.caught_up_at ?? state?.last_event_created_at),
    lastEventCreatedAt: state?.last_event_created_at ?? null,
    lastRecovery: state?.last_recovery_at
      ? { at: state.last_recovery_at, reason: state.last_recovery_reason }
      : null,
    lease: lease
      ? { holder: lease.holder, expiresAt: lease.expires_at, expired: lease.expires_at <= now }
      : null,
    counts: {
      connections: connections.all,
      liveConnections: connections.live,
      deletedConnections: connections.all - connections.live,
      domains: domains.n,
      certificates: certificates.n,
      organizations: organizations.all,
      liveOrganizations: organizations.live,
      deletedOrganizations: organizations.all - organizations.live,
      organizationDomains: Object.fromEntries(domainStates.map((r) => [r.state, r.n])),
      events,
    },
    lastReconciliation: run
      ? {
          id: String(run.id),
          startedAt: run.started_at,
          finishedAt: run.finished_at ?? null,
          status: run.status,
          seen: run.seen,
          inserted: run.inserted,
          updated: run.updated,
          touched: run.touched,
          deleted: run.deleted,
          unchanged: run.unchanged,
          organizations: run.organizations_listed
            ? {
                inserted: run.organizations_inserted,
                updated: run.organizations_updated,
                deleted: run.organizations_deleted,
              }
            : null,
          domains: run.organizations_listed
            ? { inserted: run.domains_inserted, updated: run.domains_updated, deleted: run.domains_deleted }
            : null,
        }
      : null,
    quarantined: events.quarantined,
    expiringCertificates: {
      within14Days: expiring.within14,
      within30Days: expiring.within30,
      expired: expiring.expired,
    },
  };
}
