/**
 * One tick of the poll job. A standby checks the events lease and is done. The holder of it
 * polls to the stream's end, unless the mirror is new: a new mirror starts from the listing, as
 * backfill does, under the reconcile lease. The tick stops at the next page boundary when the
 * worker stops or the events lease is lost.
 */
import { FatalError, type RetryableError } from '../errors.ts';
import { isNewMirror } from '../sync/backfill.ts';
import type { BackoffPolicy } from '../sync/backoff.ts';
import { poll } from '../sync/poll.ts';
import { pollRecorder } from '../sync/poll-record.ts';
import type { LeaseKeeper } from './lease-keeper.ts';
import { type ReconcileJobDeps, reconcileUnderLease, recoverWithin } from './reconcile-job.ts';
import type { Nudges } from './webhooks/nudges.ts';

export interface PollJobDeps extends ReconcileJobDeps {
  readonly eventsLease: LeaseKeeper;
  /** Aborted when the worker stops. */
  readonly stopped: AbortSignal;
  readonly backoff?: BackoffPolicy | undefined;
  /** The nudges wait for this replica's polls: a standby keeps none. */
  readonly nudges: Pick<Nudges, 'clear' | 'deliverySpans'>;
  /** The tick did all it had to: a standby checked the lease, the holder caught up. */
  readonly succeeded: () => void;
  /**
   * Told as each tick ends how many events its poll found, or null when no poll ran to its end (a
   * standby's check, a new mirror waiting for another replica's listing, a failure): the backoff
   * (pacing.ts).
   */
  readonly polled?: ((found: number | null) => void) | undefined;
}

/** The poll job's body: each call is one tick. */
export function pollTick(deps: PollJobDeps): () => Promise<void> {
  // Once not new, never new again (nothing removes a succeeded run): asked until then only.
  let mirrorMayBeNew = true;
  const recorder = pollRecorder(deps.log, () => deps.metrics.recordPollRecordFailure());

  return async () => {
    const leaseSignal = await deps.eventsLease.ensure();
    if (!leaseSignal) {
      // A standby's tick: it checked the lease, which is all it has to do.
      deps.nudges.clear();
      deps.succeeded();
      deps.polled?.(null);
      return;
    }
    const started = performance.now();
    const signal = AbortSignal.any([deps.stopped, leaseSignal]);
    const seconds = () => (performance.now() - started) / 1000;
    try {
      // A new mirror starts from the listing, as backfill does. While another replica runs that
      // listing (it holds the reconcile lease), this tick waits for the next one.
      if (mirrorMayBeNew) mirrorMayBeNew = await isNewMirror(deps.db);
      if (mirrorMayBeNew && !(await reconcileUnderLease(deps, signal, false))) {
        deps.log.debug('a new mirror: waiting for the reconciliation another replica is running');
        deps.polled?.(null);
        return;
      }
      const totals = await poll(deps, {
        signal,
        backoff: deps.backoff,
        recover: recoverWithin(deps, signal),
        onPage: (_totals, page) => deps.metrics.recordEvents(page.outcomes),
        onRetry: (error: RetryableError) => deps.metrics.recordApiError(error.kind),
        confirmLease: (cause) => deps.eventsLease.recheck(cause),
        // Running for good, the worker waits for a failing hook as for an outage.
        hookAttempts: Number.POSITIVE_INFINITY,
        deliverySpans: (eventIds) => deps.nudges.deliverySpans(eventIds),
        recorder,
      });
      if (totals.caughtUp) deps.succeeded();
      if (totals.events > 0)
        deps.log.info({ ...totals, durationMs: Math.round(seconds() * 1000) }, 'poll applied events');
      deps.metrics.recordPoll({
        durationSeconds: seconds(),
        pages: totals.pages,
        ok: totals.caughtUp,
        refreshes: totals.refreshes,
      });
      deps.polled?.(totals.events);
    } catch (error) {
      deps.polled?.(null);
      deps.metrics.recordPoll({ durationSeconds: seconds(), pages: 0, ok: false });
      if (error instanceof FatalError && error.kind) deps.metrics.recordApiError(error.kind);
      throw error;
    }
  };
}
