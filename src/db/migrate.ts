/**
 * Applies migrations/ to the configured schema. Safe when several processes start at once: the
 * whole run is one transaction holding a transaction-scoped advisory lock (released at commit
 * even behind PgBouncer, unlike a session lock), so the second process waits, then finds
 * nothing pending.
 */
import { type Kysely, sql } from 'kysely';
import { migrations } from '../../migrations/index.ts';
import { liftStatementLimits } from './engine-dialect.ts';
import type { Database } from './tables.ts';

export interface MigrationResult {
  readonly applied: readonly string[];
}

const MIGRATIONS_TABLE = 'schema_migrations';

export async function migrateToLatest(db: Kysely<Database>, schema: string): Promise<MigrationResult> {
  return db.transaction().execute(async (trx) => {
    // Waiting for another process's migration, and DDL on a big table, may rightly take long.
    await liftStatementLimits(trx);
    await sql`select pg_advisory_xact_lock(hashtext(${`workos-sync:migrate:${schema}`}))`.execute(trx);
    await sql`create schema if not exists ${sql.id(schema)}`.execute(trx);
    await sql`create table if not exists ${sql.id(schema, MIGRATIONS_TABLE)} (
      name text primary key,
      applied_at timestamptz not null default now()
    )`.execute(trx);
    const done = await appliedMigrations(trx, schema);
    const applied: string[] = [];
    for (const [name, migration] of Object.entries(migrations)) {
      if (done.has(name)) continue;
      await migration.up(trx);
      await sql`insert into ${sql.id(schema, MIGRATIONS_TABLE)} (name) values (${name})`.execute(trx);
      applied.push(name);
    }
    return { applied };
  });
}

export async function pendingMigrations(db: Kysely<Database>, schema: string): Promise<string[]> {
  const exists = await sql<{
    found: boolean;
  }>`select to_regclass(${`${schema}.${MIGRATIONS_TABLE}`}) is not null as found`.execute(db);
  const done = exists.rows[0]?.found ? await appliedMigrations(db, schema) : new Set<string>();
  return Object.keys(migrations).filter((name) => !done.has(name));
}

async function appliedMigrations(db: Kysely<Database>, schema: string): Promise<Set<string>> {
  const result = await sql<{ name: string }>`select name from ${sql.id(schema, MIGRATIONS_TABLE)}`.execute(
    db,
  );
  return new Set(result.rows.map((r) => r.name));
}
