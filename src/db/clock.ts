/** The database's clock, read to the microsecond. */
import { type Kysely, type RawBuilder, sql } from 'kysely';

/**
 * An instant of the database's clock as ISO 8601 text with microseconds (Postgres's precision). A
 * JavaScript `Date` would round it to the millisecond, and a row written later in that same
 * millisecond would then look older than it: such instants are only compared inside the database.
 */
export type DatabaseInstant = string & { readonly __databaseInstant: true };

/** A `timestamptz` expression read as a `DatabaseInstant` (null stays null). */
export function instantText(timestamp: RawBuilder<unknown>): RawBuilder<DatabaseInstant | null> {
  return sql<DatabaseInstant | null>`to_char(${timestamp} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

// biome-ignore lint/suspicious/noExplicitAny: any schema's handle can read the clock.
export async function databaseNow(db: Kysely<any>): Promise<DatabaseInstant> {
  const { rows } = await sql<{
    now: DatabaseInstant;
  }>`select ${instantText(sql`clock_timestamp()`)} as now`.execute(db);
  return rows[0]!.now;
}
