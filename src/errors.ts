/**
 * Errors grouped by what the caller does with them: wait and retry (`RetryableError`), recover
 * the stream (`CursorRejectedError`), carry on from another writer's cursor (`CursorMovedError`),
 * stop (`FatalError`; `ConfigError` exits 2). Every layer translates the failures it understands
 * into one of these where they arise, keeping the original as `cause` (WorkOS's in
 * `workos/errors.ts`, the database's in its driver, `db/engine-dialect.ts`); anything else is a
 * bug and surfaces as itself. An event whose payload is invalid is not an error: it is recorded
 * as quarantined (`parse-event.ts`).
 */

/** What went wrong, by kind: a wait is logged once per change of kind; metrics count each. */
export const ERROR_KINDS = [
  'rate_limited',
  'server_error',
  'timeout',
  'network',
  'bad_response',
  'database',
  'hook',
  'unauthorized',
  'refused',
  'cursor_rejected',
] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];
export type TransientKind = Exclude<ErrorKind, FatalKind | 'cursor_rejected'>;
export type FatalKind = 'unauthorized' | 'refused';

export abstract class SyncError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A transient failure (WorkOS 429/5xx/timeout/network, Postgres unreachable): wait and try again. */
export class RetryableError extends SyncError {
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    readonly kind: TransientKind,
    options?: { cause?: unknown; retryAfterMs?: number | undefined },
  ) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/**
 * A lease another process holds, for a caller that asked not to wait for it (`reconcile
 * --no-wait`): try again later, or wait.
 */
export class LeaseHeldError extends SyncError {
  constructor(
    readonly lease: string,
    readonly holder: string,
  ) {
    super(`the ${lease} lease is held by ${holder}`);
  }
}

/**
 * The Events API refused our cursor (expired past retention), confirmed by the same request
 * without it succeeding: reconcile and restart the stream.
 */
export class CursorRejectedError extends SyncError {
  constructor(
    readonly cursor: string,
    options?: { cause?: unknown },
  ) {
    super(`the Events API rejected the stored cursor ${cursor}`, options);
  }
}

/**
 * Another writer moved the cursor since this one read it (a paused former lease holder, or two
 * one-shot commands at once): this writer's page must not commit. Re-read the cursor and go on.
 */
export class CursorMovedError extends SyncError {
  constructor(expected: string | null, actual: string | null) {
    super(`the cursor moved from ${expected ?? '(start)'} to ${actual ?? '(start)'} under this writer`);
  }
}

/**
 * Nothing will get better by waiting: a bad setting, a rejected API key, a request WorkOS refuses
 * whatever our cursor (a bad filter, a wrong path), a corrupt store. Retrying sends the same
 * request to the same answer, and recovering would throw the cursor away for nothing.
 */
export class FatalError extends SyncError {
  /** For a failure of a WorkOS request: its kind, as the metrics count it. */
  readonly kind: FatalKind | undefined;

  constructor(message: string, options?: { cause?: unknown; kind?: FatalKind }) {
    super(message, options);
    this.kind = options?.kind;
  }
}

/** A missing or malformed setting or flag: exit code 2. */
export class ConfigError extends FatalError {}

/** Anything thrown, as an `Error` (a library may throw a string). */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}
