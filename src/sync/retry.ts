/**
 * Runs an operation until it succeeds, waiting out transient failures (see RetryableError) with
 * capped, jittered backoff and logging once per change of error kind. Anything else is thrown.
 */
import { classifyDatabaseError } from '../db/errors.ts';
import { RetryableError, SyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { sleep } from '../time.ts';
import { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF } from './backoff.ts';

export async function retrying<T>(
  deps: { readonly log: Logger },
  what: string,
  operation: () => Promise<T>,
  options: { readonly backoff?: BackoffPolicy | undefined; readonly signal?: AbortSignal | undefined } = {},
): Promise<T> {
  let attempt = 0;
  let lastKind: string | null = null;
  while (true) {
    try {
      const result = await operation();
      if (lastKind !== null) deps.log.info({ what }, 'recovered');
      return result;
    } catch (thrown) {
      const error = thrown instanceof SyncError ? thrown : classifyDatabaseError(thrown);
      if (!(error instanceof RetryableError) || options.signal?.aborted) throw error;
      attempt++;
      if (error.kind !== lastKind) {
        deps.log.warn({ what, kind: error.kind, err: error }, 'waiting out a transient failure');
        lastKind = error.kind;
      }
      await sleep(
        backoffDelay(options.backoff ?? DEFAULT_BACKOFF, attempt, error.retryAfterMs),
        options.signal,
      );
    }
  }
}
