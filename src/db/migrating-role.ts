/**
 * Who migrates, in Postgres's terms (README, "Roles and privileges").
 *
 * Whatever a migration creates belongs to the schema's owner, whichever login role runs it: a
 * session that may become the owner (a login role granted the owner group) migrates as it, with
 * `SET LOCAL ROLE` (undone at commit, so PgBouncer's transaction pooling is safe). Otherwise a new
 * table would belong to the login role, out of reach of the owner's default privileges, and the
 * writer could not use it.
 *
 * A role that may not do what a pending migration needs (the worker's, when a release brings a
 * migration) is told so in one line naming the role, the schema and who may.
 */
import { sql, type Transaction } from 'kysely';
import { FatalError } from '../errors.ts';
import type { Database } from './tables.ts';

export interface MigratingRole {
  /** The role statements run as (the owner, once become). */
  readonly role: string;
  /** The session's own role, when it became the owner. */
  readonly loggedInAs: string | null;
  /** The schema's owner; null when there is no schema yet. */
  readonly owner: string | null;
  readonly hasMigrationsTable: boolean;
}

export async function migrateAsSchemaOwner(
  trx: Transaction<Database>,
  schema: string,
  migrationsTable: string,
): Promise<MigratingRole> {
  // Postgres 16 separates being a member from being allowed to SET ROLE.
  const { rows } = await sql<{
    role: string;
    owner: string | null;
    has_table: boolean;
    may_become: boolean;
  }>`select current_user as role, pg_get_userbyid(n.nspowner) as owner,
         to_regclass(${`${schema}.${migrationsTable}`}) is not null as has_table,
         coalesce(pg_get_userbyid(n.nspowner) <> current_user and pg_has_role(session_user, n.nspowner,
           case when current_setting('server_version_num')::int >= 160000 then 'SET' else 'MEMBER' end),
           false) as may_become
       from (select) as one left join pg_namespace n on n.nspname = ${schema}`.execute(trx);
  const found = rows[0]!;
  if (!found.may_become || found.owner === null)
    return { role: found.role, loggedInAs: null, owner: found.owner, hasMigrationsTable: found.has_table };
  await sql`set local role ${sql.id(found.owner)}`.execute(trx);
  return {
    role: found.owner,
    loggedInAs: found.role,
    owner: found.owner,
    hasMigrationsTable: found.has_table,
  };
}

/** What migrate was doing: creating the schema or its migrations table, reading it, or a migration. */
export type MigrationStep = 'create schema' | 'create table' | 'read' | { readonly apply: string };

/** A refused privilege (SQLSTATE 42501) as one line saying what to do; undefined for anything else. */
export function privilegeRefused(
  error: unknown,
  schema: string,
  as: MigratingRole | undefined,
  step: MigrationStep,
): FatalError | undefined {
  if (!(error instanceof Error) || (error as { code?: unknown }).code !== '42501') return undefined;
  const who = !as
    ? 'this role'
    : `role "${as.role}"${as.loggedInAs ? ` (logged in as "${as.loggedInAs}")` : ''}`;
  const what =
    step === 'create schema'
      ? `create schema "${schema}"`
      : step === 'create table'
        ? `create the migrations table in schema "${schema}"`
        : step === 'read'
          ? `read the migrations of schema "${schema}"`
          : `apply ${step.apply} to schema "${schema}"`;
  const instead = as?.owner
    ? `run migrate as the schema's owner "${as.owner}" or a role granted it`
    : 'create the schema and its owner first (workos-sync grants --print-sql)';
  return new FatalError(
    `migrate: ${who} may not ${what} (SQLSTATE 42501: ${error.message}): ${instead}, see README "Roles and privileges"`,
    { cause: error },
  );
}
