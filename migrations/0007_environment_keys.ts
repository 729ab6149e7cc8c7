/**
 * Many WorkOS environments in one set of tables, the contract half: every primary key is led by
 * the environment, the single-column keys and indexes 0006 replaced are dropped, and `environment`
 * loses its default, so a statement that does not name its environment fails instead of landing
 * in `default`. That is also the fence against the release before 0006: each of its writes (a
 * lease, an event, a run) leaves `environment` out and is refused. So this runs only once no
 * replica of that release is left (`contract`: `migrate --finalize`, or a fresh schema), and it
 * checks: a lease still held by a holder that is not a registered worker stops it; expired ones
 * are cleared, so such a holder waking up later cannot renew them. Frozen in time: imports
 * nothing from src/.
 */
import { type Kysely, sql } from 'kysely';

/** Applied by `migrate` only when asked to finalize, or on a schema created by the same run. */
export const contract = true;

const KEYS: Record<string, readonly string[]> = {
  leases: ['name'],
  connections: ['id'],
  connection_domains: ['id'],
  organizations: ['id'],
  organization_domains: ['id'],
  events: ['id'],
  sync_state: ['stream'],
  reconciliation_pass_listed: ['connection_id'],
};

const REPLACED_INDEXES = [
  'connections_organization_id_idx',
  'connection_domains_connection_id_idx',
  'connection_domains_domain_idx',
  'organizations_external_id_idx',
  'organization_domains_organization_id_idx',
  'organization_domains_domain_idx',
  'events_created_at_idx',
  'events_connection_id_idx',
];

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's table types.
export async function up(db: Kysely<any>): Promise<void> {
  // `leases` first: its ACCESS EXCLUSIVE lock, held to commit, keeps any holder from taking a
  // lease between the check below and the end of this migration.
  for (const [table, key] of Object.entries(KEYS)) {
    await db.schema.alterTable(table).dropConstraint(`${table}_pkey`).execute();
    await db.schema
      .alterTable(table)
      .addPrimaryKeyConstraint(`${table}_pkey`, ['environment', ...key])
      .execute();
    await db.schema.dropIndex(`${table}_environment_key`).execute();
    if (table === 'leases') await refuseWhilePreviousReleaseHolds(db);
  }
  await db.schema
    .alterTable('connection_certificates')
    .dropConstraint('connection_certificates_pk')
    .execute();
  await db.schema
    .alterTable('connection_certificates')
    .addPrimaryKeyConstraint('connection_certificates_pk', [
      'environment',
      'connection_id',
      'certificate_type',
    ])
    .execute();
  await db.schema.dropIndex('connection_certificates_environment_key').execute();
  for (const index of REPLACED_INDEXES) await db.schema.dropIndex(index).execute();
  for (const table of [...Object.keys(KEYS), 'connection_certificates', 'reconciliation_runs']) {
    await db.schema
      .alterTable(table)
      .alterColumn('environment', (c) => c.dropDefault())
      .execute();
  }
}

// biome-ignore lint/suspicious/noExplicitAny: see up().
async function refuseWhilePreviousReleaseHolds(db: Kysely<any>): Promise<void> {
  const unregistered = (eb: any) =>
    eb.not(eb.exists(eb.selectFrom('workers').select('id').whereRef('workers.id', '=', 'leases.holder')));
  const held = await db
    .selectFrom('leases')
    .select(['name', 'holder', 'expires_at'])
    .where(unregistered)
    .where('expires_at', '>', sql<Date>`now()`)
    .execute();
  if (held.length > 0) {
    const who = held.map(
      (l) => `${l.name} (holder ${l.holder}, until ${new Date(l.expires_at).toISOString()})`,
    );
    throw new Error(
      `a replica that is not a registered worker, likely the previous release, holds the lease ${who.join(', ')}: stop every replica of that release, then finalize again`,
    );
  }
  await db.deleteFrom('leases').where(unregistered).execute();
}
