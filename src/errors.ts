/**
 * Errors grouped by what the caller does with them. Every layer translates the failures it
 * understands into one of these (keeping the original as `cause`); anything else is a bug and
 * surfaces as itself.
 */

export type ErrorAction = 'retry' | 'recover' | 'quarantine' | 'fence' | 'stop';

export abstract class SyncError extends Error {
  abstract readonly action: ErrorAction;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A transient failure (WorkOS 429/5xx/timeout/network, Postgres unreachable): wait and try again. */
export class RetryableError extends SyncError {
  readonly action = 'retry' as const;

  constructor(
    message: string,
    readonly kind: string,
    options?: { cause?: unknown; retryAfterMs?: number | undefined },
  ) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }

  readonly retryAfterMs: number | undefined;
}

/**
 * The Events API refused our cursor (expired past retention), confirmed by the same request
 * without it succeeding: reconcile and restart the stream.
 */
export class CursorRejectedError extends SyncError {
  readonly action = 'recover' as const;

  constructor(
    readonly cursor: string,
    options?: { cause?: unknown },
  ) {
    super(`the Events API rejected the stored cursor ${cursor}`, options);
  }
}

/** One event's payload is not what the wire format promises: record it as quarantined, go on. */
export class InvalidEventError extends SyncError {
  readonly action = 'quarantine' as const;
}

/**
 * Another writer moved the cursor since this one read it (a paused former lease holder, or two
 * one-shot commands at once): this writer's page must not commit. Re-read the cursor and go on.
 */
export class CursorMovedError extends SyncError {
  readonly action = 'fence' as const;

  constructor(
    readonly expected: string | null,
    readonly actual: string | null,
  ) {
    super(`the cursor moved from ${expected ?? '(start)'} to ${actual ?? '(start)'} under this writer`);
  }
}

/**
 * Nothing will get better by waiting: a bad setting, a rejected API key, a request WorkOS refuses
 * whatever our cursor (a bad filter, a wrong path), a corrupt store. Retrying sends the same
 * request to the same answer, and recovering would throw the cursor away for nothing.
 */
export class FatalError extends SyncError {
  readonly action = 'stop' as const;
  /** For a failure of a WorkOS request: its kind, as the metrics count it. */
  readonly kind: 'unauthorized' | 'refused' | undefined;

  constructor(message: string, options?: { cause?: unknown; kind?: 'unauthorized' | 'refused' }) {
    super(message, options);
    this.kind = options?.kind;
  }
}

/** A missing or malformed setting or flag: exit code 2. */
export class ConfigError extends FatalError {}
