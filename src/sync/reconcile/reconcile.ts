/**
 * One reconciliation: snapshot List Connections whole, compare it with the mirror, write the
 * difference in one transaction, and record the run with its drift counts. A run that fails
 * (the listing broke off, the database went away) is recorded as failed and changes nothing;
 * a dry run computes the same drift and writes nothing at all, not even its run row.
 *
 * Two clocks, each for its own question (`versions.ts`): the versions it writes are in WorkOS's
 * clock (the listing's time, from WorkOS's `Date` header), and "was this row written after the
 * listing began" is the database's clock compared with itself.
 */
import { type Kysely, sql } from 'kysely';
import { type DatabaseInstant, databaseNow } from '../../db/clock.ts';
import type { Database } from '../../db/tables.ts';
import type { Logger, Scrub } from '../../logger.ts';
import type { ConnectionsSource } from '../../workos/connections-source.ts';
import {
  type ChangeReporting,
  captureRows,
  changesBetween,
  notifyChanges,
  runHooks,
} from '../change-report.ts';
import type { RowKeys } from '../mirror.ts';
import { fetchListing } from './listing.ts';
import { continuePass, endPass, passUnderWay } from './pass.ts';
import {
  type Drift,
  planReconciliation,
  type ReconciliationCounts,
  type ReconciliationPlan,
} from './plan.ts';
import { loadStoredConnections, loadStoredSigningCertificates, writeReconciliation } from './store.ts';

export interface ReconcileDeps {
  readonly db: Kysely<Database>;
  readonly source: ConnectionsSource;
  readonly log: Logger;
  /** Takes every secret out of an error's text before it is stored (`reconciliation_runs.error`). */
  readonly scrub: Scrub;
  /** The application's hooks and the NOTIFY channel; none when absent. */
  readonly reporting?: ChangeReporting | undefined;
}

export interface ReconcileReport {
  readonly runId: string | null;
  readonly dryRun: boolean;
  /** When the listing began, in the database's clock. */
  readonly startedAt: Date;
  /** The listing's time in WorkOS's clock: the version of what it wrote. */
  readonly listedAt: Date;
  readonly durationMs: number;
  readonly pages: number;
  /** False for a run bounded by `maxPages` that stopped before the listing's end (the pass goes on). */
  readonly listingComplete: boolean;
  readonly counts: ReconciliationCounts;
  /** What differs (a dry run), or what was changed (a real run: rows the poller got to first are left out). */
  readonly drift: readonly Drift[];
}

export interface ReconcileOptions {
  /** Compute the drift and write nothing, not even a run row. */
  readonly dryRun?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
  /**
   * List at most this many pages, resuming the pass under way (`pass.ts`): for runs with a time
   * limit. Deletions wait for the run that reaches the listing's end.
   */
  readonly maxPages?: number | undefined;
}

export async function reconcile(
  deps: ReconcileDeps,
  options: ReconcileOptions = {},
): Promise<ReconcileReport> {
  const dryRun = options.dryRun === true;
  const started = performance.now();
  const runBegan = await databaseNow(deps.db);
  const bounded = options.maxPages !== undefined;
  // An unbounded run is a pass of its own (and ends one under way); a bounded one goes on with it.
  const continuing = bounded ? await passUnderWay(deps.db) : null;
  const began = continuing?.began ?? runBegan;
  const runId = dryRun ? null : await openRun(deps.db, runBegan);

  try {
    const listing = await fetchListing(deps.source, {
      signal: options.signal,
      after: continuing?.after,
      maxPages: options.maxPages,
    });
    const reachedEnd = listing.next === null;
    const listedAt = listing.listedAt ?? (await fallbackListingTime(deps));
    // Read and plan before the transaction opens: planning is JS (about 1 s per 50,000
    // connections), and Postgres ends a transaction left idle for a lease period as abandoned
    // (db/session-limits.ts). Reading inside it would be no more consistent (read committed:
    // each statement sees its own snapshot), and the writes keep their guards in SQL.
    const stored = await loadStoredConnections(deps.db, began);
    const certificates = await loadStoredSigningCertificates(deps.db);
    const plan = planReconciliation(listing, stored, certificates, listedAt, {
      reachedEnd,
      listedEarlier: continuing?.listed ?? new Set(),
    });
    const report = dryRun
      ? { counts: plan.counts, drift: plan.drift }
      : await deps.db.transaction().execute(async (trx) => {
          const hooks = deps.reporting?.hooks() ?? [];
          const rows = rowsPlanned(plan);
          const before = hooks.length > 0 ? await captureRows(trx, rows) : null;
          // What really changed may be less than planned when the poller got there first.
          const { counts: written, written: ids } = await writeReconciliation(trx, plan, {
            began,
            at: listedAt,
          });
          if (before) {
            const source = { kind: 'listing', runId: runId! } as const;
            await runHooks(
              trx,
              hooks,
              changesBetween(before, await captureRows(trx, rows), () => source),
            );
          }
          if (!reachedEnd) {
            const listed = [...listing.connections.map((c) => c.connection.id), ...listing.invalidIds];
            await continuePass(trx, { next: listing.next!, began, listed });
          } else await endPass(trx);
          await notifyChanges(trx, deps.reporting?.channel ?? null, {
            source: 'reconciliation',
            runId: runId!,
            counts: Object.fromEntries(Object.entries(written).filter(([, n]) => n > 0)),
            connectionIds: [...ids],
          });
          const counts: ReconciliationCounts = {
            ...plan.counts,
            ...written,
            unchanged:
              plan.counts.unchanged +
              plan.counts.inserted +
              plan.counts.updated +
              plan.counts.touched -
              written.inserted -
              written.updated -
              written.touched,
          };
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
              listing_complete: reachedEnd,
            })
            .where('id', '=', runId!)
            .execute();
          return { counts, drift: plan.drift.filter((d) => ids.has(d.id)) };
        });
    const durationMs = performance.now() - started;
    deps.log.info(
      { runId, dryRun, ...report.counts, durationMs: Math.round(durationMs) },
      'reconciliation finished',
    );
    return {
      runId,
      dryRun,
      startedAt: new Date(runBegan),
      listedAt,
      durationMs,
      pages: listing.pages,
      listingComplete: reachedEnd,
      ...report,
    };
  } catch (error) {
    if (runId !== null) await failRun(deps, runId, error);
    throw error;
  }
}

/**
 * WorkOS always sends a `Date` header; a proxy that strips it leaves only the database's clock
 * to version the listing with, which brings back the skew `versions.ts` keeps out: say so.
 */
async function fallbackListingTime(deps: ReconcileDeps): Promise<Date> {
  deps.log.warn(
    'List Connections answered without a Date header: versioning this listing in the database clock instead of WorkOS`s',
  );
  return new Date(await databaseNow(deps.db));
}

async function openRun(db: Kysely<Database>, began: DatabaseInstant): Promise<string> {
  const row = await db
    .insertInto('reconciliation_runs')
    .values({ started_at: began, status: 'running', finished_at: null, error: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return String(row.id);
}

async function failRun(deps: ReconcileDeps, runId: string, error: unknown): Promise<void> {
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

/** Every row the plan may write. */
function rowsPlanned(plan: ReconciliationPlan): RowKeys {
  return {
    connections: [...plan.upserts.map((u) => u.row.id), ...plan.deletions],
    certificates: plan.certificates.map((c) => [c.connection_id, c.certificate_type] as const),
  };
}
