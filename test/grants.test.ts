/**
 * Least privilege on a real Postgres, with real roles (README, "Roles and privileges"): the SQL
 * `workos-sync grants --print-sql` prints, run as the superuser on a new database before the first
 * migrate and again after it; a login role granted each of its three group roles. The owner
 * migrates; the worker's commands run as the writer in child processes, each migrating on start;
 * a library hook writes the application's table as the writer; the reader reads every view and
 * nothing else; NOTIFY and LISTEN work between them. What the writer and the reader may not do
 * is tried with real statements. One database; the reader's tests read what the writer's wrote.
 */
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { DEFAULT_ROLES } from '../src/db/grants.ts';
import { applicationTransaction, createWorkosSync } from '../src/index.ts';
import { type CliResult, runCli } from './support/cli.ts';
import { createDatabaseUrl } from './support/database.ts';
import {
  applyGrants,
  createLogin,
  dropRoles,
  privilegesOf,
  query,
  sqlstateOf,
  warningsIn,
} from './support/roles.ts';
import { API_KEY } from './support/sync.ts';
import { freePort, startWorkerProcess, until } from './support/worker-process.ts';

const SCHEMA = 'workos';
const SECRET = 'whsec_grants_test_41c0d9';
const YEARLY = '0 0 1 1 *';
const { owner: OWNER, writer: WRITER, reader: READER } = DEFAULT_ROLES;

let emulator: Emulator;
let model: WorkosModel;
let admin: string;
let owner: { name: string; url: string };
let writer: { name: string; url: string };
let reader: { name: string; url: string };
let migrated: CliResult;
let readerBeforeSecondRun: string | null;
let ownersAfterMigrate: { owner: string }[];

beforeAll(async () => {
  model = new WorkosModel({ seed: 19 });
  generateScenario(model, { seed: 19, events: 300 });
  emulator = await startEmulator({ apiKey: API_KEY, model });
  admin = await createDatabaseUrl();
  await applyGrants(admin);
  owner = await createLogin(admin, 'grants_migrate', OWNER);
  writer = await createLogin(admin, 'grants_worker', WRITER);
  reader = await createLogin(admin, 'grants_app', READER);
  // The application's own tables: its hook's, which the worker's login is granted, and another.
  await query(
    admin,
    `create table public.sso_disabled (organization_id text primary key);
     create table public.app_secrets (secret text);
     grant select, insert on public.sso_disabled to ${writer.name}`,
  );
  // The deployment's order: the SQL, migrate as the owner, the SQL again. Every test needs it.
  migrated = await runCli(['migrate'], { DATABASE_URL: owner.url });
  // Before the SQL runs again, which would give the owner group whatever migrate left elsewhere.
  ownersAfterMigrate = await query<{ owner: string }>(
    admin,
    `select distinct pg_get_userbyid(c.relowner) as owner from pg_class c
       join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1`,
    [SCHEMA],
  );
  readerBeforeSecondRun = await sqlstateOf(reader.url, 'select * from workos.live_connections');
  await applyGrants(admin);
});
afterAll(async () => {
  await emulator?.close();
  if (admin) await dropRoles([admin], [owner?.name, writer?.name, reader?.name, OWNER, WRITER, READER]);
});

const as = (role: { url: string }) => ({
  DATABASE_URL: role.url,
  WORKOS_API_KEY: API_KEY,
  WORKOS_API_URL: emulator.url,
});

/** A session LISTENing on `channels` as the role of `url`, and what it heard. */
async function listening(url: string, channels: readonly string[]) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const heard: { channel: string; payload: Record<string, unknown> }[] = [];
  client.on('notification', (n) =>
    heard.push({ channel: n.channel, payload: JSON.parse(n.payload ?? '{}') }),
  );
  for (const channel of channels) await client.query(`listen ${channel}`);
  return { heard, close: () => client.end() };
}

const cursor = async () =>
  (
    await query<{ cursor: string }>(admin, `select cursor from ${SCHEMA}.sync_state where stream = 'events'`)
  )[0]?.cursor;
const stateOf = async (id: string) =>
  (await query<{ state: string }>(admin, `select state from ${SCHEMA}.connections where id = $1`, [id]))[0]
    ?.state;
