/**
 * Applies migrations/ to the configured schema. Safe when several processes start at once: the
 * whole run is one transaction holding a transaction-scoped advisory lock (released at commit
 * even behind PgBouncer, unlike a session lock), so the second process waits, then finds
 * nothing pending.
 *
 * Which migrations a run applies: every one, in order, except a `contract` one (it takes away
 * what the previous release still uses, see migrations/0007) on a schema that existed before this
 * run, unless asked to `finalize`. A schema this run creates has no previous release on it.
 *
 * With nothing pending, a run needs no DDL and no CREATE: the schema and the migrations table are
 * created only when missing (`IF NOT EXISTS` would still ask for the privilege), so the worker's
 * role, which may only read and write, migrates on start. What a migration creates belongs to the
 * schema's owner (migrating-role.ts).
 */
import { type Kysely, sql } from 'kysely';
import { migrations } from '../../migrations/index.ts';
import { ConfigError } from '../errors.ts';
import { liftStatementLimits } from './engine-dialect.ts';
import { DEFAULT_ENVIRONMENT } from './environment-scope.ts';
import {
  type MigratingRole,
  type MigrationStep,
  migrateAsSchemaOwner,
  privilegeRefused,
} from './migrating-role.ts';
import type { Database } from './tables.ts';

export interface MigrationResult {
  readonly applied: readonly string[];
  /** Contract migrations left for `migrate --finalize`, once no replica of the previous release runs. */
  readonly awaitingFinalize: readonly string[];
}

export interface MigrateOptions {
  /** Apply the contract migrations too: every replica runs this release. */
  readonly finalize?: boolean | undefined;
}

const MIGRATIONS_TABLE = 'schema_migrations';

type MigrationName = keyof typeof migrations;

function isContract(name: MigrationName): boolean {
  return 'contract' in migrations[name] && migrations[name].contract === true;
}

export async function migrateToLatest(
  db: Kysely<Database>,
  schema: string,
  options: MigrateOptions = {},
): Promise<MigrationResult> {
  let as: MigratingRole | undefined;
  let step: MigrationStep = 'read';
  try {
    return await db.transaction().execute(async (trx) => {
      // Waiting for another process's migration, and DDL on a big table, may rightly take long.
      await liftStatementLimits(trx);
      await sql`select pg_advisory_xact_lock(hashtext(${`workos-sync:migrate:${schema}`}))`.execute(trx);
      as = await migrateAsSchemaOwner(trx, schema, MIGRATIONS_TABLE);
      // Still IF NOT EXISTS: what the lock does not cover (the roles' SQL) may have just made them.
      if (as.owner === null) {
        step = 'create schema';
        await sql`create schema if not exists ${sql.id(schema)}`.execute(trx);
      }
      if (!as.hasMigrationsTable) {
        step = 'create table';
        await sql`create table if not exists ${sql.id(schema, MIGRATIONS_TABLE)} (
          name text primary key,
          applied_at timestamptz not null default now()
        )`.execute(trx);
      }
      step = 'read';
      const done = await appliedMigrations(trx, schema);
      const finalize = options.finalize === true || done.size === 0;
      const applied: string[] = [];
      const awaitingFinalize: string[] = [];
      for (const [name, migration] of Object.entries(migrations) as [
        MigrationName,
        (typeof migrations)[MigrationName],
      ][]) {
        if (done.has(name)) continue;
        if (isContract(name) && !finalize) {
          awaitingFinalize.push(name);
          continue;
        }
        step = { apply: name };
        await migration.up(trx);
        await sql`insert into ${sql.id(schema, MIGRATIONS_TABLE)} (name) values (${name})`.execute(trx);
        applied.push(name);
      }
      return { applied, awaitingFinalize };
    });
  } catch (error) {
    throw privilegeRefused(error, schema, as, step) ?? error;
  }
}

/** Pending migrations, in order; contract ones only when `finalize` (see above). */
export async function pendingMigrations(
  db: Kysely<Database>,
  schema: string,
  options: MigrateOptions = {},
): Promise<string[]> {
  const done = await appliedOrNone(db, schema);
  const finalize = options.finalize === true || done.size === 0;
  return (Object.keys(migrations) as MigrationName[]).filter(
    (name) => !done.has(name) && (finalize || !isContract(name)),
  );
}

/**
 * Whether every key is led by the environment (0007 applied): until then the schema serves the
 * `default` environment only, beside replicas of the release before environments.
 */
export async function environmentKeysFinalized(db: Kysely<Database>, schema: string): Promise<boolean> {
  return (await appliedOrNone(db, schema)).has('0007_environment_keys');
}

/**
 * Refuses to sync an environment other than `default` before the keys are finalized: until then
 * the schema's old single-column keys hold one environment's rows only.
 */
export async function requireEnvironmentKeys(
  db: Kysely<Database>,
  schema: string,
  environment: string,
): Promise<void> {
  if (environment === DEFAULT_ENVIRONMENT || (await environmentKeysFinalized(db, schema))) return;
  throw new ConfigError(
    `environment "${environment}" needs the keys led by the environment: run \`workos-sync migrate --finalize\` once every replica runs this release`,
  );
}

async function appliedOrNone(db: Kysely<Database>, schema: string): Promise<Set<string>> {
  const exists = await sql<{
    found: boolean;
  }>`select to_regclass(${`${schema}.${MIGRATIONS_TABLE}`}) is not null as found`.execute(db);
  return exists.rows[0]?.found ? appliedMigrations(db, schema) : new Set<string>();
}

async function appliedMigrations(db: Kysely<Database>, schema: string): Promise<Set<string>> {
  const result = await sql<{ name: string }>`select name from ${sql.id(schema, MIGRATIONS_TABLE)}`.execute(
    db,
  );
  return new Set(result.rows.map((r) => r.name));
}
