/**
 * A complete List Organizations snapshot (each organization with its domains) + the mirror as
 * stored → the drift and the writes that remove it. Pure. The same rules as for connections
 * (`versions.ts`, rules 1, 3 and 5), for organizations and for each domain by its own version:
 * a listed one the mirror lacks is inserted; one that wins with other content is an update, with
 * the same content but a newer `updated_at` it is written too ("touched"); a live row the listing
 * lacks is tombstoned unless rule 5 keeps it. A listed organization that fails validation is
 * never written or deleted, nor are the domains the mirror holds of it (the listing could not
 * say which it has).
 */
import type { ParsedOrganization } from '../../workos/schemas.ts';
import { organizationDomainRow, organizationRow } from '../mirror/organization-row.ts';
import type { OrganizationDomainWrite, OrganizationWrite } from '../mirror/rows.ts';
import { reconciliationDeletes, versionTakes } from '../mirror/versions.ts';
import type { Drift, UpsertKind } from './plan.ts';

export interface ListedOrganization {
  readonly organization: ParsedOrganization;
  /** As listed, less its verification tokens (`redact.ts`). */
  readonly raw: unknown;
}

export interface OrganizationListing {
  readonly organizations: readonly ListedOrganization[];
  readonly invalidIds: ReadonlySet<string>;
  readonly invalid: number;
}

interface Stored {
  readonly id: string;
  readonly updated_at: Date;
  readonly deleted_at: Date | null;
  readonly observed_at: Date | null;
  readonly source: 'event' | 'listing';
  /** Last written after the listing began (decided by the database: `versions.ts`, rule 5). */
  readonly writtenSinceListingBegan: boolean;
}

export interface StoredOrganization extends Stored {
  readonly name: string;
  readonly external_id: string | null;
}

export interface StoredDomain extends Stored {
  readonly organization_id: string;
  readonly domain: string;
  readonly state: string | null;
  readonly verification_strategy: string | null;
}

export interface EntityCounts {
  seen: number;
  inserted: number;
  updated: number;
  deleted: number;
}

export interface OrganizationPlan {
  readonly organizations: readonly { readonly row: OrganizationWrite; readonly kind: UpsertKind }[];
  readonly domains: readonly { readonly row: OrganizationDomainWrite; readonly kind: UpsertKind }[];
  readonly organizationDeletions: readonly string[];
  readonly domainDeletions: readonly string[];
  readonly drift: readonly Drift[];
  readonly counts: { readonly organizations: EntityCounts; readonly domains: EntityCounts };
}

export function planOrganizations(
  listing: OrganizationListing,
  storedOrganizations: ReadonlyMap<string, StoredOrganization>,
  storedDomains: ReadonlyMap<string, StoredDomain>,
  /** The listing's time: when WorkOS was seen so. */
  listedAt: Date,
): OrganizationPlan {
  const organizations: OrganizationPlan['organizations'][number][] = [];
  const domains: OrganizationPlan['domains'][number][] = [];
  const drift: Drift[] = [];
  const counts = {
    organizations: {
      seen: listing.organizations.length + listing.invalid,
      inserted: 0,
      updated: 0,
      deleted: 0,
    },
    domains: { seen: 0, inserted: 0, updated: 0, deleted: 0 },
  };
  const listedOrganizations = new Set(listing.invalidIds);
  const listedDomains = new Set<string>();

  for (const { organization: o, raw } of listing.organizations) {
    listedOrganizations.add(o.id);
    const row = organizationRow(o, raw, { deleted_at: null, last_event_id: null, observed_at: listedAt });
    const kind = upsertKind(storedOrganizations.get(o.id), row, organizationDifferences);
    if (kind) {
      organizations.push({ row, kind: kind.kind });
      if (kind.kind !== 'touched') {
        drift.push({
          entity: 'organization',
          kind: kind.kind,
          id: o.id,
          name: o.name,
          changes: kind.changes,
        });
        counts.organizations[kind.kind]++;
      }
    }
    for (const d of o.domains ?? []) {
      counts.domains.seen++;
      listedDomains.add(d.id);
      const domain = organizationDomainRow(d, o.id, {
        deleted_at: null,
        last_event_id: null,
        observed_at: listedAt,
      });
      const domainKind = upsertKind(storedDomains.get(d.id), domain, domainDifferences);
      if (!domainKind) continue;
      domains.push({ row: domain, kind: domainKind.kind });
      if (domainKind.kind === 'touched') continue;
      drift.push({
        entity: 'domain',
        kind: domainKind.kind,
        id: d.id,
        name: d.domain,
        changes: domainKind.changes,
      });
      counts.domains[domainKind.kind]++;
    }
  }

  const organizationDeletions: string[] = [];
  for (const stored of storedOrganizations.values()) {
    if (listedOrganizations.has(stored.id) || !reconciliationDeletes(stored)) continue;
    organizationDeletions.push(stored.id);
    drift.push({ entity: 'organization', kind: 'deleted', id: stored.id, name: stored.name, changes: [] });
    counts.organizations.deleted++;
  }
  const domainDeletions: string[] = [];
  for (const stored of storedDomains.values()) {
    if (listedDomains.has(stored.id) || listing.invalidIds.has(stored.organization_id)) continue;
    if (!reconciliationDeletes(stored)) continue;
    domainDeletions.push(stored.id);
    drift.push({ entity: 'domain', kind: 'deleted', id: stored.id, name: stored.domain, changes: [] });
    counts.domains.deleted++;
  }
  return { organizations, domains, organizationDeletions, domainDeletions, drift, counts };
}

/** Rules 1 and 3, then what kind of write a winning listed version is; none when it loses or changes nothing. */
function upsertKind<S extends Stored, R extends { readonly updated_at: Date; readonly observed_at: Date }>(
  stored: S | undefined,
  row: R,
  differences: (stored: S, row: R) => string[],
): { readonly kind: UpsertKind; readonly changes: string[] } | null {
  if (!stored) return { kind: 'inserted', changes: [] };
  if (!versionTakes(stored, row, 'listing')) return null;
  const changes = differences(stored, row);
  if (stored.deleted_at) changes.unshift('restored: listed again after its deletion');
  if (changes.length > 0) return { kind: 'updated', changes };
  return row.updated_at > stored.updated_at ? { kind: 'touched', changes } : null;
}

function organizationDifferences(stored: StoredOrganization, row: OrganizationWrite): string[] {
  return (['name', 'external_id'] as const)
    .filter((f) => stored[f] !== row[f])
    .map((f) => `${f}: ${stored[f]} → ${row[f]}`);
}

function domainDifferences(stored: StoredDomain, row: OrganizationDomainWrite): string[] {
  return (['domain', 'state', 'verification_strategy', 'organization_id'] as const)
    .filter((f) => stored[f] !== row[f])
    .map((f) => `${f}: ${stored[f]} → ${row[f]}`);
}