const activeConnection = () =>
  String(model.liveConnections().find((c) => c.state === 'active' && c.organization_id)!.id);

describe('the owner migrates', () => {
  it('as the schema`s owner: everything migrate creates is the owner group`s, not the login role`s', async () => {
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toMatch(/^applied 7 migration\(s\) to schema "workos"/);
    expect(ownersAfterMigrate).toEqual([{ owner: OWNER }]);
  });

  it('the reader sees the views once the SQL has run again after migrate; running it again changes nothing', async () => {
    expect(readerBeforeSecondRun).toBe('42501');
    expect(await sqlstateOf(reader.url, 'select * from workos.live_connections')).toBeNull();
    const granted = await privilegesOf(admin, SCHEMA);
    await applyGrants(admin);
    expect(await privilegesOf(admin, SCHEMA)).toEqual(granted);
    // What the three groups were given beside it is taken back.
    await query(
      admin,
      `grant truncate on workos.events to ${WRITER}; grant create on schema workos to ${WRITER};
       grant select, insert on workos.events to ${READER}`,
    );
    expect(await privilegesOf(admin, SCHEMA)).not.toEqual(granted);
    await applyGrants(admin);
    expect(await privilegesOf(admin, SCHEMA)).toEqual(granted);
  });
});

describe('the writer runs the worker, migrating on start', () => {
  it('backfill, poll and reconcile; each commit that changed the mirror NOTIFYs the reader', async () => {
    const backfill = await runCli(['backfill'], as(writer));
    expect(backfill.code, backfill.stderr).toBe(0);
    expect(warningsIn(backfill.stderr)).toEqual([]);
    expect(await cursor()).toBe(model.events().at(-1)!.id);

    const app = await listening(reader.url, ['workos_changes']);
    try {
      const id = activeConnection();
      model.deactivate(id);
      const poll = await runCli(['poll', '--json'], as(writer));
      expect(poll.code, poll.stderr).toBe(0);
      expect(warningsIn(poll.stderr)).toEqual([]);
      expect(await stateOf(id)).toBe('inactive');

      model.rename(id, 'Renamed without an event');
      const reconcile = await runCli(['reconcile', '--json'], as(writer));
      expect(reconcile.code, reconcile.stderr).toBe(0);
      expect(warningsIn(reconcile.stderr)).toEqual([]);
      expect(JSON.parse(reconcile.stdout).counts.updated).toBe(1);
      const [row] = await query(admin, 'select name from workos.connections where id = $1', [id]);
      expect(row).toEqual({ name: 'Renamed without an event' });

      await until(
        () => app.heard.length >= 2,
        5_000,
        () => JSON.stringify(app.heard),
      );
      expect(app.heard.map((h) => [h.channel, h.payload.source, h.payload.connectionIds])).toEqual([
        ['workos_changes', 'events', [id]],
        ['workos_changes', 'reconciliation', [id]],
      ]);
    } finally {
      await app.close();
    }
  });

  it('run: polls what WorkOS changes, a webhook`s nudge crosses by NOTIFY and LISTEN, and the reader hears the change', async () => {
    const port = await freePort();
    const id = activeConnection();
    model.deactivate(id);
    const worker = await startWorkerProcess({
      ...as(writer),
      // Only the poll at start and nudged ones: an event applied later came by the webhook.
      WORKOS_SYNC_POLL_CRON: YEARLY,
      WORKOS_WEBHOOK_SECRET: SECRET,
      WORKOS_SYNC_WEBHOOK_HOST: '127.0.0.1',
      WORKOS_SYNC_WEBHOOK_PORT: String(port),
    });
    const app = await listening(reader.url, ['workos_changes', 'workos_nudge']);
    try {
      await until(async () => (await cursor()) === model.events().at(-1)!.id, 10_000, worker.logs);
      expect(await stateOf(id)).toBe('inactive');
      // The first poll, at start, caught up with it: from here only a nudge explains a poll.
      emulator.webhooks.configure({ url: `http://127.0.0.1:${port}/webhooks/workos`, secret: SECRET });
      const next = activeConnection();
      model.deactivate(next);
      const event = model.events().at(-1)!.id;
      await until(async () => (await cursor()) === event, 15_000, worker.logs);
      const seen = await query(reader.url, 'select state from workos.live_connections where id = $1', [next]);
      expect(seen).toEqual([{ state: 'inactive' }]);
      expect(await worker.metric('workos_sync_nudged_polls_total')).toBeGreaterThan(0);
      await until(
        () => app.heard.some((h) => h.channel === 'workos_changes' && h.payload.cursor === event),
        5_000,
      );
      expect(app.heard.find((h) => h.channel === 'workos_nudge')?.payload).toMatchObject({
        environment: 'default',
        eventId: event,
      });
      expect(app.heard.find((h) => h.payload.cursor === event)?.payload.connectionIds).toEqual([next]);
    } finally {
      emulator.webhooks.remove();
      await app.close();
      worker.child.kill('SIGTERM');
    }
    const stopped = await worker.exited;
    expect(stopped.code, worker.logs()).toBe(0);
    expect(warningsIn(worker.logs())).toEqual([]);
    // It gave its leases back: it may delete what it writes.
    expect(await query(admin, 'select name from workos.leases')).toEqual([]);
  });

  it('a library hook writes the application`s table in the apply transaction, as the writer', async () => {
    const sync = createWorkosSync({
      apiKey: API_KEY,
      apiUrl: emulator.url,
      database: { url: writer.url },
      logger: pino({ level: 'silent' }),
      async onChange(trx, changes) {
        const app = applicationTransaction<{ sso_disabled: { organization_id: string } }>(trx);
        for (const change of changes)
          if (change.type === 'connection' && change.kind === 'deactivated' && change.organizationId)
            await app
              .insertInto('sso_disabled')
              .values({ organization_id: change.organizationId })
              .onConflict((c) => c.doNothing())
              .execute();
      },
    });
    try {
      expect(await sync.migrate()).toEqual({ applied: [], awaitingFinalize: [] });
      const id = activeConnection();
      const organization = model.liveConnections().find((c) => c.id === id)!.organization_id;
      model.deactivate(id);
      await sync.poll();
      expect(await query(admin, 'select organization_id from public.sso_disabled')).toContainEqual({
        organization_id: organization,
      });
    } finally {
      await sync.close();
    }
  });
});

