/**
 * What `doctor` measures: the database (reachable, its clock, the role's rights, the migrations)
 * and WorkOS (one cheap request per environment: the key, the cursor, WorkOS's clock). Each probe
 * reads and never writes; what the measurements mean is verdicts.ts.
 */
import type { WorkOS } from '@workos-inc/node';
import { type Kysely, sql } from 'kysely';
import { pendingMigrations } from '../../db/migrate.ts';
import type { Database } from '../../db/tables.ts';
import { getRaw } from '../../workos/client.ts';
import { classifyWorkosError, refusalStatus } from '../../workos/errors.ts';
import { SYNCED_EVENT_TYPES } from '../../workos/wire.ts';
import type { CursorProbe, Privileges } from './verdicts.ts';

export interface DatabaseProbe {
  readonly version: string;
  readonly role: string;
  /** The database's clock minus this host's, from the middle of the round trip. */
  readonly offsetMs: number;
}

export async function probeDatabase(db: Kysely<Database>): Promise<DatabaseProbe> {
  const sent = Date.now();
  const { rows } = await sql<{ version: string; role: string; now: Date }>`
    select current_setting('server_version') as version, current_user as role, clock_timestamp() as now
  `.execute(db);
  const received = Date.now();
  const row = rows[0]!;
  return { version: row.version, role: row.role, offsetMs: row.now.getTime() - (sent + received) / 2 };
}

export async function probePrivileges(db: Kysely<Database>, schema: string): Promise<Privileges> {
  const { rows } = await sql<{
    role: string;
    exists: boolean;
    create_schema: boolean;
    usage: boolean | null;
    create: boolean | null;
  }>`
    select current_user as role,
      n.oid is not null as exists,
      has_database_privilege(current_database(), 'CREATE') as create_schema,
      case when n.oid is not null then has_schema_privilege(n.oid, 'USAGE') end as usage,
      case when n.oid is not null then has_schema_privilege(n.oid, 'CREATE') end as create
    from (select 1) as one left join pg_namespace n on n.nspname = ${schema}
  `.execute(db);
  const row = rows[0]!;
  const base = {
    role: row.role,
    schema,
    schemaExists: row.exists,
    createSchema: row.create_schema,
    usage: row.usage === true,
    create: row.create === true,
  };
  if (!row.exists || !row.usage) return { ...base, tables: 0, lacking: [] };
  // The writer reads the migrations table (is one pending?) and writes every other table
  // (`workos-sync grants --print-sql`, db/grants.ts).
  const relations = await sql<{ name: string; kind: string; rights: boolean }>`
    select c.relname as name, c.relkind as kind,
      case when c.relkind = 'S' then has_sequence_privilege(c.oid, 'USAGE')
        when c.relname = 'schema_migrations' then has_table_privilege(c.oid, 'SELECT')
        else has_table_privilege(c.oid, 'SELECT') and has_table_privilege(c.oid, 'INSERT')
          and has_table_privilege(c.oid, 'UPDATE') and has_table_privilege(c.oid, 'DELETE')
      end as rights
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relkind in ('r', 'p', 'S')
    order by c.relname
  `.execute(db);
  return {
    ...base,
    tables: relations.rows.filter((r) => r.kind !== 'S').length,
    lacking: relations.rows.filter((r) => !r.rights).map((r) => r.name),
  };
}

export async function probeMigrations(db: Kysely<Database>, schema: string) {
  const expand = await pendingMigrations(db, schema);
  const all = await pendingMigrations(db, schema, { finalize: true });
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from pg_tables where schemaname = ${schema} and tablename = 'schema_migrations'
  `.execute(db);
  const schemaExists = rows[0]!.n > 0;
  const applied = schemaExists
    ? (
        await sql<{
          n: number;
        }>`select count(*)::int as n from ${sql.id(schema, 'schema_migrations')}`.execute(db)
      ).rows[0]!.n
    : 0;
  return {
    schemaExists,
    applied,
    pending: expand,
    awaitingFinalize: all.filter((name) => !expand.includes(name)),
  };
}

export type WorkosProbe =
  | {
      readonly answered: true;
      readonly cursor: CursorProbe | null;
      /** This host's clock minus WorkOS's (its `Date`), when WorkOS sent one. */
      readonly offsetMs: number | null;
    }
  | { readonly answered: false; readonly error: Error };

/**
 * One request: the first event after the cursor (or the first retained), one event long. Refused
 * with the cursor, the same request without it tells an expired (or foreign) cursor from a
 * refused request, as the events source does.
 */
export async function probeWorkos(workos: WorkOS, cursor: string | null): Promise<WorkosProbe> {
  const query = { events: SYNCED_EVENT_TYPES.join(','), limit: 1, order: 'asc' };
  const ask = async (after: string | null) => {
    const response = await getRaw(workos, '/events', after === null ? query : { ...query, after }, 'doctor');
    const now = Date.now();
    return response.servedAt === null ? null : now - response.servedAt.getTime();
  };
  try {
    return { answered: true, cursor: cursor === null ? null : 'served', offsetMs: await ask(cursor) };
  } catch (error) {
    if (cursor !== null && refusalStatus(error) !== undefined) {
      try {
        return { answered: true, cursor: 'refused', offsetMs: await ask(null) };
      } catch (again) {
        return { answered: false, error: classifyWorkosError(again, { path: '/events' }) };
      }
    }
    return { answered: false, error: classifyWorkosError(error, { path: '/events' }) };
  }
}
