/**
 * The environment scope (db/environment-scope.ts), statement by statement, with no database: each
 * statement is compiled through a handle confined to `staging` (Kysely's DummyDriver) and its SQL
 * and parameters are read. Selects, updates and deletes are confined wherever an environment's
 * table appears (an `or` of their own cannot escape, a join's condition goes in its ON, left joins
 * included, subqueries too); inserts are stamped, their conflict target led by the environment;
 * what cannot be confined is refused; other schemas and the fleet's tables are left alone.
 */
import {
  type Compilable,
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
} from 'kysely';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ENVIRONMENT,
  ENVIRONMENT_RELATIONS,
  EnvironmentScopePlugin,
  environmentOf,
  scopedToEnvironment,
} from '../src/db/environment-scope.ts';
import type { Database } from '../src/db/tables.ts';

const SCHEMA = 'workos';
const unbound = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});
/** As db/connect.ts makes it: bound to the mirror's schema. */
const whole = unbound.withSchema(SCHEMA);
const db = scopedToEnvironment(whole, SCHEMA, 'staging');
// Other schemas' tables, named by the application: not in the mirror's types.
// biome-ignore lint/suspicious/noExplicitAny: tables outside the mirror's types.
const anyDb = db as unknown as Kysely<any>;

const compiled = (query: Compilable) => {
  const { sql: text, parameters } = query.compile();
  return { sql: text, parameters: [...parameters] };
};

const ENV = '"workos"."connections"."environment" = $';

