/**
 * Runs an operation until it succeeds, waiting out transient failures (see RetryableError) with
 * capped, jittered backoff and logging once per change of error kind. Anything else is thrown,
 * and so is a hook's failure after `hookAttempts` tries (transient-failures.ts).
 */
import { asError, RetryableError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { type BackoffPolicy, DEFAULT_BACKOFF } from './backoff.ts';
import { transientFailures } from './transient-failures.ts';

export async function retrying<T>(
  deps: { readonly log: Logger },
  what: string,
  operation: () => Promise<T>,
  options: {
    readonly backoff?: BackoffPolicy | undefined;
    readonly signal?: AbortSignal | undefined;
    readonly hookAttempts?: number | undefined;
  } = {},
): Promise<T> {
  const failures = transientFailures(deps.log, options.backoff ?? DEFAULT_BACKOFF, {
    context: { what },
    hookAttempts: options.hookAttempts,
  });
  while (true) {
    try {
      const result = await operation();
      if (failures.lastKind !== null) deps.log.info({ what }, 'recovered');
      return result;
    } catch (thrown) {
      const error = asError(thrown);
      if (!(error instanceof RetryableError) || options.signal?.aborted) throw error;
      if (!failures.note(error)) throw error;
      await failures.pause(error, options.signal);
    }
  }
}