describe('what the writer may not do', () => {
  it.each([
    'create table workos.extra (a int)',
    'create view workos.extra as select 1',
    'create index on workos.events (event)',
    'alter table workos.connections add column extra int',
    'drop table workos.events',
    'truncate workos.events',
    "insert into workos.schema_migrations (name) values ('9999_extra')",
    'delete from workos.schema_migrations',
    "select setval('workos.events_seq_seq', 1)",
    'create schema extra',
    'create table public.extra (a int)',
    'select * from public.app_secrets',
    "insert into public.app_secrets values ('x')",
  ])('%s: 42501', async (statement) => {
    expect(await sqlstateOf(writer.url, statement)).toBe('42501');
  });

  it('its group holds exactly this, in its schema alone', async () => {
    const held = await query<{ schema: string; relation: string; privileges: string }>(
      admin,
      `select n.nspname as schema, c.relkind::text || ' ' || c.relname as relation,
              string_agg(a.privilege_type, ',' order by a.privilege_type) as privileges
         from pg_class c join pg_namespace n on n.oid = c.relnamespace, aclexplode(c.relacl) a
        where a.grantee = $1::regrole
        group by 1, 2 order by 1, 2`,
      [WRITER],
    );
    expect(new Set(held.map((h) => h.schema))).toEqual(new Set([SCHEMA]));
    const byKind = new Map<string, Set<string>>();
    for (const h of held) {
      const kind = h.relation === 'r schema_migrations' ? 'migrations' : h.relation.split(' ')[0]!;
      byKind.set(kind, (byKind.get(kind) ?? new Set()).add(h.privileges));
    }
    expect(Object.fromEntries([...byKind].map(([k, v]) => [k, [...v]]))).toEqual({
      S: ['SELECT,USAGE'],
      migrations: ['SELECT'],
      r: ['DELETE,INSERT,SELECT,UPDATE'],
      v: ['DELETE,INSERT,SELECT,UPDATE'],
    });
    const tables = await query(admin, `select tablename from pg_tables where schemaname = $1`, [SCHEMA]);
    expect(held.filter((h) => h.relation.startsWith('r '))).toHaveLength(tables.length);
    const [database] = await query(
      admin,
      `select has_database_privilege($1, current_database(), 'CREATE') as create,
              array(select nspname::text from pg_namespace where has_schema_privilege($1, oid, 'CREATE')) as schemas`,
      [WRITER],
    );
    expect(database).toEqual({ create: false, schemas: [] });
  });
});

