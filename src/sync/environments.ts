/**
 * The WorkOS environments a mirror knows, and what declaring a set of them would change: the
 * environments file (config/environments.ts) says which are wanted, the mirror's `sync_state`
 * rows (one per environment and stream) say which it has. The diff is pure.
 */
import type { Kysely } from 'kysely';
import { DEFAULT_ENVIRONMENT } from '../db/environment-scope.ts';
import { pendingMigrations } from '../db/migrate.ts';
import type { Database } from '../db/tables.ts';
import { EVENTS_STREAM } from './events/cursor.ts';
import { RECONCILIATION_STREAM } from './reconcile/pass.ts';

/**
 * An environment's place in the mirror: its two streams' rows in `sync_state`, so that `status`
 * and `environments check` know it before its first batch. `db` is the environment's
 * (`scopedToEnvironment`); a second call changes nothing. (The cursor fence and a bounded
 * reconciliation make their row themselves if it is missing.)
 */
export async function openEnvironment(db: Kysely<Database>): Promise<void> {
  await db
    .insertInto('sync_state')
    .values([{ stream: EVENTS_STREAM }, { stream: RECONCILIATION_STREAM }])
    .onConflict((oc) => oc.column('stream').doNothing())
    .execute();
}

/** The environments with a `sync_state` row, sorted: one query. */
export async function knownEnvironments(db: Kysely<Database>): Promise<string[]> {
  const rows = await db
    .selectFrom('sync_state')
    .select('environment')
    .distinct()
    .orderBy('environment')
    .execute();
  return rows.map((row) => row.environment);
}

/**
 * The environments of the mirror in `schema`, whatever its migrations: null when the schema holds
 * no mirror yet; `default` alone for a mirror from before environments (0006 not applied, so no
 * `environment` column to read: every row there is the default environment's); otherwise those
 * with a `sync_state` row. Reads, never migrates.
 */
export async function mirroredEnvironments(db: Kysely<Database>, schema: string): Promise<string[] | null> {
  const pending = await pendingMigrations(db, schema);
  if (pending.includes('0001_initial')) return null;
  if (pending.includes('0006_environments')) return [DEFAULT_ENVIRONMENT];
  return knownEnvironments(db);
}

/** What declaring a set of environments changes for a mirror that knows another. */
export interface EnvironmentChanges {
  /** Declared, unknown to the mirror: polled from the start of the stream (a backfill). */
  readonly added: readonly string[];
  /** Known to the mirror, no longer declared: its rows are kept, and nothing polls it. */
  readonly removed: readonly string[];
  /** Declared and known: carried on from where it is. */
  readonly kept: readonly string[];
}

/**
 * Declared names against known ones. `added` and `kept` in the declared order, `removed` in the
 * known order; a name given twice counts once.
 */
export function diffEnvironments(declared: readonly string[], known: readonly string[]): EnvironmentChanges {
  const wanted = [...new Set(declared)];
  const have = new Set(known);
  const declaredSet = new Set(wanted);
  return {
    added: wanted.filter((name) => !have.has(name)),
    removed: [...have].filter((name) => !declaredSet.has(name)),
    kept: wanted.filter((name) => have.has(name)),
  };
}
