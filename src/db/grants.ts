/**
 * The SQL of the three roles a least-privilege deployment uses (README, "Roles and privileges"):
 * the owner, which owns the schema and everything in it (`migrate`); the writer, which the worker
 * runs as (reads and writes the tables, no DDL, nothing outside the schema); the reader, which
 * applications query the views as (nothing else, nothing writable).
 *
 * The script is the whole truth about the three roles in the schema, and safe to run any number
 * of times: it creates what is missing and takes back from them what it does not grant. It is
 * run again after every `migrate`, which is how a view a new migration adds reaches the reader;
 * a new table reaches the writer at once, through the owner's default privileges, so replicas of
 * a new release work before anyone runs it again.
 */
import { ConfigError } from '../errors.ts';

export interface Roles {
  readonly owner: string;
  readonly writer: string;
  readonly reader: string;
}

export const DEFAULT_ROLES: Roles = {
  owner: 'workos_sync_owner',
  writer: 'workos_sync_writer',
  reader: 'workos_sync_reader',
};

/** Bounds every DO block's body: no name may hold it, which `checked` makes sure of. */
const TAG = '$grants$';

export function grantsSql(schema: string, roles: Roles = DEFAULT_ROLES): string {
  checked(schema, roles);
  const s = ident(schema);
  const [owner, writer, reader] = [ident(roles.owner), ident(roles.writer), ident(roles.reader)];
  const inSchema = `n.nspname = ${literal(schema)}`;
  const createRole = (name: string) =>
    `  if not exists (select from pg_roles where rolname = ${literal(name)}) then
    create role ${ident(name)} nologin;
  end if;`;
  const defaults = `alter default privileges for role ${owner} in schema ${s}`;
  const width = Math.max(owner.length, writer.length, reader.length);
  const example = (login: string, role: string, what: string) =>
    `--   create role ${login.padEnd(12)} login password '...' in role ${`${role};`.padEnd(width + 1)}  -- ${what}`;

  return `-- workos-sync: the roles of schema ${s} (workos-sync grants --print-sql; README, "Roles and privileges").
-- Run it as a superuser before the first migrate, and again after every migrate. It is idempotent,
-- and what the three roles held in the schema beyond what it grants is taken back: grant anything
-- else to your login roles. The three are NOLOGIN group roles; grant them to login roles, e.g.
${example('sync_migrate', owner, 'workos-sync migrate')}
${example('sync_worker', writer, 'run, backfill, poll, reconcile')}
${example('sync_app', reader, 'applications: the views')}
begin;

do ${TAG}
begin
${createRole(roles.owner)}
${createRole(roles.writer)}
${createRole(roles.reader)}
  -- In case CONNECT was taken from PUBLIC, as hardened databases do.
  execute format('grant connect on database %I to %I, %I, %I', current_database(),
    ${literal(roles.owner)}, ${literal(roles.writer)}, ${literal(roles.reader)});
end
${TAG};

-- The owner owns the schema and everything in it: migrate creates and alters as it.
create schema if not exists ${s} authorization ${owner};
alter schema ${s} owner to ${owner};
do ${TAG}
declare
  object record;
begin
  -- What an earlier deployment created as another role. A sequence owned by a column follows
  -- its table. Each takes its table's lock briefly, on the first run only.
  for object in
    select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where ${inSchema} and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
       and pg_get_userbyid(c.relowner) <> ${literal(roles.owner)}
       and not (c.relkind = 'S' and exists (select from pg_depend d
         where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype in ('a', 'i')))
  loop
    execute format('alter %s %I.%I owner to %I',
      case object.relkind when 'v' then 'view' when 'm' then 'materialized view'
        when 'f' then 'foreign table' when 'S' then 'sequence' else 'table' end,
      ${literal(schema)}, object.relname, ${literal(roles.owner)});
  end loop;
end
${TAG};

-- The writer (the worker): reads and writes the tables, reads the migrations table (to see that
-- none is pending), draws from the sequences. No CREATE, no TRUNCATE, nothing outside the schema.
revoke all on schema ${s} from ${writer};
grant usage on schema ${s} to ${writer};
revoke all on all tables in schema ${s} from ${writer};
grant select, insert, update, delete on all tables in schema ${s} to ${writer};
revoke all on all sequences in schema ${s} from ${writer};
grant usage, select on all sequences in schema ${s} to ${writer};
do ${TAG}
begin
  if to_regclass(format('%I.%I', ${literal(schema)}, 'schema_migrations')) is not null then
    execute format('revoke insert, update, delete on %I.%I from %I',
      ${literal(schema)}, 'schema_migrations', ${literal(roles.writer)});
  end if;
end
${TAG};
-- A table or sequence a later migration creates is the writer's from that migration's commit.
${defaults} revoke all on tables from ${writer};
${defaults} grant select, insert, update, delete on tables to ${writer};
${defaults} revoke all on sequences from ${writer};
${defaults} grant usage, select on sequences to ${writer};

-- The reader (applications): SELECT on the views, nothing else.
revoke all on schema ${s} from ${reader};
grant usage on schema ${s} to ${reader};
revoke all on all tables in schema ${s} from ${reader};
revoke all on all sequences in schema ${s} from ${reader};
${defaults} revoke all on tables from ${reader};
${defaults} revoke all on sequences from ${reader};
do ${TAG}
declare
  object record;
begin
  -- Every view there is now: one a migration added since the last run reaches the reader here.
  for object in
    select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where ${inSchema} and c.relkind in ('v', 'm')
  loop
    execute format('grant select on %I.%I to %I', ${literal(schema)}, object.relname, ${literal(roles.reader)});
  end loop;
end
${TAG};

commit;
`;
}

/** An identifier, quoted: a reserved word or any character is taken as it is. */
function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A string constant (standard_conforming_strings, on since Postgres 9.1: a backslash is itself). */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function checked(schema: string, roles: Roles): void {
  for (const [what, name] of [['schema', schema], ...Object.entries(roles)] as const) {
    if (name.length === 0 || Buffer.byteLength(name) > 63 || name.includes('\0') || name.includes('$'))
      throw new ConfigError(`the ${what} name must be 1 to 63 bytes with no "$" or NUL, got "${name}"`);
  }
  // A role given twice would lose, to the other's revokes, what it is granted.
  if (new Set([roles.owner, roles.writer, roles.reader]).size !== 3)
    throw new ConfigError(
      `the owner, writer and reader roles must be three different roles, got ${roles.owner}, ${roles.writer}, ${roles.reader}`,
    );
}
