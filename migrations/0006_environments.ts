/**
 * Many WorkOS environments in one set of tables, the expand half: every table gains an
 * `environment` column (what was there is the environment `default`), a unique index led by it
 * for every key, and the fleet's two tables (the replicas' heartbeats, the shared WorkOS request
 * budget). Safe while the previous release's replicas still run on the schema: it only adds
 * (their inserts fill `environment` with its default; their `on conflict (id)` still finds the
 * old keys) and views only gain a column at their end. The old single-column keys go in
 * 0007_environment_keys, the contract half, once no replica of that release is left. Adding a
 * column with a constant default rewrites no table; building each index blocks that table's
 * writes (not its reads) for as long as the build takes. No `down`: a release rolled back runs on
 * this schema as it is. Frozen in time: imports nothing from src/.
 */
import { type Kysely, sql } from 'kysely';

/** Every table, with the key (after `environment`) its environment-led unique index covers. */
const KEYS: Record<string, readonly string[]> = {
  connections: ['id'],
  connection_domains: ['id'],
  connection_certificates: ['connection_id', 'certificate_type'],
  organizations: ['id'],
  organization_domains: ['id'],
  events: ['id'],
  sync_state: ['stream'],
  reconciliation_pass_listed: ['connection_id'],
  leases: ['name'],
  reconciliation_runs: ['id'],
};

/** The secondary indexes, led by the environment (0007 drops the ones they replace). */
const INDEXES: Record<string, readonly [table: string, columns: string]> = {
  connections_environment_organization_id_idx: ['connections', 'environment, organization_id'],
  connection_domains_environment_connection_id_idx: ['connection_domains', 'environment, connection_id'],
  connection_domains_environment_domain_idx: ['connection_domains', 'environment, domain'],
  organizations_environment_external_id_idx: ['organizations', 'environment, external_id'],
  organization_domains_environment_organization_id_idx: [
    'organization_domains',
    'environment, organization_id',
  ],
  organization_domains_environment_domain_idx: ['organization_domains', 'environment, lower(domain)'],
  events_environment_created_at_idx: ['events', 'environment, created_at'],
  events_environment_connection_id_idx: [
    'events',
    "environment, coalesce(data->>'id', data->'connection'->>'id')",
  ],
};

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's table types.
export async function up(db: Kysely<any>): Promise<void> {
  for (const [table, key] of Object.entries(KEYS)) {
    await db.schema
      .alterTable(table)
      .addColumn('environment', 'text', (c) => c.notNull().defaultTo('default'))
      .execute();
    await db.schema
      .createIndex(`${table}_environment_key`)
      .unique()
      .on(table)
      .columns(['environment', ...key])
      .execute();
  }
  for (const [name, [table, columns]] of Object.entries(INDEXES)) {
    await db.schema.createIndex(name).on(table).expression(sql.raw(columns)).execute();
  }
  await replaceViews(db);

  // One row per live replica of the worker, whatever its environments: what the environments are
  // spread over. A replica whose heartbeat is older than the fleet's lease period is gone.
  await db.schema
    .createTable('workers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('release', 'text', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('heartbeat_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('environments', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  // WorkOS counts requests per client IP across every environment, so the budget is one for the
  // fleet: a token bucket (tokens left as of `refilled_at`), and the time a 429 asked everyone to
  // wait until.
  await db.schema
    .createTable('request_budget')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('tokens', 'double precision', (c) => c.notNull())
    .addColumn('refilled_at', 'timestamptz', (c) => c.notNull())
    .addColumn('paused_until', 'timestamptz')
    .execute();
}

/**
 * The views, joined within one environment and with `environment` as their last column (a
 * replaced view may only gain columns at its end: the previous release's queries see theirs).
 */
// biome-ignore lint/suspicious/noExplicitAny: see up().
async function replaceViews(db: Kysely<any>): Promise<void> {
  const view = (name: string) => db.schema.createView(name).orReplace();
  await view('live_connections')
    .as(
      db
        .selectFrom('connections')
        .select([
          'id',
          'organization_id',
          'connection_type',
          'name',
          'state',
          'created_at',
          'updated_at',
          'deleted_at',
          'raw',
          'source',
          'last_event_id',
          'synced_at',
          'environment',
        ])
        .where('deleted_at', 'is', null),
    )
    .execute();
  await view('live_connection_domains')
    .as(
      db
        .selectFrom('connection_domains as d')
        .innerJoin('connections as c', (join) =>
          join.onRef('c.environment', '=', 'd.environment').onRef('c.id', '=', 'd.connection_id'),
        )
        .where('c.deleted_at', 'is', null)
        .select(['d.id', 'd.connection_id', 'd.domain', 'c.organization_id', 'c.state', 'd.environment']),
    )
    .execute();
  await view('expiring_certificates')
    .as(
      db
        .selectFrom('connection_certificates as cc')
        .leftJoin('connections as c', (join) =>
          join.onRef('c.environment', '=', 'cc.environment').onRef('c.id', '=', 'cc.connection_id'),
        )
        .where('c.deleted_at', 'is', null)
        .select([
          'cc.connection_id',
          'cc.certificate_type',
          sql`coalesce(cc.organization_id, c.organization_id)`.as('organization_id'),
          'c.name as connection_name',
          'c.state as connection_state',
          'cc.expiry_date',
          sql`cc.expiry_date <= now()`.as('is_expired'),
          sql`floor(extract(epoch from (cc.expiry_date - now())) / 86400)::integer`.as('days_left'),
          'cc.renewed_at',
          'cc.renewal_required_at',
          'cc.source',
          'cc.environment',
        ])
        .orderBy('cc.expiry_date'),
    )
    .execute();
  await view('live_organizations')
    .as(
      db
        .selectFrom('organizations')
        .select([
          'id',
          'name',
          'external_id',
          'created_at',
          'updated_at',
          'deleted_at',
          'raw',
          'source',
          'last_event_id',
          'synced_at',
          'observed_at',
          'environment',
        ])
        .where('deleted_at', 'is', null),
    )
    .execute();
  await view('live_organization_domains')
    .as(
      db
        .selectFrom('organization_domains as d')
        .leftJoin('organizations as o', (join) =>
          join.onRef('o.environment', '=', 'd.environment').onRef('o.id', '=', 'd.organization_id'),
        )
        .where('d.deleted_at', 'is', null)
        .where('o.deleted_at', 'is', null)
        .select([
          'd.id',
          'd.organization_id',
          'o.name as organization_name',
          'd.domain',
          'd.state',
          'd.verification_strategy',
          'd.created_at',
          'd.updated_at',
          'd.environment',
        ]),
    )
    .execute();
  await view('domain_routes')
    .as(
      db
        .selectFrom('organization_domains as d')
        .leftJoin('organizations as o', (join) =>
          join.onRef('o.environment', '=', 'd.environment').onRef('o.id', '=', 'd.organization_id'),
        )
        .leftJoin('connections as c', (join) =>
          join
            .onRef('c.environment', '=', 'd.environment')
            .onRef('c.organization_id', '=', 'd.organization_id')
            .on('c.deleted_at', 'is', null),
        )
        .where('d.deleted_at', 'is', null)
        .where('o.deleted_at', 'is', null)
        .select([
          'd.domain',
          'd.id as domain_id',
          'd.state as domain_state',
          'd.verification_strategy',
          'd.organization_id',
          'o.name as organization_name',
          'c.id as connection_id',
          'c.name as connection_name',
          'c.connection_type',
          'c.state as connection_state',
          'd.environment',
        ]),
    )
    .execute();
}
