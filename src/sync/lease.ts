/**
 * Leases: which replica polls (`events`), which reconciles (`reconcile`), which prunes the event
 * log (`prune`). A row with a holder and an expiry, taken with one guarded upsert and renewed
 * with a guarded update, in database time (replicas' clocks may disagree). No session advisory
 * lock: those break behind a transaction-pooling PgBouncer. A holder that pauses past its expiry loses the lease; the cursor
 * fence (see cursor.ts) stops it from writing if it wakes up after someone else took over, and
 * Postgres ends the transaction it left open (db/session-limits.ts).
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/tables.ts';

export type LeaseName = 'events' | 'reconcile' | 'prune';

/** Takes the lease if it is free or expired, renews it if we hold it. True when we hold it. */
export async function acquireLease(
  db: Kysely<Database>,
  name: LeaseName,
  holder: string,
  ttlMs: number,
): Promise<boolean> {
  const expiresAt = sql<Date>`now() + ${ttlMs} * interval '1 millisecond'`;
  const row = await db
    .insertInto('leases')
    .values({ name, holder, acquired_at: sql<Date>`now()`, expires_at: expiresAt })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet((eb) => ({
          holder: eb.ref('excluded.holder'),
          expires_at: eb.ref('excluded.expires_at'),
          acquired_at: sql<Date>`case when leases.holder = excluded.holder then leases.acquired_at else excluded.acquired_at end`,
        }))
        .where((eb) =>
          eb.or([
            eb('leases.holder', '=', eb.ref('excluded.holder')),
            eb('leases.expires_at', '<', sql<Date>`now()`),
          ]),
        ),
    )
    .returning('holder')
    .executeTakeFirst();
  return row?.holder === holder;
}

/**
 * Extends a lease this holder still holds: an update, never an insert, so a renewal that reaches
 * the database after this holder's own release (or after another replica took over) changes
 * nothing instead of re-creating the lease. True when it was extended.
 */
export async function renewLease(
  db: Kysely<Database>,
  name: LeaseName,
  holder: string,
  ttlMs: number,
): Promise<boolean> {
  const row = await db
    .updateTable('leases')
    .set({ expires_at: sql<Date>`now() + ${ttlMs} * interval '1 millisecond'` })
    .where('name', '=', name)
    .where('holder', '=', holder)
    .returning('holder')
    .executeTakeFirst();
  return row !== undefined;
}

export async function releaseLease(db: Kysely<Database>, name: LeaseName, holder: string): Promise<void> {
  await db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
}
