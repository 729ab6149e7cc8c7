/**
 * The initial schema. Frozen in time: it imports nothing from src/, and it is never edited once
 * released — a change is a new migration. `db` is already bound to the configured schema.
 */
import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's table types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('connections')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text')
    .addColumn('connection_type', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('deleted_at', 'timestamptz')
    .addColumn('raw', 'jsonb', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('last_event_id', 'text')
    .addColumn('synced_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
    .execute();
  await db.schema
    .createIndex('connections_organization_id_idx')
    .on('connections')
    .column('organization_id')
    .execute();

  await db.schema
    .createTable('connection_domains')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('connection_id', 'text', (c) => c.notNull())
    .addColumn('domain', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('connection_domains_connection_id_idx')
    .on('connection_domains')
    .column('connection_id')
    .execute();
  await db.schema
    .createIndex('connection_domains_domain_idx')
    .on('connection_domains')
    .column('domain')
    .execute();

  // No foreign key to connections: a certificate event may arrive for a connection this mirror
  // has not seen yet, and it must still be recorded.
  await db.schema
    .createTable('connection_certificates')
    .addColumn('connection_id', 'text', (c) => c.notNull())
    .addColumn('certificate_type', 'text', (c) => c.notNull())
    .addColumn('organization_id', 'text')
    .addColumn('expiry_date', 'timestamptz', (c) => c.notNull())
    .addColumn('is_expired', 'boolean')
    .addColumn('days_until_expiry', 'integer')
    .addColumn('renewed_at', 'timestamptz')
    .addColumn('renewal_required_at', 'timestamptz')
    .addColumn('version_at', 'timestamptz', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('last_event_id', 'text')
    .addColumn('synced_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
    .addPrimaryKeyConstraint('connection_certificates_pk', ['connection_id', 'certificate_type'])
    .execute();

  await db.schema
    .createTable('events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('seq', 'bigserial', (c) => c.notNull().unique())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz')
    .addColumn('data', 'jsonb')
    .addColumn('context', 'jsonb')
    .addColumn('outcome', 'text', (c) =>
      c.notNull().check(sql`outcome in ('applied', 'stale', 'ignored', 'quarantined')`),
    )
    .addColumn('error', 'text')
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
    .execute();
  await db.schema.createIndex('events_created_at_idx').on('events').column('created_at').execute();
  await db.schema
    .createIndex('events_connection_id_idx')
    .on('events')
    .expression(sql`coalesce(data->>'id', data->'connection'->>'id')`)
    .execute();

  await db.schema
    .createTable('reconciliation_runs')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    .addColumn('finished_at', 'timestamptz')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('dry_run', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('seen', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('inserted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('unchanged', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .execute();

  // One row per stream; `cursor` is the last event id the Events API returned and we committed.
  await db.schema
    .createTable('sync_state')
    .addColumn('stream', 'text', (c) => c.primaryKey())
    .addColumn('cursor', 'text')
    .addColumn('cursor_updated_at', 'timestamptz')
    .addColumn('last_event_created_at', 'timestamptz')
    .addColumn('last_poll_at', 'timestamptz')
    .addColumn('last_poll_error', 'text')
    .addColumn('caught_up_at', 'timestamptz')
    .execute();
  await db.insertInto('sync_state').values({ stream: 'events' }).execute();

  await db.schema
    .createTable('leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('acquired_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();

  await db.schema
    .createView('live_connections')
    .as(db.selectFrom('connections').selectAll().where('deleted_at', 'is', null))
    .execute();
  await db.schema
    .createView('live_connection_domains')
    .as(
      db
        .selectFrom('connection_domains as d')
        .innerJoin('connections as c', 'c.id', 'd.connection_id')
        .where('c.deleted_at', 'is', null)
        .select(['d.id', 'd.connection_id', 'd.domain', 'c.organization_id', 'c.state']),
    )
    .execute();
  // Certificates of connections that are not known to be deleted, with the days left counted
  // from now (the stored days_until_expiry is as of the event that reported it).
  await db.schema
    .createView('expiring_certificates')
    .as(
      db
        .selectFrom('connection_certificates as cc')
        .leftJoin('connections as c', 'c.id', 'cc.connection_id')
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
        ])
        .orderBy('cc.expiry_date'),
    )
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up().
export async function down(db: Kysely<any>): Promise<void> {
  for (const view of ['expiring_certificates', 'live_connection_domains', 'live_connections']) {
    await db.schema.dropView(view).ifExists().execute();
  }
  for (const table of [
    'leases',
    'sync_state',
    'reconciliation_runs',
    'events',
    'connection_certificates',
    'connection_domains',
    'connections',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
