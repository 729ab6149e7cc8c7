/**
 * `drainEvents` until the stream is drained, waiting out what is transient: WorkOS 429/5xx and
 * network failures, the database going away, another writer moving the cursor. Each wait is
 * logged once per change of error kind, never per attempt. A cursor the API refuses is handed
 * to `recover` when given. Errors that waiting cannot fix (a rejected API key) are thrown.
 */
import { classifyDatabaseError } from '../db/errors.ts';
import { CursorMovedError, CursorRejectedError, RetryableError, SyncError } from '../errors.ts';
import { sleep } from '../time.ts';
import { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF } from './backoff.ts';
import { recordPoll } from './cursor.ts';
import { type DrainDeps, type DrainOptions, type DrainTotals, drainEvents, emptyTotals } from './drain.ts';

export interface CatchUpOptions extends DrainOptions {
  readonly backoff?: BackoffPolicy | undefined;
  /** Told of every transient failure (for metrics); the loop itself logs once per kind. */
  readonly onRetry?: ((error: RetryableError) => void) | undefined;
  /** Recovers from a cursor the API refuses; without it, that error is thrown. */
  readonly recover?: ((error: CursorRejectedError) => Promise<void>) | undefined;
}

export async function catchUp(deps: DrainDeps, options: CatchUpOptions = {}): Promise<DrainTotals> {
  const policy = options.backoff ?? DEFAULT_BACKOFF;
  const totals = emptyTotals();
  let attempt = 0;
  let lastKind: string | null = null;

  while (true) {
    let error: Error;
    try {
      await drainEvents(deps, options, totals);
      if (lastKind !== null) deps.log.info({ after: lastKind }, 'recovered; caught up again');
      await recordPoll(deps.db, { caughtUp: totals.caughtUp, error: null }).catch(() => undefined);
      return totals;
    } catch (thrown) {
      error = asSyncError(thrown);
    }

    if (error instanceof CursorRejectedError && options.recover) {
      try {
        await options.recover(error);
        continue;
      } catch (thrown) {
        error = asSyncError(thrown);
      }
    }
    if (error instanceof CursorMovedError) {
      // Someone else applied pages meanwhile; their work stands, carry on from where they are.
      deps.log.info({ err: error }, 'another writer moved the cursor; continuing from it');
      continue;
    }
    if (!(error instanceof RetryableError)) throw error;

    attempt++;
    options.onRetry?.(error);
    if (error.kind !== lastKind) {
      deps.log.warn({ kind: error.kind, err: error }, 'waiting out a transient failure');
      lastKind = error.kind;
    }
    await recordPoll(deps.db, { caughtUp: false, error: error.message }).catch(() => undefined);
    if (options.signal?.aborted) throw error;
    await sleep(backoffDelay(policy, attempt, error.retryAfterMs), options.signal);
    if (options.signal?.aborted) return totals;
  }
}

function asSyncError(thrown: unknown): Error {
  return thrown instanceof SyncError ? thrown : classifyDatabaseError(thrown);
}
