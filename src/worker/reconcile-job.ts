/**
 * The worker's reconciliations, whatever starts them (the schedule, a new mirror's first poll, a
 * cursor recovery, an upgrade): each runs under the `reconcile` lease, so replicas never list at
 * once, and each is counted in the metrics.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/tables.ts';
import type { CursorRejectedError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { isNewMirror } from '../sync/backfill.ts';
import type { SyncDeps } from '../sync/poll.ts';
import { reconcile } from '../sync/reconcile/reconcile.ts';
import { organizationsEverListed, sweepAbandonedRuns } from '../sync/reconcile/runs.ts';
import { recoverRejectedCursor } from '../sync/recover-cursor.ts';
import type { LeaseKeeper } from './lease-keeper.ts';
import type { SyncMetrics } from './metrics.ts';

export interface CountedDeps extends SyncDeps {
  readonly metrics: SyncMetrics;
}

export interface ReconcileJobDeps extends CountedDeps {
  readonly reconcileLease: LeaseKeeper;
  /** The worker's lease period: a replica waiting for the lease checks every third of it. */
  readonly leaseTtlMs: number;
}

/** Every reconciliation this worker runs, counted in the metrics whatever triggered it. */
export async function reconcileCounted(deps: CountedDeps, signal: AbortSignal): Promise<void> {
  const started = performance.now();
  try {
    const report = await reconcile(deps, { signal });
    deps.metrics.recordReconciliation({
      durationSeconds: report.durationMs / 1000,
      ok: true,
      dryRun: false,
      ...report.counts,
      organizations: report.organizations,
    });
  } catch (error) {
    const none = {
      inserted: 0,
      updated: 0,
      touched: 0,
      deleted: 0,
      unchanged: 0,
      certificatesUnparsable: 0,
    };
    deps.metrics.recordReconciliation({
      durationSeconds: (performance.now() - started) / 1000,
      ok: false,
      dryRun: false,
      ...none,
    });
    throw error;
  }
}

/**
 * A reconciliation under the `reconcile` lease. When another replica holds it: false at once,
 * or with `wait`, once it is ours (checking every third of a lease period); false on abort.
 */
export async function reconcileUnderLease(
  deps: ReconcileJobDeps,
  signal: AbortSignal,
  wait: boolean,
): Promise<boolean> {
  const lease = deps.reconcileLease;
  const held = await lease.ensureWaiting(wait, signal, () =>
    deps.log.info('waiting for the reconcile lease another replica holds'),
  );
  if (!held) return false;
  try {
    await sweepAbandoned(deps);
    await reconcileCounted(deps, AbortSignal.any([signal, held]));
    return true;
  } finally {
    await lease.release();
  }
}

/**
 * Cursor recovery, whose reconciliation waits for the lease like any other; the caller ends its
 * pass when `signal` aborted meanwhile.
 */
export function recoverWithin(deps: ReconcileJobDeps, signal: AbortSignal) {
  return async (error: CursorRejectedError): Promise<void> => {
    deps.metrics.recordApiError('cursor_rejected');
    deps.metrics.recordCursorRecovery();
    await recoverRejectedCursor(
      {
        db: deps.db,
        log: deps.log,
        reconcile: async () => {
          if (!(await reconcileUnderLease(deps, signal, true)))
            throw new Error('stopped before the recovery');
        },
      },
      error,
    );
  };
}

/**
 * A mirror upgraded from a release that did not mirror organizations lists them now rather than
 * at the schedule's next run (a new mirror's first poll lists them anyway).
 */
export async function organizationsOwed(db: Kysely<Database>): Promise<boolean> {
  return !(await isNewMirror(db)) && !(await organizationsEverListed(db));
}

/** Under the reconcile lease: the runs a killed process left `running` are ended first (runs.ts). */
export async function sweepAbandoned(deps: {
  readonly db: Kysely<Database>;
  readonly log: Logger;
}): Promise<void> {
  const swept = await sweepAbandonedRuns(deps.db);
  if (swept > 0)
    deps.log.warn(
      { runs: swept },
      'reconciliations a stopped process left running are recorded as abandoned',
    );
}
