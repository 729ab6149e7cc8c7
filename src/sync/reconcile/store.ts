/**
 * Reconciliation's reads and writes. The writes run in one transaction and carry the guards of
 * `versions.ts`, so a row the poller changed between our read and our write is never rolled back;
 * each statement reports the rows it took, and only those count (and get their domains replaced).
 */
import type { Kysely, Transaction } from 'kysely';
import type { DatabaseInstant } from '../../db/clock.ts';
import { toJsonb } from '../../db/json.ts';
import { statementChunks } from '../../db/statement-chunks.ts';
import type { Database } from '../../db/tables.ts';
import { takeIncomingCertificate } from '../mirror/certificate-row.ts';
import { replaceDomains, takeIncomingConnection } from '../mirror/connection-row.ts';
import type { CertificateState, DomainWrite } from '../mirror/rows.ts';
import { LISTED_CERTIFICATE } from '../mirror/signing-cert.ts';
import {
  CERTIFICATE_GUARD,
  reconciliationDeletionGuard,
  tombstoneTime,
  versionGuard,
  writtenNow,
  writtenSince,
} from '../mirror/versions.ts';
import type { ReconciliationPlan, StoredConnection, UpsertKind } from './plan.ts';

/** Rows per statement: bounds one statement's size and time (well under the parameter limit). */
const CHUNK = 1000;

/**
 * The stored connections a listing is compared with: every one, or (a refresh) one
 * organization's and those listed under it. Not locked: the writes carry their guards.
 */
export async function loadStoredConnections(
  db: Kysely<Database>,
  listingBegan: DatabaseInstant,
  scope?: { readonly organizationId: string; readonly listed: readonly string[] },
): Promise<Map<string, StoredConnection>> {
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
      'observed_at',
      'source',
      writtenSince(listingBegan).as('writtenSinceListingBegan'),
    ])
    .$if(scope !== undefined, (q) =>
      q.where((eb) =>
        eb.or([
          eb('organization_id', '=', scope!.organizationId),
          eb('id', '=', eb.fn.any(eb.val([...scope!.listed]))),
        ]),
      ),
    )
    .execute();
  const domains = new Map<string, string[]>();
  for (const d of await db
    .selectFrom('connection_domains')
    .select(['id', 'connection_id', 'domain'])
    .$if(scope !== undefined, (q) =>
      q.where('connection_id', '=', (eb) => eb.fn.any(eb.val(rows.map((r) => r.id)))),
    )
    .execute()) {
    const list = domains.get(d.connection_id) ?? [];
    list.push(`${d.id}=${d.domain}`);
    domains.set(d.connection_id, list);
  }
  return new Map(rows.map((r) => [r.id, { ...r, domains: (domains.get(r.id) ?? []).sort() }]));
}

export async function loadStoredSigningCertificates(
  db: Kysely<Database>,
  connectionIds?: readonly string[],
): Promise<Map<string, CertificateState>> {
  const rows = await db
    .selectFrom('connection_certificates')
    .selectAll()
    .where('certificate_type', '=', LISTED_CERTIFICATE)
    .$if(connectionIds !== undefined, (q) =>
      q.where('connection_id', '=', (eb) => eb.fn.any(eb.val([...connectionIds!]))),
    )
    .execute();
  return new Map(rows.map((r) => [r.connection_id, r]));
}

export type WrittenCounts = Record<UpsertKind | 'deleted' | 'certificatesUpdated', number>;

/**
 * Applies the plan; returns how many rows each kind of write really changed, the ids of the
 * connections it really upserted or deleted, and of those whose listed certificate it wrote.
 */
export async function writeReconciliation(
  trx: Transaction<Database>,
  plan: ReconciliationPlan,
  listing: {
    readonly began: DatabaseInstant;
    readonly at: Date;
    /** A listing of this organization's connections only: its deletions reach no other (rule 5). */
    readonly organizationId?: string | undefined;
  },
): Promise<{
  readonly counts: WrittenCounts;
  readonly written: ReadonlySet<string>;
  readonly certificates: ReadonlySet<string>;
}> {
  const counts: WrittenCounts = { inserted: 0, updated: 0, touched: 0, deleted: 0, certificatesUpdated: 0 };
  const written = new Set<string>();
  const certificates = new Set<string>();
  const upserted = new Map<string, { readonly kind: UpsertKind; readonly domains: readonly DomainWrite[] }>();
  for (const chunk of statementChunks(plan.upserts, 11, CHUNK)) {
    const taken = await trx
      .insertInto('connections')
      .values(chunk.map(({ row }) => ({ ...row, raw: toJsonb(row.raw), source: 'listing' as const })))
      .onConflict((oc) =>
        oc.column('id').doUpdateSet(takeIncomingConnection()).where(versionGuard('connections', 'listing')),
      )
      .returning('id')
      .execute();
    const ids = new Set(taken.map((r) => r.id));
    for (const upsert of chunk) if (ids.has(upsert.row.id)) upserted.set(upsert.row.id, upsert);
  }
  await replaceDomains(trx, new Map([...upserted].map(([id, { domains }]) => [id, domains])), CHUNK);
  for (const [id, { kind }] of upserted) {
    counts[kind]++;
    written.add(id);
  }

  for (const ids of statementChunks(plan.deletions, 1, CHUNK)) {
    const taken = await trx
      .updateTable('connections')
      .set({
        deleted_at: tombstoneTime(listing.at),
        source: 'listing',
        synced_at: writtenNow(),
      })
      .where('id', 'in', ids)
      .where(reconciliationDeletionGuard(listing.began, listing.organizationId))
      .returning('id')
      .execute();
    counts.deleted += taken.length;
    for (const { id } of taken) written.add(id);
  }

  for (const chunk of statementChunks(plan.certificates, 14, CHUNK)) {
    const taken = await trx
      .insertInto('connection_certificates')
      .values(chunk.map((c) => ({ ...c })))
      .onConflict((oc) =>
        oc
          .columns(['connection_id', 'certificate_type'])
          .doUpdateSet(takeIncomingCertificate({ notices: false }))
          .where(CERTIFICATE_GUARD),
      )
      .returning('connection_id')
      .execute();
    counts.certificatesUpdated += taken.length;
    for (const { connection_id } of taken) certificates.add(connection_id);
  }
  return { counts, written, certificates };
}
