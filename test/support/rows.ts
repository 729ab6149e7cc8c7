/**
 * Rows written straight into the mirror's tables, standing in for what an earlier sync or a
 * racing poller left there.
 */
import type { Insertable, Kysely } from 'kysely';
import type { ConnectionsTable, Database } from '../../src/db/tables.ts';

/** When an earlier sync wrote the rows of {@link insertOldConnectionRow}: before any test's emulator clock. */
export const LONG_AGO = new Date(Date.UTC(2026, 0, 1));

/** What a test says about a connection row; every other column takes {@link insertableConnection}'s default. */
export type ConnectionRowFields = Pick<Insertable<ConnectionsTable>, 'id' | 'name' | 'updated_at'> &
  Partial<Insertable<ConnectionsTable>>;

/** An active OktaSAML connection row as an event would have written it, with `raw` '{}'. */
export function insertableConnection(fields: ConnectionRowFields): Insertable<ConnectionsTable> {
  return { connection_type: 'OktaSAML', state: 'active', raw: '{}', source: 'event', ...fields };
}

/**
 * Inserts {@link insertableConnection}(fields); `synced_at` is the database's default (now) unless given.
 * With `ignoreConflict`, a row of the same id already there is left alone.
 */
export async function insertConnectionRow(
  db: Kysely<Database>,
  fields: ConnectionRowFields,
  options: { ignoreConflict?: boolean } = {},
): Promise<void> {
  const insert = db.insertInto('connections').values(insertableConnection(fields));
  await (options.ignoreConflict ? insert.onConflict((oc) => oc.doNothing()) : insert).execute();
}

/** Inserts a connection row updated and synced {@link LONG_AGO}: one an earlier sync wrote. */
export function insertOldConnectionRow(
  db: Kysely<Database>,
  fields: Pick<ConnectionRowFields, 'id' | 'name'>,
): Promise<void> {
  return insertConnectionRow(db, { ...fields, updated_at: LONG_AGO, synced_at: LONG_AGO });
}
