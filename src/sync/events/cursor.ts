/**
 * The stored position in the event stream (`sync_state`, stream `events`: this module is the one
 * that reads and writes it). The cursor is only ever an id the Events API returned, and it only
 * moves inside the transaction that applied the events before it, or back to the start when a
 * refused cursor is recovered.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../../db/tables.ts';
import { CursorMovedError } from '../../errors.ts';

export const EVENTS_STREAM = 'events';

/** The whole row, for `status`. */
export function readEventsState(db: Kysely<Database>) {
  return db.selectFrom('sync_state').selectAll().where('stream', '=', EVENTS_STREAM).executeTakeFirst();
}

export async function readCursor(db: Kysely<Database>): Promise<string | null> {
  const row = await db
    .selectFrom('sync_state')
    .select('cursor')
    .where('stream', '=', EVENTS_STREAM)
    .executeTakeFirst();
  return row?.cursor ?? null;
}

/**
 * Fencing: lock the cursor row and check it still holds what this writer started from. A
 * writer that paused (GC, lost lease, a second `poll` process) finds it moved and must not commit.
 */
export async function lockCursor(trx: Transaction<Database>, expected: string | null): Promise<void> {
  const locked = () =>
    trx
      .selectFrom('sync_state')
      .select('cursor')
      .where('stream', '=', EVENTS_STREAM)
      .forUpdate()
      .executeTakeFirst();
  let row = await locked();
  if (!row) {
    // An environment's first batch makes its row (`default`'s comes with the migrations); of two
    // first batches at once, the second waits on the first's insert, then finds its cursor moved.
    await trx
      .insertInto('sync_state')
      .values({ stream: EVENTS_STREAM })
      .onConflict((oc) => oc.column('stream').doNothing())
      .execute();
    row = await locked();
  }
  const cursor = row?.cursor ?? null;
  if (cursor !== expected) throw new CursorMovedError(expected, cursor);
}

export async function advanceCursor(
  trx: Transaction<Database>,
  cursor: string,
  lastEventCreatedAt: Date | null,
): Promise<void> {
  await trx
    .updateTable('sync_state')
    .set({
      cursor,
      cursor_updated_at: new Date(),
      // greatest() ignores nulls in Postgres: the first event sets it, later ones only raise it.
      last_event_created_at: sql<Date>`greatest(last_event_created_at, ${lastEventCreatedAt})`,
    })
    .where('stream', '=', EVENTS_STREAM)
    .execute();
}

/**
 * After a recovery: back to the start of the stream (the oldest retained events), and why.
 * Fenced like a page: only the cursor that was refused is reset, not one another writer moved on.
 */
export async function restartCursor(
  trx: Transaction<Database>,
  refused: string,
  reason: string,
): Promise<void> {
  await lockCursor(trx, refused);
  await trx
    .updateTable('sync_state')
    .set({
      cursor: null,
      cursor_updated_at: new Date(),
      last_recovery_at: new Date(),
      last_recovery_reason: reason,
    })
    .where('stream', '=', EVENTS_STREAM)
    .execute();
}

export async function recordPoll(
  db: Kysely<Database>,
  result: { readonly caughtUp: boolean; readonly error: string | null },
): Promise<void> {
  const now = new Date();
  // Never a wait: this is the row page transactions lock, and while one holds it (a page being
  // applied, or one a stopped process left open until Postgres ends it) the record is skipped.
  // That page's commit, or the next poll, tells the truth soon enough.
  await db
    .updateTable('sync_state')
    .set((eb) => ({
      last_poll_at: now,
      last_poll_error: result.error,
      caught_up_at: result.caughtUp ? now : eb.ref('caught_up_at'),
    }))
    .where('stream', 'in', (eb) =>
      eb
        .selectFrom('sync_state')
        .select('stream')
        .where('stream', '=', EVENTS_STREAM)
        .forUpdate()
        .skipLocked(),
    )
    .execute();
}