describe('the reader', () => {
  const views = () =>
    query<{ name: string; insertable: boolean; updatable: boolean }>(
      admin,
      `select table_name as name, is_insertable_into = 'YES' as insertable, is_updatable = 'YES' as updatable
         from information_schema.views where table_schema = $1 order by 1`,
      [SCHEMA],
    );
  const tables = async () =>
    (
      await query<{ name: string }>(admin, 'select tablename as name from pg_tables where schemaname = $1', [
        SCHEMA,
      ])
    ).map((t) => t.name);
  /** `update … set <its first column> = itself where false`: refused or not, it changes nothing. */
  const update = async (relation: string) => {
    const [first] = await query<{ column: string }>(
      admin,
      'select attname as column from pg_attribute where attrelid = $1::regclass and attnum = 1',
      [`${SCHEMA}.${relation}`],
    );
    return `update workos.${relation} set ${first!.column} = ${first!.column} where false`;
  };

  it('reads every view there is', async () => {
    const all = await views();
    expect(all.map((v) => v.name)).toEqual(
      expect.arrayContaining(['domain_routes', 'expiring_certificates', 'live_connections']),
    );
    for (const { name } of all)
      expect(await sqlstateOf(reader.url, `select * from workos.${name} limit 1`), name).toBeNull();
    const [count] = await query<{ n: number }>(
      reader.url,
      'select count(*)::int as n from workos.live_connections',
    );
    expect(count!.n).toBeGreaterThan(0);
  });

  it('reads no table, writes nothing, creates nothing', async () => {
    const refused: Record<string, string | null> = {};
    const expected: Record<string, string> = {};
    for (const name of await tables()) {
      for (const statement of [
        `select * from workos.${name}`,
        `insert into workos.${name} default values`,
        await update(name),
        `delete from workos.${name} where false`,
        `truncate workos.${name}`,
      ]) {
        refused[statement] = await sqlstateOf(reader.url, statement);
        expected[statement] = '42501';
      }
    }
    // A view over a join is not writable by anyone (55000); one over a table, only by a grant.
    for (const view of await views()) {
      const statements: [string, boolean][] = [
        [`insert into workos.${view.name} default values`, view.insertable],
        [await update(view.name), view.updatable],
        [`delete from workos.${view.name} where false`, view.updatable],
      ];
      for (const [statement, writable] of statements) {
        refused[statement] = await sqlstateOf(reader.url, statement);
        expected[statement] = writable ? '42501' : '55000';
      }
    }
    for (const statement of [
      "select nextval('workos.events_seq_seq')",
      'create table workos.extra (a int)',
      'create view workos.extra as select 1',
      'select * from public.app_secrets',
    ]) {
      refused[statement] = await sqlstateOf(reader.url, statement);
      expected[statement] = '42501';
    }
    expect(refused).toEqual(expected);
    // Nothing writable however a statement reaches it: no such privilege anywhere.
    const [writable] = await query(
      admin,
      `select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = $2 and c.relkind in ('r', 'v', 'm', 'S')
          and has_table_privilege($1, c.oid, 'INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER')`,
      [reader.name, SCHEMA],
    );
    expect(writable).toEqual({ n: 0 });
  });

  it('migrate as the reader: one line, exit 1', async () => {
    const result = await runCli(['migrate'], { DATABASE_URL: reader.url });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `workos-sync: migrate: role "${reader.name}" may not read the migrations of schema "workos" (SQLSTATE 42501: permission denied for table schema_migrations): run migrate as the schema's owner "${OWNER}" or a role granted it, see README "Roles and privileges"\n`,
    );
  });
});
