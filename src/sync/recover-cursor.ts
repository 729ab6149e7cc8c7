/**
 * A cursor the Events API refuses (expired past retention: what WorkOS does with it is
 * undocumented; events-source.ts confirms it is the cursor and not the request) cannot be
 * resumed from. Recovery: reconcile against List Connections, which covers whatever happened in
 * the gap, then restart the stream from the oldest retained event (stale events are skipped by
 * the version guard, ones already recorded are no-ops).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/tables.ts';
import type { CursorRejectedError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { restartCursor } from './events/cursor.ts';
import { type ReconcileDeps, reconcile } from './reconcile/reconcile.ts';

export interface RecoverDeps {
  readonly db: Kysely<Database>;
  readonly log: Logger;
  /** A full reconciliation (the caller's, so it is counted and fenced the caller's way). */
  readonly reconcile: () => Promise<unknown>;
}

export async function recoverRejectedCursor(deps: RecoverDeps, rejected: CursorRejectedError): Promise<void> {
  deps.log.error(
    { cursor: rejected.cursor, err: rejected.cause },
    'the Events API rejected the stored cursor (and answered the same request without it); recovering with a reconciliation and a restart from the oldest retained events',
  );
  await deps.reconcile();
  await deps.db
    .transaction()
    .execute((trx) =>
      restartCursor(trx, rejected.cursor, `cursor ${rejected.cursor} rejected by the Events API`),
    );
  deps.log.info({ cursor: rejected.cursor }, 'cursor recovered; restarting from the oldest retained events');
}

/** The one-shot runs' recovery: with a reconciliation of their own (the worker runs its own under its lease). */
export function cursorRecovery(deps: ReconcileDeps): (rejected: CursorRejectedError) => Promise<void> {
  return (rejected) =>
    recoverRejectedCursor({ db: deps.db, log: deps.log, reconcile: () => reconcile(deps) }, rejected);
}
