/**
 * What every wait-it-out loop shares: count the attempts, log a failure once per change of error
 * kind (never per attempt, so an hour-long outage is two lines, not thousands), and sleep a capped,
 * jittered backoff that honours the server's `Retry-After`.
 */
import type { RetryableError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { sleep } from '../time.ts';
import { type BackoffPolicy, backoffDelay } from './backoff.ts';

export interface TransientFailures {
  /** The kind of the last failure noted; null while none has been. */
  readonly lastKind: string | null;
  /** Counts the attempt and logs the failure when its kind differs from the previous one. */
  note(error: RetryableError): void;
  /** Sleeps the backoff of the attempt just noted (wakes early when `signal` aborts). */
  pause(error: RetryableError, signal?: AbortSignal): Promise<void>;
}

export function transientFailures(
  log: Logger,
  policy: BackoffPolicy,
  context: Record<string, unknown> = {},
): TransientFailures {
  let attempt = 0;
  let lastKind: string | null = null;
  return {
    get lastKind() {
      return lastKind;
    },
    note(error) {
      attempt++;
      if (error.kind === lastKind) return;
      log.warn({ ...context, kind: error.kind, err: error }, 'waiting out a transient failure');
      lastKind = error.kind;
    },
    pause(error, signal) {
      return sleep(backoffDelay(policy, attempt, error.retryAfterMs), signal);
    },
  };
}