describe('select', () => {
  it.each([
    {
      name: 'no where: gains one',
      query: () => db.selectFrom('connections').selectAll(),
      sql: `select * from "workos"."connections" where ${ENV}1`,
      parameters: ['staging'],
    },
    {
      name: 'an `or` stays inside its parentheses',
      query: () =>
        db
          .selectFrom('connections')
          .selectAll()
          .where((eb) => eb.or([eb('id', '=', 'a'), eb('id', '=', 'b')])),
      sql: `select * from "workos"."connections" where (("id" = $1 or "id" = $2)) and ${ENV}3`,
      parameters: ['a', 'b', 'staging'],
    },
    {
      name: 'a raw `or` too',
      query: () => db.selectFrom('connections').selectAll().where(sql<boolean>`id = 'a' or true`),
      sql: `select * from "workos"."connections" where (id = 'a' or true) and ${ENV}1`,
      parameters: ['staging'],
    },
    {
      name: 'several conditions: one group',
      query: () => db.selectFrom('connections').selectAll().where('id', '=', 'a').where('name', '=', 'n'),
      sql: `select * from "workos"."connections" where ("id" = $1 and "name" = $2) and ${ENV}3`,
      parameters: ['a', 'n', 'staging'],
    },
    {
      name: 'an alias is what the condition names',
      query: () => db.selectFrom('connections as c').select('c.id'),
      sql: 'select "c"."id" from "workos"."connections" as "c" where "c"."environment" = $1',
      parameters: ['staging'],
    },
    {
      name: 'a view',
      query: () => db.selectFrom('domain_routes').selectAll().where('domain', '=', 'a.example'),
      sql: 'select * from "workos"."domain_routes" where ("domain" = $1) and "workos"."domain_routes"."environment" = $2',
      parameters: ['a.example', 'staging'],
    },
    {
      name: 'two tables in FROM: each',
      query: () =>
        db
          .selectFrom(['connections as c', 'organizations as o'])
          .select('c.id')
          .whereRef('c.organization_id', '=', 'o.id'),
      sql: 'select "c"."id" from "workos"."connections" as "c", "workos"."organizations" as "o" where ("c"."organization_id" = "o"."id") and "c"."environment" = $1 and "o"."environment" = $2',
      parameters: ['staging', 'staging'],
    },
  ])('$name', ({ query, sql: text, parameters }) => {
    expect(compiled(query())).toEqual({ sql: text, parameters });
  });

  it.each([
    {
      join: 'inner',
      build: () =>
        db.selectFrom('connections as c').innerJoin('connection_domains as d', 'd.connection_id', 'c.id'),
    },
    {
      join: 'left',
      build: () =>
        db.selectFrom('connections as c').leftJoin('connection_domains as d', 'd.connection_id', 'c.id'),
    },
    {
      join: 'right',
      build: () =>
        db.selectFrom('connections as c').rightJoin('connection_domains as d', 'd.connection_id', 'c.id'),
    },
    {
      join: 'full',
      build: () =>
        db.selectFrom('connections as c').fullJoin('connection_domains as d', 'd.connection_id', 'c.id'),
    },
  ])('a $join join gets its condition in its ON (so an outer join stays outer)', ({ join, build }) => {
    expect(compiled(build().select(['c.id', 'd.domain']))).toEqual({
      sql: `select "c"."id", "d"."domain" from "workos"."connections" as "c" ${join} join "workos"."connection_domains" as "d" on ("d"."connection_id" = "c"."id") and "d"."environment" = $1 where "c"."environment" = $2`,
      parameters: ['staging', 'staging'],
    });
  });

  it('a join with an `or` of its own in ON, built with `eb.or`, stays confined', () => {
    const query = db
      .selectFrom('connections as c')
      .innerJoin('connection_domains as d', (join) =>
        join.on((eb) =>
          eb.or([eb('d.connection_id', '=', eb.ref('c.id')), eb('d.domain', '=', 'a.example')]),
        ),
      )
      .select('d.id');
    expect(compiled(query)).toEqual({
      sql: 'select "d"."id" from "workos"."connections" as "c" inner join "workos"."connection_domains" as "d" on (("d"."connection_id" = "c"."id" or "d"."domain" = $1)) and "d"."environment" = $2 where "c"."environment" = $3',
      parameters: ['a.example', 'staging', 'staging'],
    });
  });

  it('a join to a table of no environment (the fleet`s, another schema`s) gains nothing in its ON', () => {
    const query = anyDb
      .selectFrom('connections as c')
      .innerJoin('workers as w', 'w.id', 'c.name')
      .leftJoin('public.sso_audit as a', 'a.connection_id', 'c.id')
      .select('c.id');
    expect(compiled(query)).toEqual({
      sql: 'select "c"."id" from "workos"."connections" as "c" inner join "workos"."workers" as "w" on "w"."id" = "c"."name" left join "public"."sso_audit" as "a" on "a"."connection_id" = "c"."id" where "c"."environment" = $1',
      parameters: ['staging'],
    });
  });

  it.each([
    {
      name: 'in (subquery)',
      query: () =>
        db
          .selectFrom('connections')
          .select('id')
          .where('id', 'in', (eb) =>
            eb.selectFrom('connection_domains').select('connection_id').where('domain', '=', 'a.example'),
          ),
      sql: 'select "id" from "workos"."connections" where ("id" in (select "connection_id" from "workos"."connection_domains" where ("domain" = $1) and "workos"."connection_domains"."environment" = $2)) and "workos"."connections"."environment" = $3',
      parameters: ['a.example', 'staging', 'staging'],
    },
    {
      name: 'exists (subquery)',
      query: () =>
        db
          .selectFrom('organizations as o')
          .select('o.id')
          .where((eb) =>
            eb.not(
              eb.exists(
                eb
                  .selectFrom('organization_domains as d')
                  .select('d.id')
                  .whereRef('d.organization_id', '=', 'o.id'),
              ),
            ),
          ),
      sql: 'select "o"."id" from "workos"."organizations" as "o" where (not exists (select "d"."id" from "workos"."organization_domains" as "d" where ("d"."organization_id" = "o"."id") and "d"."environment" = $1)) and "o"."environment" = $2',
      parameters: ['staging', 'staging'],
    },
    {
      name: 'a scalar subquery in the select list',
      query: () =>
        db
          .selectFrom('organizations as o')
          .select((eb) => [
            'o.id',
            eb
              .selectFrom('connections as c')
              .select(eb.fn.countAll().as('n'))
              .whereRef('c.organization_id', '=', 'o.id')
              .as('n'),
          ]),
      sql: 'select "o"."id", (select count(*) as "n" from "workos"."connections" as "c" where ("c"."organization_id" = "o"."id") and "c"."environment" = $1) as "n" from "workos"."organizations" as "o" where "o"."environment" = $2',
      parameters: ['staging', 'staging'],
    },
    {
      name: 'a subquery in FROM',
      query: () => db.selectFrom((eb) => eb.selectFrom('events').select('id').as('e')).select('e.id'),
      sql: 'select "e"."id" from (select "id" from "workos"."events" where "workos"."events"."environment" = $1) as "e"',
      parameters: ['staging'],
    },
    {
      name: 'a common table expression',
      query: () =>
        db
          .with('live', (qb) => qb.selectFrom('connections').select('id').where('deleted_at', 'is', null))
          .selectFrom('live')
          .select('id'),
      sql: `with "live" as (select "id" from "workos"."connections" where ("deleted_at" is null) and ${ENV}1) select "id" from "live"`,
      parameters: ['staging'],
    },
  ])('a subquery is confined: $name', ({ query, sql: text, parameters }) => {
    expect(compiled(query())).toEqual({ sql: text, parameters });
  });
});

