/**
 * Polling: `pollOnce` until the stream is drained, waiting out what is transient: WorkOS 429/5xx
 * and network failures, the database going away, another writer moving the cursor. Each wait is
 * logged once per change of error kind, never per attempt. A cursor the API refuses is handed to
 * `recover` when given (`cursorRecovery`: a reconciliation, then a restart from the oldest
 * retained events). Errors that waiting cannot fix (a rejected API key) are thrown, and so is a
 * hook's once one batch has failed `hookAttempts` times (the bound, and why only hooks have one:
 * transient-failures.ts). An abort (shutdown, a lost lease) ends it cleanly, whether it
 * comes between pages or in a wait.
 */
import { environmentOrNull } from '../db/environment-scope.ts';
import { asError, CursorMovedError, CursorRejectedError, RetryableError } from '../errors.ts';
import { inSpan } from '../tracing.ts';
import { type BackoffPolicy, DEFAULT_BACKOFF } from './backoff.ts';
import {
  emptyTotals,
  type PollOnceDeps,
  type PollOnceOptions,
  type PollTotals,
  pollOnce,
} from './events/poll-once.ts';
import { type PollRecorder, pollRecorder } from './poll-record.ts';
import type { ReconcileDeps } from './reconcile/reconcile.ts';
import { transientFailures } from './transient-failures.ts';

/** What a poll, a backfill and the worker run on: the database, WorkOS's three sources, the logger. */
export interface SyncDeps extends PollOnceDeps, ReconcileDeps {}

/** What the library's `poll()` and `backfill()` take. */
export type PollOptions = Pick<
  PollRunOptions,
  'since' | 'signal' | 'onPage' | 'backoff' | 'maxPages' | 'hookAttempts'
>;

export interface PollRunOptions extends PollOnceOptions {
  readonly backoff?: BackoffPolicy | undefined;
  /** Told of every transient failure (for metrics); the loop itself logs once per kind. */
  readonly onRetry?: ((error: RetryableError) => void) | undefined;
  /** Writes the poll's bookkeeping (`poll-record.ts`); by default one of this poll's own. */
  readonly recorder?: PollRecorder | undefined;
  /** Recovers from a cursor the API refuses; without it, that error is thrown. */
  readonly recover?: ((error: CursorRejectedError) => Promise<void>) | undefined;
  /**
   * Called before a transient failure is waited out, to find out whether the caller's lease
   * still holds (the failure may be the database ending the session of a process that was
   * stopped past its lease): a lost one aborts `signal`, and the loop stops instead of retrying.
   */
  readonly confirmLease?: ((cause: RetryableError) => Promise<void>) | undefined;
  /**
   * How many times one batch whose `onChange` hook throws is tried, in all, before the run
   * rejects with the hook's error (the batch rolled back, the cursor after the last batch that
   * committed). Default `DEFAULT_HOOK_ATTEMPTS` (5), for one-shot runs; Infinity waits for the
   * hook as for an outage (the worker).
   */
  readonly hookAttempts?: number | undefined;
}

export function poll(deps: PollOnceDeps, options: PollRunOptions = {}): Promise<PollTotals> {
  const environment = environmentOrNull(deps.db);
  return inSpan(
    'workos_sync.poll',
    environment === null ? {} : { 'workos_sync.environment': environment },
    async (span) => {
      const totals = await pollToTheEnd(deps, options);
      span.setAttributes({
        'workos_sync.pages': totals.pages,
        'workos_sync.events': totals.events,
        'workos_sync.events.applied': totals.applied,
        'workos_sync.caught_up': totals.caughtUp,
        ...(totals.cursor === null ? {} : { 'workos_sync.cursor.after': totals.cursor }),
      });
      return totals;
    },
  );
}

async function pollToTheEnd(deps: PollOnceDeps, options: PollRunOptions): Promise<PollTotals> {
  const totals = emptyTotals();
  const recorder = options.recorder ?? pollRecorder(deps.log);
  const failures = transientFailures(deps.log, options.backoff ?? DEFAULT_BACKOFF, {
    hookAttempts: options.hookAttempts,
  });

  while (true) {
    const pagesBefore = totals.pages;
    let error: Error;
    try {
      await pollOnce(deps, options, totals);
      if (failures.lastKind !== null)
        deps.log.info({ after: failures.lastKind }, 'recovered; caught up again');
      await recorder.record(deps.db, { caughtUp: totals.caughtUp, error: null });
      return totals;
    } catch (thrown) {
      error = asError(thrown);
    }
    // Batches committed before this failure: the one failing now is tried afresh.
    if (totals.pages > pagesBefore) failures.progressed();

    if (error instanceof CursorRejectedError && options.recover) {
      try {
        await options.recover(error);
        if (options.signal?.aborted) return totals;
        continue;
      } catch (thrown) {
        // A recovery the abort interrupted is left whole to the next run.
        if (options.signal?.aborted) return totals;
        error = asError(thrown);
      }
    }
    if (error instanceof CursorMovedError) {
      // Someone else applied pages meanwhile; their work stands, carry on from where they are.
      deps.log.info({ err: error }, 'another writer moved the cursor; continuing from it');
      continue;
    }
    if (!(error instanceof RetryableError)) throw error;

    options.onRetry?.(error);
    await options.confirmLease?.(error);
    if (options.signal?.aborted) {
      // Stopping anyway (shutdown, a lost lease): end as a stop between two pages does. The next
      // run, or the replica holding the lease now, starts again from the stored cursor.
      deps.log.debug({ err: error }, 'stopping; the failed attempt is left to the next run');
      return totals;
    }
    const waiting = failures.note(error);
    await recorder.record(deps.db, { caughtUp: false, error: deps.scrub(error.message) });
    if (!waiting) throw error;
    await failures.pause(error, options.signal);
    if (options.signal?.aborted) return totals;
  }
}
