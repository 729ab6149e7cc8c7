/**
 * Reconciliation's reads and writes. The writes run in one transaction and keep their guards in
 * SQL, so a row the poller changes between our read and our write is never rolled back:
 * updates need `updated_at` >= the stored one (and newer than a deletion), deletions need the
 * row to be live and last written before the snapshot began.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import { toJsonb } from '../../db/json.ts';
import type { Database } from '../../db/tables.ts';
import { takeIncomingCertificate } from '../certificate-row.ts';
import { takeIncomingConnection } from '../connection-row.ts';
import type { CertificateState } from '../mirror.ts';
import type { ReconciliationPlan, StoredConnection } from './plan.ts';

const CHUNK = 1000;

export async function loadStoredConnections(db: Kysely<Database>): Promise<Map<string, StoredConnection>> {
  const rows = await db
    .selectFrom('connections')
    .select([
      'id',
      'organization_id',
      'connection_type',
      'name',
      'state',
      'updated_at',
      'deleted_at',
      'synced_at',
    ])
    .execute();
  const domains = new Map<string, string[]>();
  for (const d of await db
    .selectFrom('connection_domains')
    .select(['id', 'connection_id', 'domain'])
    .execute()) {
    const list = domains.get(d.connection_id) ?? [];
    list.push(`${d.id}=${d.domain}`);
    domains.set(d.connection_id, list);
  }
  return new Map(rows.map((r) => [r.id, { ...r, domains: (domains.get(r.id) ?? []).sort() }]));
}

export async function loadStoredSigningCertificates(
  db: Kysely<Database>,
): Promise<Map<string, CertificateState>> {
  const rows = await db
    .selectFrom('connection_certificates')
    .selectAll()
    .where('certificate_type', '=', 'ResponseSigning')
    .execute();
  return new Map(rows.map((r) => [r.connection_id, r]));
}

/** Applies the plan; returns how many rows each kind of write really changed. */
export async function writeReconciliation(
  trx: Transaction<Database>,
  plan: ReconciliationPlan,
  startedAt: Date,
): Promise<{ inserted: number; updated: number; deleted: number; certificatesUpdated: number }> {
  const written = new Set<string>();
  for (const chunk of chunks(plan.upserts)) {
    const rows = await trx
      .insertInto('connections')
      .values(chunk.map(({ row }) => ({ ...row, raw: toJsonb(row.raw), source: 'listing' as const })))
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet(takeIncomingConnection())
          .where((eb) =>
            eb.or([
              eb.and([
                eb('connections.deleted_at', 'is', null),
                eb('connections.updated_at', '<=', eb.ref('excluded.updated_at')),
              ]),
              eb('connections.deleted_at', '<', eb.ref('excluded.updated_at')),
            ]),
          ),
      )
      .returning('id')
      .execute();
    const ids = rows.map((r) => r.id);
    for (const id of ids) written.add(id);
    if (ids.length > 0)
      await trx.deleteFrom('connection_domains').where('connection_id', 'in', ids).execute();
    const domains = chunk
      .filter(({ row }) => written.has(row.id))
      .flatMap(({ row, domains }) => domains.map((d) => ({ ...d, connection_id: row.id })));
    for (const part of chunks(domains)) {
      await trx
        .insertInto('connection_domains')
        .values(part)
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) => ({
            connection_id: eb.ref('excluded.connection_id'),
            domain: eb.ref('excluded.domain'),
          })),
        )
        .execute();
    }
  }

  let deleted = 0;
  for (const ids of chunks(plan.deletions)) {
    const rows = await trx
      .updateTable('connections')
      .set({ deleted_at: startedAt, source: 'listing', synced_at: sql<Date>`clock_timestamp()` })
      .where('id', 'in', ids)
      .where('deleted_at', 'is', null)
      .where('synced_at', '<=', startedAt)
      .returning('id')
      .execute();
    deleted += rows.length;
  }

  let certificatesUpdated = 0;
  for (const chunk of chunks(plan.certificates)) {
    const rows = await trx
      .insertInto('connection_certificates')
      .values(chunk.map((c) => ({ ...c })))
      .onConflict((oc) =>
        oc
          .columns(['connection_id', 'certificate_type'])
          .doUpdateSet(takeIncomingCertificate({ notices: false }))
          .where('connection_certificates.version_at', '<=', (eb) => eb.ref('excluded.version_at')),
      )
      .returning('connection_id')
      .execute();
    certificatesUpdated += rows.length;
  }

  const kindOf = new Map(plan.upserts.map((u) => [u.row.id, u.kind]));
  let inserted = 0;
  let updated = 0;
  for (const id of written) kindOf.get(id) === 'inserted' ? inserted++ : updated++;
  return { inserted, updated, deleted, certificatesUpdated };
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}
