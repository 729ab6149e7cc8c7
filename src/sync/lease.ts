/**
 * Leases: which replica polls (`events`) and which reconciles (`reconcile`). A row with a
 * holder and an expiry, taken and renewed with one guarded upsert in database time (replicas'
 * clocks may disagree). No session advisory lock: those break behind a transaction-pooling
 * PgBouncer. A holder that pauses past its expiry loses the lease; the cursor fence (see
 * cursor.ts) stops it from writing if it wakes up after someone else took over.
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/tables.ts';

export type LeaseName = 'events' | 'reconcile';

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

export async function releaseLease(db: Kysely<Database>, name: LeaseName, holder: string): Promise<void> {
  await db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
}
