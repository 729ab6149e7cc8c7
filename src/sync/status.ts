/**
 * The operator's view of the mirror: where the cursor is, how fresh it is, what is wrong. Times are
 * `Date`s, as everywhere in the library's types (`status --json` prints them as ISO strings).
 *
 * One environment's status (`readStatus`, on its handle) and every environment's (`readStatuses`,
 * on the whole) are the same statements: each reads its table grouped by environment, so on an
 * environment's handle it returns that environment's one group, and on the whole one group per
 * environment — a handful of statements however many environments there are. What the groups
 * mean (the lag, the counts, the lease, the last reconciliation) is `statusFrom`, once.
 */
import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database, LeasesTable, ReconciliationRunsTable, SyncStateTable } from '../db/tables.ts';
import { EVENTS_STREAM } from './events/cursor.ts';
import { lastRun, lastRunOfEach } from './reconcile/runs.ts';

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
  /** When the oldest event the event log keeps was created (WorkOS's clock); null: it keeps none. */
  readonly oldestEventCreatedAt: Date | null;
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

/** One environment's status, on its handle (`scopedToEnvironment`). */
export async function readStatus(db: Kysely<Database>, now = new Date()): Promise<StatusReport> {
  const { rows } = await readGroups(db);
  if (rows.size > 1)
    throw new Error("readStatus reads one environment's handle: readStatuses reads every environment");
  const [group] = rows.values();
  return statusFrom({ ...group, run: await lastRun(db) }, now);
}

/** One environment's status among every environment's (`readStatuses`). */
export interface EnvironmentStatus extends StatusReport {
  /** The environment's name, as its rows carry it. */
  readonly environment: string;
  /** Whether the configuration has it (the environments file's, or `default` without one). */
  readonly declared: boolean;
  /** Whether the mirror has its `sync_state` rows: false for one declared and never synced. */
  readonly started: boolean;
}

/**
 * Every environment's status, on the whole mirror's handle: those with a `sync_state` row, and
 * each of `environments` (the declared ones, which may have none yet), sorted by name. The same
 * ten statements whatever the number of environments.
 */
export async function readStatuses(
  db: Kysely<Database>,
  options: { readonly environments?: readonly string[]; readonly now?: Date } = {},
): Promise<EnvironmentStatus[]> {
  const now = options.now ?? new Date();
  const declared = new Set(options.environments ?? []);
  const groups = await readGroups(db);
  const names = [...new Set([...groups.known, ...declared])].sort();
  const runs = await lastRunOfEach(db, names);
  return names.map((name) => ({
    environment: name,
    declared: declared.has(name),
    started: groups.known.has(name),
    ...statusFrom({ ...groups.rows.get(name), run: runs.get(name) }, now),
  }));
}

/** What one environment's status is made of: its group of each read. */
interface StatusGroup {
  state?: Selectable<SyncStateTable>;
  lease?: Selectable<LeasesTable>;
  connections?: { readonly all: number; readonly live: number };
  domains?: number;
  certificates?: number;
  organizations?: { readonly all: number; readonly live: number };
  organizationDomains?: Record<string, number>;
  events?: Partial<Record<'applied' | 'stale' | 'ignored' | 'quarantined', number>>;
  oldestEvent?: Date | null;
  expiring?: { readonly within14: number; readonly within30: number; readonly expired: number };
  run?: Selectable<ReconciliationRunsTable> | undefined;
}