describe('update and delete', () => {
  it.each([
    {
      name: 'an update',
      query: () => db.updateTable('connections').set({ name: 'n' }).where('id', '=', 'a'),
      sql: `update "workos"."connections" set "name" = $1 where ("id" = $2) and ${ENV}3`,
      parameters: ['n', 'a', 'staging'],
    },
    {
      name: 'an update with no where',
      query: () => db.updateTable('sync_state').set({ cursor: null }),
      sql: 'update "workos"."sync_state" set "cursor" = $1 where "workos"."sync_state"."environment" = $2',
      parameters: [null, 'staging'],
    },
    {
      name: 'an update whose `or` stays inside',
      query: () =>
        db
          .updateTable('leases')
          .set({ holder: 'h' })
          .where((eb) => eb.or([eb('holder', '=', 'h'), eb('expires_at', '<', sql<Date>`now()`)])),
      sql: 'update "workos"."leases" set "holder" = $1 where (("holder" = $2 or "expires_at" < now())) and "workos"."leases"."environment" = $3',
      parameters: ['h', 'h', 'staging'],
    },
    {
      name: 'an update from another table: both',
      query: () =>
        db
          .updateTable('connection_domains')
          .from('connections')
          .set({ domain: 'x' })
          .whereRef('connections.id', '=', 'connection_domains.connection_id'),
      sql: 'update "workos"."connection_domains" set "domain" = $1 from "workos"."connections" where ("workos"."connections"."id" = "workos"."connection_domains"."connection_id") and "workos"."connection_domains"."environment" = $2 and "workos"."connections"."environment" = $3',
      parameters: ['x', 'staging', 'staging'],
    },
    {
      name: 'an update whose value is a subquery',
      query: () =>
        db
          .updateTable('connections')
          .set((eb) => ({ name: eb.selectFrom('organizations').select('name').limit(1) }))
          .where('id', '=', 'a'),
      sql: `update "workos"."connections" set "name" = (select "name" from "workos"."organizations" where "workos"."organizations"."environment" = $1 limit $2) where ("id" = $3) and ${ENV}4`,
      parameters: ['staging', 1, 'a', 'staging'],
    },
    {
      name: 'a delete',
      query: () => db.deleteFrom('connection_domains').where('connection_id', '=', 'c'),
      sql: 'delete from "workos"."connection_domains" where ("connection_id" = $1) and "workos"."connection_domains"."environment" = $2',
      parameters: ['c', 'staging'],
    },
    {
      name: 'a delete of everything',
      query: () => db.deleteFrom('reconciliation_pass_listed'),
      sql: 'delete from "workos"."reconciliation_pass_listed" where "workos"."reconciliation_pass_listed"."environment" = $1',
      parameters: ['staging'],
    },
    {
      name: 'a delete using another table: both',
      query: () =>
        db
          .deleteFrom('connection_domains')
          .using('connections')
          .whereRef('connections.id', '=', 'connection_domains.connection_id')
          .where('connections.deleted_at', 'is not', null),
      sql: 'delete from "workos"."connection_domains" using "workos"."connections" where ("workos"."connections"."id" = "workos"."connection_domains"."connection_id" and "workos"."connections"."deleted_at" is not null) and "workos"."connection_domains"."environment" = $1 and "workos"."connections"."environment" = $2',
      parameters: ['staging', 'staging'],
    },
    {
      name: 'a delete with a subquery',
      query: () =>
        db
          .deleteFrom('connection_certificates')
          .where('connection_id', 'not in', (eb) => eb.selectFrom('connections').select('id')),
      sql: `delete from "workos"."connection_certificates" where ("connection_id" not in (select "id" from "workos"."connections" where ${ENV}1)) and "workos"."connection_certificates"."environment" = $2`,
      parameters: ['staging', 'staging'],
    },
  ])('$name is confined', ({ query, sql: text, parameters }) => {
    expect(compiled(query())).toEqual({ sql: text, parameters });
  });
});

