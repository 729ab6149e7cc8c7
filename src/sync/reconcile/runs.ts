/**
 * `reconciliation_runs`: every run, real or failed, with what it found (a dry run writes none).
 * The one module that reads and writes the table.
 */
import { type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import type { DatabaseInstant } from '../../db/clock.ts';
import type { Database, ReconciliationRunsTable } from '../../db/tables.ts';
import type { Logger, Scrub } from '../../logger.ts';
import type { ReconciliationCounts } from './plan.ts';
import type { EntityCounts } from './plan-organizations.ts';

/** What a run left `running` by a process that stopped before it ended is recorded as. */
export const ABANDONED = 'abandoned: the process running it stopped before it ended';

/**
 * Ends the runs a killed process left `running`: failed, as abandoned. Only under the reconcile
 * lease, whose holder is the one reconciliation under way: any other `running` row is a dead one.
 * Returns how many there were.
 */
export async function sweepAbandonedRuns(db: Kysely<Database>): Promise<number> {
  const swept = await db
    .updateTable('reconciliation_runs')
    .set({ status: 'failed', finished_at: sql<Date>`clock_timestamp()`, error: ABANDONED })
    .where('status', '=', 'running')
    .executeTakeFirst();
  return Number(swept.numUpdatedRows);
}

export async function openRun(db: Kysely<Database>, began: DatabaseInstant): Promise<string> {
  const row = await db
    .insertInto('reconciliation_runs')
    .values({ started_at: began, status: 'running', finished_at: null, error: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return String(row.id);
}

/** In the run's write transaction: it succeeded, with these counts. */
export async function finishRun(
  trx: Transaction<Database>,
  runId: string,
  run: {
    readonly counts: ReconciliationCounts;
    readonly listingComplete: boolean;
    /** The listing's time, when this run listed every connection itself. */
    readonly listedWholeAt: Date | null;
    readonly organizations: { readonly organizations: EntityCounts; readonly domains: EntityCounts } | null;
  },
): Promise<void> {
  const { counts, organizations } = run;
  await trx
    .updateTable('reconciliation_runs')
    .set({
      status: 'succeeded',
      finished_at: sql<Date>`clock_timestamp()`,
      seen: counts.seen,
      inserted: counts.inserted,
      updated: counts.updated,
      touched: counts.touched,
      deleted: counts.deleted,
      unchanged: counts.unchanged,
      invalid: counts.invalid,
      certificates_updated: counts.certificatesUpdated,
      certificates_unparsable: counts.certificatesUnparsable,
      listing_complete: run.listingComplete,
      listed_at: run.listedWholeAt,
      ...(organizations && {
        organizations_listed: true,
        organizations_seen: organizations.organizations.seen,
        organizations_inserted: organizations.organizations.inserted,
        organizations_updated: organizations.organizations.updated,
        organizations_deleted: organizations.organizations.deleted,
        domains_seen: organizations.domains.seen,
        domains_inserted: organizations.domains.inserted,
        domains_updated: organizations.domains.updated,
        domains_deleted: organizations.domains.deleted,
      }),
    })
    .where('id', '=', runId)
    .execute();
}

export async function failRun(
  deps: { readonly db: Kysely<Database>; readonly log: Logger; readonly scrub: Scrub },
  runId: string,
  error: unknown,
): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  try {
    await deps.db
      .updateTable('reconciliation_runs')
      .set({ status: 'failed', finished_at: sql<Date>`clock_timestamp()`, error: deps.scrub(message) })
      .where('id', '=', runId)
      .execute();
  } catch (recordError) {
    // The database itself may be what failed; the run stays 'running' and the caller still sees the cause.
    deps.log.warn({ err: recordError, runId }, 'could not record the failed reconciliation');
  }
}

/** The newest run, whatever its outcome (`status`). */
export function lastRun(db: Kysely<Database>) {
  return db.selectFrom('reconciliation_runs').selectAll().orderBy('id', 'desc').limit(1).executeTakeFirst();
}

/**
 * The newest run of each of `environments` (on the whole mirror's handle), by the same rule as
 * `lastRun`: one statement, one index probe per environment (the runs' key leads with it), however
 * many runs each has.
 */
export async function lastRunOfEach(
  db: Kysely<Database>,
  environments: readonly string[],
): Promise<Map<string, Selectable<ReconciliationRunsTable>>> {
  if (environments.length === 0) return new Map();
  const rows = await db
    .selectFrom(sql<{ name: string }>`unnest(${[...environments]}::text[])`.as<'e'>(sql`e(name)`))
    .innerJoinLateral(
      (eb) =>
        eb
          .selectFrom('reconciliation_runs')
          .selectAll()
          .whereRef('reconciliation_runs.environment', '=', 'e.name')
          .orderBy('id', 'desc')
          .limit(1)
          .as('r'),
      (join) => join.onTrue(),
    )
    .selectAll('r')
    .execute();
  return new Map(rows.map((row) => [row.environment, row]));
}

/** Whether a mirror has ever listed organizations (one upgraded from a release that did not, has not). */
export async function organizationsEverListed(db: Kysely<Database>): Promise<boolean> {
  const run = await db
    .selectFrom('reconciliation_runs')
    .select('id')
    .where('status', '=', 'succeeded')
    .where('organizations_listed', '=', true)
    .limit(1)
    .executeTakeFirst();
  return run !== undefined;
}

/**
 * The latest time (WorkOS's clock) at which a listing of every connection began: whatever WorkOS
 * changed before it, a reconciliation has read since. Null before any.
 */
export async function lastWholeListingAt(db: Kysely<Database>): Promise<Date | null> {
  const row = await db
    .selectFrom('reconciliation_runs')
    .select((eb) => eb.fn.max('listed_at').as('at'))
    .where('status', '=', 'succeeded')
    .executeTakeFirst();
  return (row?.at as Date | null | undefined) ?? null;
}

/** Whether the mirror has a real reconciliation that succeeded. */
export async function everReconciled(db: Kysely<Database>): Promise<boolean> {
  const run = await db
    .selectFrom('reconciliation_runs')
    .select('id')
    .where('status', '=', 'succeeded')
    .where('dry_run', '=', false)
    .limit(1)
    .executeTakeFirst();
  return run !== undefined;
}
