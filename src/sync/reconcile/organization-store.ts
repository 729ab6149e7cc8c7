/**
 * Reconciliation's reads and writes of organizations and their domains. The writes carry the
 * guards of `versions.ts`, so a row the poller changed between our read and our write is never
 * rolled back; each statement reports the rows it took, and only those count.
 */
import type { Kysely, Transaction } from 'kysely';
import type { DatabaseInstant } from '../../db/clock.ts';
import { toJsonb } from '../../db/json.ts';
import { statementChunks } from '../../db/statement-chunks.ts';
import type { Database } from '../../db/tables.ts';
import { takeIncomingOrganization, takeIncomingOrganizationDomain } from '../mirror/organization-row.ts';
import {
  reconciliationDeletionGuard,
  tombstoneTime,
  versionGuard,
  writtenNow,
  writtenSince,
} from '../mirror/versions.ts';
import type {
  EntityCounts,
  OrganizationPlan,
  StoredDomain,
  StoredOrganization,
} from './plan-organizations.ts';

/** Rows per statement: bounds one statement's size and time (well under the parameter limit). */
const CHUNK = 1000;

export async function loadStoredOrganizations(
  db: Kysely<Database>,
  listingBegan: DatabaseInstant,
): Promise<Map<string, StoredOrganization>> {
  const rows = await db
    .selectFrom('organizations')
    .select([
      'id',
      'name',
      'external_id',
      'updated_at',
      'deleted_at',
      'observed_at',
      'source',
      writtenSince(listingBegan).as('writtenSinceListingBegan'),
    ])
    .execute();
  return new Map(rows.map((r) => [r.id, r]));
}

export async function loadStoredDomains(
  db: Kysely<Database>,
  listingBegan: DatabaseInstant,
): Promise<Map<string, StoredDomain>> {
  const rows = await db
    .selectFrom('organization_domains')
    .select([
      'id',
      'organization_id',
      'domain',
      'state',
      'verification_strategy',
      'updated_at',
      'deleted_at',
      'observed_at',
      'source',
      writtenSince(listingBegan).as('writtenSinceListingBegan'),
    ])
    .execute();
  return new Map(rows.map((r) => [r.id, r]));
}

export type WrittenOrganizationCounts = Record<'organizations' | 'domains', Omit<EntityCounts, 'seen'>>;

export interface WrittenOrganizations {
  readonly counts: WrittenOrganizationCounts;
  readonly organizations: ReadonlySet<string>;
  readonly domains: ReadonlySet<string>;
  /** Organizations whose row or a domain of which was written. */
  readonly touched: ReadonlySet<string>;
}

/** Applies the plan; returns what each kind of write really changed, and which rows. */
export async function writeOrganizations(
  trx: Transaction<Database>,
  plan: OrganizationPlan,
  listing: { readonly began: DatabaseInstant; readonly at: Date },
): Promise<WrittenOrganizations> {
  const counts: WrittenOrganizationCounts = {
    organizations: { inserted: 0, updated: 0, deleted: 0 },
    domains: { inserted: 0, updated: 0, deleted: 0 },
  };
  const organizations = new Set<string>();
  const domains = new Set<string>();
  const touched = new Set<string>();

  for (const chunk of statementChunks(plan.organizations, 10, CHUNK)) {
    const taken = await trx
      .insertInto('organizations')
      .values(chunk.map(({ row }) => ({ ...row, raw: toJsonb(row.raw), source: 'listing' as const })))
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet(takeIncomingOrganization())
          .where(versionGuard('organizations', 'listing')),
      )
      .returning('id')
      .execute();
    const ids = new Set(taken.map((r) => r.id));
    for (const { row, kind } of chunk) {
      if (!ids.has(row.id)) continue;
      organizations.add(row.id);
      touched.add(row.id);
      if (kind !== 'touched') counts.organizations[kind]++;
    }
  }
  for (const chunk of statementChunks(plan.domains, 11, CHUNK)) {
    const taken = await trx
      .insertInto('organization_domains')
      .values(chunk.map(({ row }) => ({ ...row, source: 'listing' as const })))
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet(takeIncomingOrganizationDomain())
          .where(versionGuard('organization_domains', 'listing')),
      )
      .returning(['id', 'organization_id'])
      .execute();
    const ids = new Set(taken.map((r) => r.id));
    for (const { row, kind } of chunk) {
      if (!ids.has(row.id)) continue;
      domains.add(row.id);
      touched.add(row.organization_id);
      if (kind !== 'touched') counts.domains[kind]++;
    }
  }

  for (const ids of statementChunks(plan.organizationDeletions, 1, CHUNK)) {
    const taken = await trx
      .updateTable('organizations')
      .set({ deleted_at: tombstoneTime(listing.at), source: 'listing', synced_at: writtenNow() })
      .where('id', 'in', ids)
      .where(reconciliationDeletionGuard(listing.began))
      .returning('id')
      .execute();
    counts.organizations.deleted += taken.length;
    for (const { id } of taken) {
      organizations.add(id);
      touched.add(id);
    }
  }
  for (const ids of statementChunks(plan.domainDeletions, 1, CHUNK)) {
    const taken = await trx
      .updateTable('organization_domains')
      .set({ deleted_at: tombstoneTime(listing.at), source: 'listing', synced_at: writtenNow() })
      .where('id', 'in', ids)
      .where(reconciliationDeletionGuard(listing.began))
      .returning(['id', 'organization_id'])
      .execute();
    counts.domains.deleted += taken.length;
    for (const { id, organization_id } of taken) {
      domains.add(id);
      touched.add(organization_id);
    }
  }
  return { counts, organizations, domains, touched };
}