describe('insert', () => {
  it.each([
    {
      name: 'one row',
      query: () =>
        db.insertInto('leases').values({
          name: 'events',
          holder: 'h',
          acquired_at: sql<Date>`now()`,
          expires_at: sql<Date>`now()`,
        }),
      sql: `insert into "workos"."leases" ("name", "holder", "acquired_at", "expires_at", "environment") values ($1, $2, now(), now(), 'staging')`,
      parameters: ['events', 'h'],
    },
    {
      name: 'several rows, one missing a column (DEFAULT)',
      query: () =>
        db
          .insertInto('connection_domains')
          .values([
            { id: 'd1', connection_id: 'c1', domain: 'a.example' },
            { id: 'd2', domain: 'b.example' } as { id: string; connection_id: string; domain: string },
          ]),
      sql: `insert into "workos"."connection_domains" ("id", "connection_id", "domain", "environment") values ($1, $2, $3, 'staging'), ($4, default, $5, 'staging')`,
      parameters: ['d1', 'c1', 'a.example', 'd2', 'b.example'],
    },
    {
      name: 'rows of bare values (a primitive value list)',
      query: () => db.insertInto('sync_state').values([{ stream: 'events' }, { stream: 'reconciliation' }]),
      sql: `insert into "workos"."sync_state" ("stream", "environment") values ($1, 'staging'), ($2, 'staging')`,
      parameters: ['events', 'reconciliation'],
    },
    {
      name: 'a row that names its own environment',
      query: () => db.insertInto('sync_state').values({ environment: 'staging', stream: 'events' }),
      sql: `insert into "workos"."sync_state" ("environment", "stream") values ('staging', $1)`,
      parameters: ['events'],
    },
    {
      name: 'a row whose environment is an expression: the handle`s instead',
      query: () =>
        db.insertInto('sync_state').values({ environment: sql<string>`current_user`, stream: 'events' }),
      sql: `insert into "workos"."sync_state" ("environment", "stream") values ('staging', $1)`,
      parameters: ['events'],
    },
  ])('is stamped: $name', ({ query, sql: text, parameters }) => {
    expect(compiled(query())).toEqual({ sql: text, parameters });
  });

  it.each([
    {
      name: 'one column',
      query: () =>
        db
          .insertInto('sync_state')
          .values({ stream: 'events' })
          .onConflict((oc) => oc.column('stream').doNothing()),
      sql: `insert into "workos"."sync_state" ("stream", "environment") values ($1, 'staging') on conflict ("environment", "stream") do nothing`,
      parameters: ['events'],
    },
    {
      name: 'two columns, and an update whose guard reads another table',
      query: () =>
        db
          .insertInto('connection_certificates')
          .values({
            connection_id: 'c',
            certificate_type: 'ResponseSigning',
            expiry_date: '2030-01-01T00:00:00Z',
            version_at: '2024-01-01T00:00:00Z',
            source: 'event',
          })
          .onConflict((oc) =>
            oc
              .columns(['connection_id', 'certificate_type'])
              .doUpdateSet({ expiry_date: (eb) => eb.ref('excluded.expiry_date') })
              .where((eb) =>
                eb.exists(eb.selectFrom('connections').select('id').where('deleted_at', 'is', null)),
              ),
          ),
      sql: `insert into "workos"."connection_certificates" ("connection_id", "certificate_type", "expiry_date", "version_at", "source", "environment") values ($1, $2, $3, $4, $5, 'staging') on conflict ("environment", "connection_id", "certificate_type") do update set "expiry_date" = "excluded"."expiry_date" where exists (select "id" from "workos"."connections" where ("deleted_at" is null) and ${ENV}6)`,
      parameters: [
        'c',
        'ResponseSigning',
        '2030-01-01T00:00:00Z',
        '2024-01-01T00:00:00Z',
        'event',
        'staging',
      ],
    },
    {
      name: 'a target already led by the environment: as it is',
      query: () =>
        db
          .insertInto('leases')
          .values({
            name: 'events',
            holder: 'h',
            acquired_at: sql<Date>`now()`,
            expires_at: sql<Date>`now()`,
          })
          .onConflict((oc) => oc.columns(['environment', 'name']).doNothing()),
      sql: `insert into "workos"."leases" ("name", "holder", "acquired_at", "expires_at", "environment") values ($1, $2, now(), now(), 'staging') on conflict ("environment", "name") do nothing`,
      parameters: ['events', 'h'],
    },
  ])('`on conflict` is led by the environment: $name', ({ query, sql: text, parameters }) => {
    expect(compiled(query())).toEqual({ sql: text, parameters });
  });

  it('refuses a row naming another environment, whichever row it is', () => {
    expect(() =>
      compiled(db.insertInto('sync_state').values({ environment: 'eu', stream: 'events' })),
    ).toThrow('an insert into sync_state names the environment eu on a handle confined to staging');
    expect(() =>
      compiled(
        db.insertInto('connection_domains').values([
          { environment: 'staging', id: 'd1', connection_id: 'c', domain: 'a.example' },
          { environment: DEFAULT_ENVIRONMENT, id: 'd2', connection_id: 'c', domain: 'b.example' },
        ]),
      ),
    ).toThrow('names the environment default on a handle confined to staging');
  });

  it.each([
    {
      name: 'raw SQL',
      query: () =>
        db
          .insertInto('events')
          .columns(['id', 'event', 'outcome'])
          .expression(sql`select 'e', 'x', 'applied'`),
    },
    {
      name: 'a query',
      query: () =>
        db
          .insertInto('reconciliation_pass_listed')
          .columns(['connection_id'])
          .expression((eb) => eb.selectFrom('connections').select('id')),
    },
  ])('refuses `insert ... select` from $name without an environment column', ({ query }) => {
    expect(() => compiled(query())).toThrow(/must name its environment column itself/);
  });

  it('takes an `insert ... select` that names its environment column, its select confined and its target led', () => {
    const query = db
      .insertInto('reconciliation_pass_listed')
      .columns(['environment', 'connection_id'])
      .expression((eb) => eb.selectFrom('connections').select(['environment', 'id']))
      .onConflict((oc) => oc.column('connection_id').doNothing());
    expect(compiled(query)).toEqual({
      sql: `insert into "workos"."reconciliation_pass_listed" ("environment", "connection_id") select "environment", "id" from "workos"."connections" where ${ENV}1 on conflict ("environment", "connection_id") do nothing`,
      parameters: ['staging'],
    });
  });
});

