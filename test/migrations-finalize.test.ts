/**
 * The contract half of the environments change (migrations/0007): applied on a fresh schema, left
 * for `migrate --finalize` on one that existed, refused while a replica that is not a registered
 * worker (the previous release) holds a lease, and once applied, a fence: a write that does not
 * name its environment, as every write of the previous release, is refused.
 */
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { migrations } from '../migrations/index.ts';
import { environmentKeysFinalized, migrateToLatest, pendingMigrations } from '../src/db/migrate.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

let t: TestDatabase | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** A schema as the release before environments left it: every migration up to 0005, recorded. */
async function previousReleaseSchema(): Promise<TestDatabase> {
  const database = await createTestDatabase({ migrate: false });
  const db = database.whole;
  await sql`create schema if not exists ${sql.id(database.schema)}`.execute(db);
  await sql`create table ${sql.id(database.schema, 'schema_migrations')} (
    name text primary key, applied_at timestamptz not null default now())`.execute(db);
  for (const name of [
    '0001_initial',
    '0002_reconciliation',
    '0003_touched',
    '0004_reconciliation_pass',
    '0005_organizations',
  ] as const) {
    await db.transaction().execute((trx) => migrations[name].up(trx));
    await sql`insert into ${sql.id(database.schema, 'schema_migrations')} (name) values (${name})`.execute(
      db,
    );
  }
  return database;
}

async function primaryKey(database: TestDatabase, table: string): Promise<string[]> {
  const { rows } = await sql<{ column: string }>`
    select a.attname as column from pg_index i
      join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
     where i.indrelid = ${`${database.schema}.${table}`}::regclass and i.indisprimary
     order by array_position(i.indkey, a.attnum)`.execute(database.whole);
  return rows.map((r) => r.column);
}

/** The lease as the previous release takes it: no environment named. */
async function previousReleaseTakesLease(database: TestDatabase, holder: string, ttl: string): Promise<void> {
  await sql`insert into ${sql.id(database.schema, 'leases')} (name, holder, acquired_at, expires_at)
    values ('events', ${holder}, now(), now() + ${ttl}::interval)`.execute(database.whole);
}

describe('the environment keys (0007, a contract migration)', () => {
  it('are applied at once on a fresh schema: every key led by the environment', async () => {
    t = await createTestDatabase();
    expect(await environmentKeysFinalized(t.whole, t.schema)).toBe(true);
    expect(await primaryKey(t, 'connections')).toEqual(['environment', 'id']);
    expect(await primaryKey(t, 'sync_state')).toEqual(['environment', 'stream']);
    expect(await primaryKey(t, 'connection_certificates')).toEqual([
      'environment',
      'connection_id',
      'certificate_type',
    ]);
  });

  it('wait for --finalize on a schema that existed, whose rows move into `default` in place', async () => {
    t = await previousReleaseSchema();
    await sql`insert into ${sql.id(t.schema, 'connections')} (id, connection_type, name, state, updated_at, raw, source)
      values ('conn_1', 'OktaSAML', 'Acme', 'active', now(), '{}', 'event')`.execute(t.whole);

    const result = await migrateToLatest(t.whole, t.schema);
    expect(result).toEqual({ applied: ['0006_environments'], awaitingFinalize: ['0007_environment_keys'] });
    expect(await environmentKeysFinalized(t.whole, t.schema)).toBe(false);
    expect(await pendingMigrations(t.whole, t.schema)).toEqual([]);
    expect(await pendingMigrations(t.whole, t.schema, { finalize: true })).toEqual(['0007_environment_keys']);
    expect(await primaryKey(t, 'connections')).toEqual(['id']);
    expect(await t.db.selectFrom('connections').select(['id', 'environment']).execute()).toEqual([
      { id: 'conn_1', environment: 'default' },
    ]);
    // The previous release still writes as it always did, into `default`.
    await previousReleaseTakesLease(t, 'old-replica', '1 minute');
    expect(await t.db.selectFrom('leases').select(['holder', 'environment']).execute()).toEqual([
      { holder: 'old-replica', environment: 'default' },
    ]);

    expect(await migrateToLatest(t.whole, t.schema, { finalize: false })).toEqual({
      applied: [],
      awaitingFinalize: ['0007_environment_keys'],
    });
  });

  it('are refused while a holder that is not a registered worker holds a lease, and nothing of them applies', async () => {
    t = await previousReleaseSchema();
    await migrateToLatest(t.whole, t.schema);
    await previousReleaseTakesLease(t, 'old-replica', '1 minute');

    await expect(migrateToLatest(t.whole, t.schema, { finalize: true })).rejects.toThrow(
      /not a registered worker.*holds the lease events \(holder old-replica/,
    );
    expect(await environmentKeysFinalized(t.whole, t.schema)).toBe(false);
    expect(await primaryKey(t, 'leases')).toEqual(['name']);
  });

  it('go ahead past a registered worker’s lease and an expired one, which they clear', async () => {
    t = await previousReleaseSchema();
    await migrateToLatest(t.whole, t.schema);
    await t.whole.insertInto('workers').values({ id: 'new-replica', release: 'next' }).execute();
    await t.db
      .insertInto('leases')
      .values([
        {
          name: 'events',
          holder: 'new-replica',
          acquired_at: new Date(),
          expires_at: new Date(Date.now() + 60_000),
        },
        { name: 'reconcile', holder: 'old-replica', acquired_at: new Date(0), expires_at: new Date(1_000) },
      ])
      .execute();

    expect(await migrateToLatest(t.whole, t.schema, { finalize: true })).toEqual({
      applied: ['0007_environment_keys'],
      awaitingFinalize: [],
    });
    expect(await t.db.selectFrom('leases').select(['name', 'holder']).execute()).toEqual([
      { name: 'events', holder: 'new-replica' },
    ]);
    expect(await primaryKey(t, 'leases')).toEqual(['environment', 'name']);
  });

  it('then refuse every write that does not name its environment, as the previous release’s do not', async () => {
    t = await createTestDatabase();
    await expect(previousReleaseTakesLease(t, 'old-replica', '1 minute')).rejects.toThrow(
      /null value in column "environment"/,
    );
    await expect(
      sql`insert into ${sql.id(t.schema, 'events')} (id, event, outcome) values ('event_1', 'x', 'ignored')`.execute(
        t.whole,
      ),
    ).rejects.toThrow(/null value in column "environment"/);
  });
});
