/**
 * A reconciliation pass over the listing, when runs are bounded (`--max-pages`): each run lists
 * some pages and resumes where the last one stopped. Deletions need the whole listing, so they
 * wait for the run that reaches its end, which spares every connection an earlier run of the pass
 * listed, and every row written since the pass began (`versions.ts`, rule 5, from the pass's start).
 * An unbounded run is a pass of its own, and ends one under way.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import { type DatabaseInstant, instantText } from '../../db/clock.ts';
import { statementChunks } from '../../db/statement-chunks.ts';
import type { Database } from '../../db/tables.ts';

export const RECONCILIATION_STREAM = 'reconciliation';

export interface PassUnderWay {
  /** List Connections' `after` to resume from. */
  readonly after: string;
  readonly began: DatabaseInstant;
  /** What the pass listed so far (valid or not: either way the connection exists). */
  readonly listed: ReadonlySet<string>;
}

export async function passUnderWay(db: Kysely<Database>): Promise<PassUnderWay | null> {
  const state = await db
    .selectFrom('sync_state')
    .select(['cursor', instantText(sql.ref('pass_began_at')).as('began')])
    .where('stream', '=', RECONCILIATION_STREAM)
    .executeTakeFirst();
  if (!state?.cursor || !state.began) return null;
  const listed = await db.selectFrom('reconciliation_pass_listed').select('connection_id').execute();
  return {
    after: state.cursor,
    began: state.began,
    listed: new Set(listed.map((r) => r.connection_id)),
  };
}

/** After a run that stopped before the listing's end: where the next one resumes, and what this one listed. */
export async function continuePass(
  trx: Transaction<Database>,
  pass: { readonly next: string; readonly began: DatabaseInstant; readonly listed: Iterable<string> },
): Promise<void> {
  for (const ids of statementChunks([...pass.listed], 1)) {
    await trx
      .insertInto('reconciliation_pass_listed')
      .values(ids.map((connection_id) => ({ connection_id })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  // An upsert: an environment's row is made by its first bounded run (`default`'s by the migrations).
  const state = { cursor: pass.next, pass_began_at: sql<Date>`${pass.began}::timestamptz` };
  await trx
    .insertInto('sync_state')
    .values({ stream: RECONCILIATION_STREAM, ...state })
    .onConflict((oc) => oc.column('stream').doUpdateSet(state))
    .execute();
}

/** After a run that saw the listing's end: no pass under way. */
export async function endPass(trx: Transaction<Database>): Promise<void> {
  await trx.deleteFrom('reconciliation_pass_listed').execute();
  await trx
    .updateTable('sync_state')
    .set({ cursor: null, pass_began_at: null })
    .where('stream', '=', RECONCILIATION_STREAM)
    .execute();
}