describe('what the scope leaves alone', () => {
  it.each([
    {
      name: 'the fleet`s workers',
      statements: [
        db.selectFrom('workers').selectAll().where('id', '=', 'w'),
        db
          .insertInto('workers')
          .values({ id: 'w', release: '1' })
          .onConflict((oc) => oc.column('id').doNothing()),
        db.updateTable('workers').set({ environments: 2 }).where('id', '=', 'w'),
        db.deleteFrom('workers').where('id', '=', 'w'),
      ],
    },
    {
      name: 'the fleet`s request budget',
      statements: [
        db.selectFrom('request_budget').selectAll(),
        db
          .insertInto('request_budget')
          .values({ name: 'workos', tokens: 1, refilled_at: '2024-01-01T00:00:00Z' }),
        db.updateTable('request_budget').set({ tokens: 2 }),
        db.deleteFrom('request_budget'),
      ],
    },
    {
      name: 'a table of the same name in another schema',
      statements: [
        anyDb.selectFrom('public.connections').selectAll(),
        anyDb.insertInto('public.connections').values({ id: 'x' }),
        anyDb.updateTable('public.connections').set({ name: 'n' }),
        anyDb.deleteFrom('public.connections'),
        anyDb.insertInto('public.events').columns(['id']).expression(sql`select 'x'`),
      ],
    },
    {
      name: 'an unqualified table (a handle bound to no schema)',
      statements: [
        scopedToEnvironment(unbound, SCHEMA, 'staging').selectFrom('connections').selectAll(),
        scopedToEnvironment(unbound, SCHEMA, 'staging').insertInto('sync_state').values({ stream: 'events' }),
      ],
    },
  ])('$name: every statement as the unscoped handle compiles it', ({ statements }) => {
    for (const statement of statements) {
      const { sql: text, parameters } = compiled(statement);
      expect(text).not.toMatch(/"environment"|staging/);
      expect(parameters).not.toContain('staging');
    }
  });

  it('the same statement on the unscoped handle: untouched', () => {
    expect(compiled(whole.selectFrom('connections').selectAll().where('id', '=', 'a'))).toEqual({
      sql: 'select * from "workos"."connections" where "id" = $1',
      parameters: ['a'],
    });
  });

  it('a scoped handle of one schema leaves the same tables of another schema alone', () => {
    const other = scopedToEnvironment(unbound.withSchema('tenant_b'), SCHEMA, 'staging');
    expect(compiled(other.selectFrom('connections').selectAll()).sql).toBe(
      'select * from "tenant_b"."connections"',
    );
  });

  it('every table and view of the mirror is confined, and nothing else is listed', () => {
    expect([...ENVIRONMENT_RELATIONS].sort()).toEqual(
      [
        'connection_certificates',
        'connection_domains',
        'connections',
        'domain_routes',
        'events',
        'expiring_certificates',
        'leases',
        'live_connection_domains',
        'live_connections',
        'live_organization_domains',
        'live_organizations',
        'organization_domains',
        'organizations',
        'reconciliation_pass_listed',
        'reconciliation_runs',
        'sync_state',
      ].sort(),
    );
    for (const relation of ENVIRONMENT_RELATIONS) {
      expect(compiled(db.selectFrom(relation as 'connections').selectAll())).toEqual({
        sql: `select * from "workos"."${relation}" where "workos"."${relation}"."environment" = $1`,
        parameters: ['staging'],
      });
    }
  });
});

