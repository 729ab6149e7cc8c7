/**
 * One reconciliation: snapshot List Connections whole, compare it with the mirror, write the
 * difference in one transaction, and record the run with its drift counts. A run that fails
 * (the listing broke off, the database went away) is recorded as failed and changes nothing;
 * a dry run computes the same drift and writes nothing at all, not even its run row.
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/tables.ts';
import type { Logger } from '../../logger.ts';
import type { ConnectionsSource } from '../../workos/connections-source.ts';
import { fetchListing } from './listing.ts';
import { type Drift, planReconciliation, type ReconciliationCounts } from './plan.ts';
import { loadStoredConnections, loadStoredSigningCertificates, writeReconciliation } from './store.ts';

export interface ReconcileDeps {
  readonly db: Kysely<Database>;
  readonly source: ConnectionsSource;
  readonly log: Logger;
}

export interface ReconcileReport {
  readonly runId: string | null;
  readonly dryRun: boolean;
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly pages: number;
  readonly counts: ReconciliationCounts;
  readonly drift: readonly Drift[];
}

export async function reconcile(
  deps: ReconcileDeps,
  options: { readonly dryRun?: boolean; readonly signal?: AbortSignal | undefined } = {},
): Promise<ReconcileReport> {
  const dryRun = options.dryRun === true;
  const started = performance.now();
  // Database time, so the snapshot guard compares like with like (synced_at is database time).
  const startedAt = (await sql<{ now: Date }>`select clock_timestamp() as now`.execute(deps.db)).rows[0]!.now;
  const runId = dryRun ? null : await openRun(deps.db, startedAt);

  try {
    const listing = await fetchListing(deps.source, { signal: options.signal });
    // Read and plan before the transaction opens: planning is JS (about 1 s per 50,000
    // connections), and Postgres ends a transaction left idle for a lease period as abandoned
    // (db/session-limits.ts). The reads gained nothing from it (read committed: each statement
    // sees its own snapshot anyway), and the writes keep their guards in SQL.
    const stored = await loadStoredConnections(deps.db);
    const certificates = await loadStoredSigningCertificates(deps.db);
    const plan = planReconciliation(listing, stored, certificates, startedAt);
    const report = await deps.db.transaction().execute(async (trx) => {
      const counts = { ...plan.counts };
      if (!dryRun) {
        // What really changed may be less than planned when the poller got there first.
        const written = await writeReconciliation(trx, plan, startedAt);
        counts.unchanged += counts.inserted + counts.updated - written.inserted - written.updated;
        Object.assign(counts, written);
        await trx
          .updateTable('reconciliation_runs')
          .set({
            status: 'succeeded',
            finished_at: sql<Date>`clock_timestamp()`,
            seen: counts.seen,
            inserted: counts.inserted,
            updated: counts.updated,
            deleted: counts.deleted,
            unchanged: counts.unchanged,
            invalid: counts.invalid,
            certificates_updated: counts.certificatesUpdated,
            certificates_unparsable: counts.certificatesUnparsable,
          })
          .where('id', '=', runId!)
          .execute();
      }
      return { counts, drift: plan.drift };
    });
    const durationMs = performance.now() - started;
    deps.log.info(
      { runId, dryRun, ...report.counts, durationMs: Math.round(durationMs) },
      'reconciliation finished',
    );
    return { runId, dryRun, startedAt, durationMs, pages: listing.pages, ...report };
  } catch (error) {
    if (runId !== null) await failRun(deps, runId, error);
    throw error;
  }
}

async function openRun(db: Kysely<Database>, startedAt: Date): Promise<string> {
  const row = await db
    .insertInto('reconciliation_runs')
    .values({ started_at: startedAt, status: 'running', finished_at: null, error: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return String(row.id);
}

async function failRun(deps: ReconcileDeps, runId: string, error: unknown): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  try {
    await deps.db
      .updateTable('reconciliation_runs')
      .set({ status: 'failed', finished_at: sql<Date>`clock_timestamp()`, error: message })
      .where('id', '=', runId)
      .execute();
  } catch (recordError) {
    // The database itself may be what failed; the run stays 'running' and the caller still sees the cause.
    deps.log.warn({ err: recordError, runId }, 'could not record the failed reconciliation');
  }
}
