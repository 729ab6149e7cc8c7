/**
 * The roles on a deployment that had none, through an upgrade (README, "Roles and privileges"):
 * a schema the release before environments left (migrations 0001–0005, everything the
 * superuser's), with a schema name and role names of its own. The roles' SQL makes the owner group
 * own it all; then, with migrations pending, the writer's `migrate` and any command migrating on
 * start fail in one line and change nothing; the owner's `migrate` applies them, and the tables
 * it creates are the writer's at once (default privileges), before anyone runs the SQL again.
 * Real roles, the real CLI in child processes. The tests run in order, on one database.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { migrations } from '../migrations/index.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/connect.ts';
import { runCli } from './support/cli.ts';
import { createDatabaseUrl } from './support/database.ts';
import { silentLogger } from './support/logs.ts';
import { applyGrants, createLogin, dropRoles, query, warningsIn } from './support/roles.ts';
import { API_KEY } from './support/sync.ts';

const SCHEMA = 'mirror';
const ROLES = { owner: 'mirror_owner', writer: 'mirror_writer', reader: 'mirror_reader' };
const FLAGS = [
  '--schema',
  SCHEMA,
  '--owner',
  ROLES.owner,
  '--writer',
  ROLES.writer,
  '--reader',
  ROLES.reader,
];
const PREVIOUS_RELEASE = [
  '0001_initial',
  '0002_reconciliation',
  '0003_touched',
  '0004_reconciliation_pass',
  '0005_organizations',
] as const;

let emulator: Emulator;
let admin: string;
let owner: { name: string; url: string };
let writer: { name: string; url: string };

/** The schema as the release before environments migrated it, as the superuser. */
async function previousRelease(url: string): Promise<void> {
  const handle = await openDatabase(
    loadConfig({ DATABASE_URL: url, WORKOS_SYNC_SCHEMA: SCHEMA }).database,
    silentLogger(),
  );
  try {
    await sql`create schema ${sql.id(SCHEMA)}`.execute(handle.db);
    await sql`create table ${sql.id(SCHEMA, 'schema_migrations')} (
      name text primary key, applied_at timestamptz not null default now())`.execute(handle.db);
    for (const name of PREVIOUS_RELEASE) {
      await handle.db.transaction().execute((trx) => migrations[name].up(trx));
      await sql`insert into ${sql.id(SCHEMA, 'schema_migrations')} (name) values (${name})`.execute(
        handle.db,
      );
    }
  } finally {
    await handle.close();
  }
}

beforeAll(async () => {
  const model = new WorkosModel({ seed: 23 });
  generateScenario(model, { seed: 23, events: 200 });
  emulator = await startEmulator({ apiKey: API_KEY, model });
  admin = await createDatabaseUrl();
  await previousRelease(admin);
  await applyGrants(admin, FLAGS);
  owner = await createLogin(admin, 'upgrade_migrate', ROLES.owner);
  writer = await createLogin(admin, 'upgrade_worker', ROLES.writer);
});
afterAll(async () => {
  await emulator?.close();
  if (admin) await dropRoles([admin], [owner?.name, writer?.name, ROLES.owner, ROLES.writer, ROLES.reader]);
});

const env = (role: { url: string }) => ({
  DATABASE_URL: role.url,
  WORKOS_SYNC_SCHEMA: SCHEMA,
  WORKOS_API_KEY: API_KEY,
  WORKOS_API_URL: emulator.url,
});
const applied = async () =>
  (await query<{ name: string }>(admin, `select name from ${SCHEMA}.schema_migrations order by name`)).map(
    (r) => r.name,
  );
/** What a migration would change: its record, the columns and the relations of the schema. */
const shape = async () => ({
  applied: await applied(),
  relations: await query(
    admin,
    `select c.relname, c.relkind::text, pg_get_userbyid(c.relowner) as owner, c.relacl::text as acl
       from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 order by 1`,
    [SCHEMA],
  ),
  columns: await query(
    admin,
    'select table_name, column_name from information_schema.columns where table_schema = $1 order by 1, 2',
    [SCHEMA],
  ),
});