describe('environmentOf', () => {
  it('names the handle`s environment, and its transactions`', async () => {
    expect(environmentOf(db)).toBe('staging');
    expect(environmentOf(scopedToEnvironment(whole, SCHEMA, DEFAULT_ENVIRONMENT))).toBe('default');
    expect(await db.transaction().execute(async (trx) => environmentOf(trx))).toBe('staging');
    // With other plugins around it (the schema's, one added after).
    expect(environmentOf(db.withSchema('public'))).toBe('staging');
    expect(db.getExecutor().plugins.filter((p) => p instanceof EnvironmentScopePlugin)).toHaveLength(1);
  });

  it('refuses a handle that is not confined', async () => {
    expect(() => environmentOf(whole)).toThrow('this database handle is not confined to an environment');
    await expect(whole.transaction().execute(async (trx) => environmentOf(trx))).rejects.toThrow(
      'not confined to an environment',
    );
  });

  it('two handles of two environments do not share a scope', () => {
    const eu = scopedToEnvironment(whole, SCHEMA, 'eu');
    expect(environmentOf(eu)).toBe('eu');
    expect(compiled(eu.selectFrom('leases').selectAll()).parameters).toEqual(['eu']);
    expect(compiled(db.selectFrom('leases').selectAll()).parameters).toEqual(['staging']);
  });
});

/**
 * Statements the scope lets through unconfined today (found writing these tests; they fail until
 * db/environment-scope.ts handles them). None is made by the sync's own code; an application's
 * hook, given the environment's transaction, could make any of them.
 */
describe('statements the scope must confine or refuse', () => {
  it('a raw `or` in a join`s ON stays inside parentheses, as in a where', () => {
    // Without the parentheses, `… or d.connection_id = c.id and "d"."environment" = $1` joins
    // every environment's rows for that domain.
    const query = db
      .selectFrom('connections as c')
      .innerJoin('connection_domains as d', (join) =>
        join.on(sql<boolean>`d.domain = 'a.example' or d.connection_id = c.id`),
      )
      .select('d.id');
    expect(compiled(query)).toEqual({
      sql: `select "d"."id" from "workos"."connections" as "c" inner join "workos"."connection_domains" as "d" on (d.domain = 'a.example' or d.connection_id = c.id) and "d"."environment" = $1 where "c"."environment" = $2`,
      parameters: ['staging', 'staging'],
    });
  });

  it('a cross join is confined in valid SQL (a cross join has no ON)', () => {
    // A cross join has no ON for the condition (Postgres refuses `cross join … on`): it goes in the where.
    const text = compiled(
      db.selectFrom('connections as c').crossJoin('connection_domains as d').select('d.id'),
    ).sql;
    expect(text).not.toMatch(/cross join "workos"\."connection_domains" as "d" on/);
    expect(text).toContain('"d"."environment" = $');
  });

  it('an update that sets the environment column to another environment is refused, as such an insert is', () => {
    // Confined by its where, it would still move the row into another environment.
    expect(() =>
      compiled(db.updateTable('connections').set({ environment: 'eu' }).where('id', '=', 'conn_1')),
    ).toThrow(/environment/);
  });

  it('a merge into an environment`s table is confined or refused', () => {
    // Unconfined, `merge … when matched then delete` deletes another environment's rows.
    const merge = () =>
      compiled(
        db
          .mergeInto('connections as t')
          .using('connection_domains as s', 's.connection_id', 't.id')
          .whenMatched()
          .thenDelete(),
      );
    let text: string;
    try {
      text = merge().sql;
    } catch {
      return; // refused: as good as confined
    }
    expect(text).toContain('"t"."environment" = $');
    expect(text).toContain('"s"."environment" = $');
  });
});