/** Each table read once, grouped by environment: the groups, and the environments with a `sync_state` row. */
async function readGroups(
  db: Kysely<Database>,
): Promise<{ readonly rows: Map<string, StatusGroup>; readonly known: ReadonlySet<string> }> {
  // Every stream's row, for the environments it names; the events stream's is the status.
  const states = await db.selectFrom('sync_state').selectAll().execute();
  const leases = await db.selectFrom('leases').selectAll().where('name', '=', EVENTS_STREAM).execute();
  const connections = await db
    .selectFrom('connections')
    .select([
      'environment',
      sql<number>`count(*)::int`.as('all'),
      sql<number>`(count(*) filter (where deleted_at is null))::int`.as('live'),
    ])
    .groupBy('environment')
    .execute();
  const domains = await db
    .selectFrom('connection_domains')
    .select(['environment', sql<number>`count(*)::int`.as('n')])
    .groupBy('environment')
    .execute();
  const certificates = await db
    .selectFrom('connection_certificates')
    .select(['environment', sql<number>`count(*)::int`.as('n')])
    .groupBy('environment')
    .execute();
  const organizations = await db
    .selectFrom('organizations')
    .select([
      'environment',
      sql<number>`count(*)::int`.as('all'),
      sql<number>`(count(*) filter (where deleted_at is null))::int`.as('live'),
    ])
    .groupBy('environment')
    .execute();
  const domainStates = await db
    .selectFrom('live_organization_domains')
    .select([
      'environment',
      sql<string>`coalesce(state, 'unknown')`.as('state'),
      sql<number>`count(*)::int`.as('n'),
    ])
    .groupBy(['environment', sql`coalesce(state, 'unknown')`])
    .execute();
  const outcomes = await db
    .selectFrom('events')
    .select([
      'environment',
      'outcome',
      sql<number>`count(*)::int`.as('n'),
      sql<Date | null>`min(created_at)`.as('oldest'),
    ])
    .groupBy(['environment', 'outcome'])
    .execute();
  const expiring = await db
    .selectFrom('expiring_certificates')
    .select([
      'environment',
      sql<number>`(count(*) filter (where expiry_date > now() and expiry_date <= now() + interval '14 days'))::int`.as(
        'within14',
      ),
      sql<number>`(count(*) filter (where expiry_date > now() and expiry_date <= now() + interval '30 days'))::int`.as(
        'within30',
      ),
      sql<number>`(count(*) filter (where expiry_date <= now()))::int`.as('expired'),
    ])
    .groupBy('environment')
    .execute();

  const rows = new Map<string, StatusGroup>();
  const group = (environment: string): StatusGroup => {
    const found = rows.get(environment) ?? {};
    rows.set(environment, found);
    return found;
  };
  for (const row of states) if (row.stream === EVENTS_STREAM) group(row.environment).state = row;
  for (const row of leases) group(row.environment).lease = row;
  for (const row of connections) group(row.environment).connections = row;
  for (const row of domains) group(row.environment).domains = row.n;
  for (const row of certificates) group(row.environment).certificates = row.n;
  for (const row of organizations) group(row.environment).organizations = row;
  for (const row of domainStates) {
    const g = group(row.environment);
    g.organizationDomains = { ...g.organizationDomains, [row.state]: row.n };
  }
  for (const row of outcomes) {
    const g = group(row.environment);
    g.events = { ...g.events, [row.outcome]: row.n };
    if (row.oldest && !(g.oldestEvent && g.oldestEvent <= row.oldest)) g.oldestEvent = row.oldest;
  }
  for (const row of expiring) group(row.environment).expiring = row;
  return { rows, known: new Set(states.map((row) => row.environment)) };
}

/** The status an environment's groups say: what lag, lease and the rest mean. */
function statusFrom(g: StatusGroup, now: Date): StatusReport {
  const state = g.state;
  const lease = g.lease;
  const run = g.run;
  const connections = g.connections ?? { all: 0, live: 0 };
  const organizations = g.organizations ?? { all: 0, live: 0 };
  const expiring = g.expiring ?? { within14: 0, within30: 0, expired: 0 };
  const events = { applied: 0, stale: 0, ignored: 0, quarantined: 0, ...g.events };
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
    oldestEventCreatedAt: g.oldestEvent ?? null,
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
      domains: g.domains ?? 0,
      certificates: g.certificates ?? 0,
      organizations: organizations.all,
      liveOrganizations: organizations.live,
      deletedOrganizations: organizations.all - organizations.live,
      organizationDomains: g.organizationDomains ?? {},
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