const refusal = (role: string, migration: string, detail: string) =>
  `workos-sync: migrate: role "${role}" may not apply ${migration} to schema "${SCHEMA}" (SQLSTATE 42501: ${detail}): run migrate as the schema's owner "${ROLES.owner}" or a role granted it, see README "Roles and privileges"\n`;

describe('a deployment that had no roles, upgraded', () => {
  it('the SQL gives the owner group every table, view and sequence the superuser had created', async () => {
    const owners = await query(
      admin,
      `select distinct pg_get_userbyid(c.relowner) as owner from pg_class c
         join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1
       union select pg_get_userbyid(nspowner) from pg_namespace where nspname = $1`,
      [SCHEMA],
    );
    expect(owners).toEqual([{ owner: ROLES.owner }]);
  });

  it('with a migration pending, the writer`s migrate fails in one line and changes nothing', async () => {
    const before = await shape();
    const result = await runCli(['migrate'], env(writer));
    expect(result.stderr).toBe(
      refusal(writer.name, '0006_environments', 'must be owner of table connections'),
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(await shape()).toEqual(before);
  });

  it('and so does every command that migrates on start', async () => {
    const before = await shape();
    for (const command of [['poll'], ['backfill'], ['reconcile']]) {
      const result = await runCli(command, env(writer));
      expect(result.stderr, command[0]).toBe(
        refusal(writer.name, '0006_environments', 'must be owner of table connections'),
      );
      expect(result.code, command[0]).toBe(1);
    }
    expect(await shape()).toEqual(before);
  });

  it('the owner applies it; the tables it creates are the writer`s at once, before the SQL runs again', async () => {
    const result = await runCli(['migrate'], env(owner));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('applied 1 migration(s) to schema "mirror"');
    expect(result.stdout).toContain('0007_environment_keys waits for `workos-sync migrate --finalize`');
    // The worker's commands, as the writer, migrating on start: the new release's request budget
    // (a table 0006 created) is drawn from at every WorkOS request.
    const backfill = await runCli(['backfill'], env(writer));
    expect(backfill.code, backfill.stderr).toBe(0);
    expect(warningsIn(backfill.stderr)).toEqual([]);
    const [budget] = await query(admin, `select count(*)::int as rows from ${SCHEMA}.request_budget`);
    expect(budget).toEqual({ rows: 1 });
    // Owned by the owner group, not the login role that migrated: its default privileges applied.
    for (const table of ['workers', 'request_budget']) {
      const [row] = await query(
        admin,
        `select pg_get_userbyid(c.relowner) as owner,
                has_table_privilege($1, c.oid, 'SELECT,INSERT,UPDATE,DELETE') as writes
           from pg_class c where c.oid = $2::regclass`,
        [ROLES.writer, `${SCHEMA}.${table}`],
      );
      expect(row, table).toEqual({ owner: ROLES.owner, writes: true });
    }
    const reconcile = await runCli(['reconcile'], env(writer));
    expect(reconcile.code, reconcile.stderr).toBe(0);
    expect(warningsIn(reconcile.stderr)).toEqual([]);
  });

  it('the contract migration: the writer`s migrate --finalize fails the same way, the owner`s applies it', async () => {
    const before = await shape();
    const refused = await runCli(['migrate', '--finalize'], env(writer));
    expect(refused.stderr).toBe(
      refusal(writer.name, '0007_environment_keys', 'must be owner of table leases'),
    );
    expect(refused.code).toBe(1);
    expect(await shape()).toEqual(before);
    const finalized = await runCli(['migrate', '--finalize'], env(owner));
    expect(finalized.code, finalized.stderr).toBe(0);
    expect(await applied()).toEqual(Object.keys(migrations));
    const poll = await runCli(['poll'], env(writer));
    expect(poll.code, poll.stderr).toBe(0);
    expect(warningsIn(poll.stderr)).toEqual([]);
  });
});
