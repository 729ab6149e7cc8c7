/**
 * Organizations and their domains, which decide a connection's domains; the routing view from a
 * domain to the live connections of its organization; what reconciliation found of both. Only
 * additions, so the previous release's replicas run unchanged beside it during a rolling upgrade
 * (they neither read nor write any of this). Frozen in time: imports nothing from src/.
 */
import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's table types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('organizations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text')
    .addColumn('created_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('deleted_at', 'timestamptz')
    .addColumn('raw', 'jsonb', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('last_event_id', 'text')
    .addColumn('synced_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
    .addColumn('observed_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('organizations_external_id_idx')
    .on('organizations')
    .column('external_id')
    .execute();

  // No foreign key to organizations: a domain event may arrive before its organization's.
  await db.schema
    .createTable('organization_domains')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('domain', 'text', (c) => c.notNull())
    .addColumn('state', 'text')
    .addColumn('verification_strategy', 'text')
    .addColumn('created_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('deleted_at', 'timestamptz')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('last_event_id', 'text')
    .addColumn('synced_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
    .addColumn('observed_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('organization_domains_organization_id_idx')
    .on('organization_domains')
    .column('organization_id')
    .execute();
  await db.schema
    .createIndex('organization_domains_domain_idx')
    .on('organization_domains')
    .expression(sql`lower(domain)`)
    .execute();

  // When WorkOS was seen in the state a row holds (WorkOS's clock): what breaks a tie of versions.
  // Null for rows written before it existed, or by the previous release during a rolling upgrade.
  await db.schema.alterTable('connections').addColumn('observed_at', 'timestamptz').execute();

  await db.schema
    .alterTable('reconciliation_runs')
    .addColumn('organizations_listed', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('organizations_seen', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('organizations_inserted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('organizations_updated', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('organizations_deleted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('domains_seen', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('domains_inserted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('domains_updated', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('domains_deleted', 'integer', (c) => c.notNull().defaultTo(0))
    // WorkOS's clock as it served the first page, for a run that listed every connection itself.
    .addColumn('listed_at', 'timestamptz')
    .execute();

  await db.schema
    .createView('live_organizations')
    .as(db.selectFrom('organizations').selectAll().where('deleted_at', 'is', null))
    .execute();
  // A domain whose organization the mirror has not seen yet is live; one of a deleted organization is not.
  await db.schema
    .createView('live_organization_domains')
    .as(
      db
        .selectFrom('organization_domains as d')
        .leftJoin('organizations as o', 'o.id', 'd.organization_id')
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
        ]),
    )
    .execute();
  // Which connections serve a domain: those of the organization that owns it (a connection's
  // domains are its organization's), one row per live connection, or one with no connection.
  await db.schema
    .createView('domain_routes')
    .as(
      db
        .selectFrom('organization_domains as d')
        .leftJoin('organizations as o', 'o.id', 'd.organization_id')
        .leftJoin('connections as c', (join) =>
          join.onRef('c.organization_id', '=', 'd.organization_id').on('c.deleted_at', 'is', null),
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
        ]),
    )
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up().
export async function down(db: Kysely<any>): Promise<void> {
  for (const view of ['domain_routes', 'live_organization_domains', 'live_organizations']) {
    await db.schema.dropView(view).ifExists().execute();
  }
  await db.schema
    .alterTable('reconciliation_runs')
    .dropColumn('organizations_listed')
    .dropColumn('organizations_seen')
    .dropColumn('organizations_inserted')
    .dropColumn('organizations_updated')
    .dropColumn('organizations_deleted')
    .dropColumn('domains_seen')
    .dropColumn('domains_inserted')
    .dropColumn('domains_updated')
    .dropColumn('domains_deleted')
    .dropColumn('listed_at')
    .execute();
  await db.schema.alterTable('connections').dropColumn('observed_at').execute();
  await db.schema.dropTable('organization_domains').ifExists().execute();
  await db.schema.dropTable('organizations').ifExists().execute();
}
