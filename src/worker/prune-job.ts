/**
 * The worker's prunes of the event log (sync/prune.ts): one after each fire of the reconcile
 * schedule, whatever the reconciliation's fate (pruning needs no WorkOS), under the `prune`
 * lease, so replicas never walk the log at once. A replica that finds the lease held skips the
 * tick: the holder is pruning.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/tables.ts';
import type { Logger } from '../logger.ts';
import type { EventsRetention } from '../sync/events/retention.ts';
import { pruneEvents } from '../sync/prune.ts';
import type { LeaseKeeper } from './lease-keeper.ts';
import type { SyncMetrics } from './metrics.ts';

export interface PruneJobDeps {
  readonly db: Kysely<Database>;
  readonly log: Logger;
  readonly metrics: SyncMetrics;
  readonly retention: EventsRetention;
  readonly pruneLease: LeaseKeeper;
}

export function pruneTick(deps: PruneJobDeps, stopped: AbortSignal): () => Promise<void> {
  return async () => {
    if (deps.retention.days === null) return;
    const held = await deps.pruneLease.ensureWaiting(false, stopped, () => undefined);
    if (!held) {
      deps.log.debug('not pruning: another replica holds the prune lease');
      return;
    }
    try {
      const report = await pruneEvents(deps, { signal: AbortSignal.any([stopped, held]) });
      deps.metrics.recordPruned(report.pruned);
    } finally {
      await deps.pruneLease.release();
    }
  };
}
