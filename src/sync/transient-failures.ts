/**
 * What every wait-it-out loop shares: count the attempts, log a failure once per change of error
 * kind (never per attempt, so an hour-long outage is two lines, not thousands), sleep a capped,
 * jittered backoff that honours the server's `Retry-After`, and say when to stop waiting.
 *
 * When to stop is one rule, here: only a failing `onChange` hook has a bound. WorkOS being down
 * or rate limiting, or Postgres restarting, ends by itself, so every run waits it out (a cron
 * `poll` that must end by a deadline has `timeout` or a signal for that). A hook that throws is
 * the application's own code failing on this batch, often a bug no wait fixes, and a one-shot
 * run waiting on it forever never ends and never reports it. So one batch is tried
 * `hookAttempts` times in all (default 5: with the default backoff, 3.75 to 7.5 s of waiting,
 * enough for a blip such as a deadlock or a restarting service), then the loop throws the hook's
 * error. The long-running worker passes Infinity: it runs for good anyway, holds the stream
 * (shown by `status` and the `hook` error metric) and goes on as soon as the hook does.
 */
import { ConfigError, type RetryableError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { sleep } from '../time.ts';
import { type BackoffPolicy, backoffDelay } from './backoff.ts';

/** Tries of one batch whose hook throws, in all, unless the caller says otherwise. */
export const DEFAULT_HOOK_ATTEMPTS = 5;

export interface TransientFailures {
  /** The kind of the last failure noted; null while none has been. */
  readonly lastKind: string | null;
  /**
   * Counts the attempt and logs the failure when its kind differs from the previous one. False
   * when the loop must stop waiting and throw `error`: a hook failed its last allowed attempt.
   */
  note(error: RetryableError): boolean;
  /** The work moved on (a batch committed): the hook failures counted so far were another batch's. */
  progressed(): void;
  /** Sleeps the backoff of the attempt just noted (wakes early when `signal` aborts). */
  pause(error: RetryableError, signal?: AbortSignal): Promise<void>;
}

export interface FailureOptions {
  /** Logged with each failure (which operation waits). */
  readonly context?: Record<string, unknown> | undefined;
  /** See the module's comment; a whole number >= 1, or Infinity for no bound. */
  readonly hookAttempts?: number | undefined;
}

export function transientFailures(
  log: Logger,
  policy: BackoffPolicy,
  options: FailureOptions = {},
): TransientFailures {
  const context = options.context ?? {};
  const hookAttempts = checkedHookAttempts(options.hookAttempts ?? DEFAULT_HOOK_ATTEMPTS);
  let attempt = 0;
  let hookFailures = 0;
  let lastKind: string | null = null;
  return {
    get lastKind() {
      return lastKind;
    },
    note(error) {
      attempt++;
      if (error.kind === 'hook') hookFailures++;
      if (error.kind === 'hook' && hookFailures >= hookAttempts) {
        log.warn(
          { ...context, kind: error.kind, attempts: hookFailures, err: error },
          'giving up: the onChange hook failed on every attempt at this batch',
        );
        return false;
      }
      if (error.kind !== lastKind) {
        log.warn({ ...context, kind: error.kind, err: error }, 'waiting out a transient failure');
        lastKind = error.kind;
      }
      return true;
    },
    progressed() {
      hookFailures = 0;
    },
    pause(error, signal) {
      return sleep(backoffDelay(policy, attempt, error.retryAfterMs), signal);
    },
  };
}

function checkedHookAttempts(value: number): number {
  if (value === Number.POSITIVE_INFINITY || (Number.isInteger(value) && value >= 1)) return value;
  throw new ConfigError(`hookAttempts must be a whole number >= 1 (or Infinity), got ${value}`);
}
