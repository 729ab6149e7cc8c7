/**
 * A complete List Connections snapshot + the mirror as stored → the drift and the writes that
 * remove it. Pure.
 *
 * Which version wins is `versions.ts` (rules 1, 3, 5 and 6). On top of it (DESIGN.md invariant 7):
 * - a listed connection the mirror lacks is inserted;
 * - a listed version that wins and whose content differs is an update (renames, state and domain
 *   changes emit no event); one that wins with the same content but a newer `updated_at` is
 *   written too ("touched"), so the stored version never lags WorkOS's and the older events
 *   replayed after it are stale instead of flipping the row back through superseded states;
 * - a live row the listing lacks is marked deleted, at the listing's time, unless rule 5 keeps it;
 * - a listed connection that fails validation is counted, never written, never deleted;
 * - the listed `ResponseSigning` certificate is versioned at the listing's time (rule 6).
 */
import type { ParsedConnection } from '../../workos/schemas.ts';
import { connectionRow, domainsOf } from '../mirror/connection-row.ts';
import { type CertificateState, type ConnectionWrite, type DomainWrite, sameExpiry } from '../mirror/rows.ts';
import {
  LISTED_CERTIFICATE,
  readSigningCertificate,
  type SigningCertificateResult,
} from '../mirror/signing-cert.ts';
import { certificateTakes, reconciliationDeletes, versionTakes } from '../mirror/versions.ts';

export interface ListedConnection {
  readonly connection: ParsedConnection;
  readonly raw: unknown;
  /** `options` as listed: its `signing_cert` is read while planning, against the stored one. */
  readonly options: unknown;
}

export interface Listing {
  readonly connections: readonly ListedConnection[];
  /** Ids of listed items that failed validation: they exist, so they are never deleted. */
  readonly invalidIds: ReadonlySet<string>;
  readonly invalid: number;
  /** WorkOS's clock when it served the first page; null when it did not say (no `Date` header). */
  readonly listedAt: Date | null;
}

export interface StoredConnection {
  readonly id: string;
  readonly organization_id: string | null;
  readonly connection_type: string;
  readonly name: string;
  readonly state: string;
  readonly updated_at: Date;
  readonly deleted_at: Date | null;
  readonly observed_at: Date | null;
  readonly source: 'event' | 'listing';
  /** Last written after the listing began (decided by the database: `versions.ts`, rule 5). */
  readonly writtenSinceListingBegan: boolean;
  /** `id=domain` pairs, sorted. */
  readonly domains: readonly string[];
}

export type DriftKind = 'inserted' | 'updated' | 'deleted';

export interface Drift {
  /** What drifted; its id says so too (`conn_…`, `org_…`, `org_domain_…`). */
  readonly entity: 'connection' | 'organization' | 'domain';
  readonly kind: DriftKind;
  readonly id: string;
  readonly name: string;
  /** What differs, for an update: `state: active → inactive`. */
  readonly changes: readonly string[];
}

export type UpsertKind = 'inserted' | 'updated' | 'touched';

export interface ReconciliationPlan {
  readonly upserts: readonly {
    readonly row: ConnectionWrite;
    readonly domains: readonly DomainWrite[];
    readonly kind: UpsertKind;
  }[];
  readonly deletions: readonly string[];
  readonly certificates: readonly CertificateState[];
  readonly drift: readonly Drift[];
  readonly counts: ReconciliationCounts;
}

export interface ReconciliationCounts {
  seen: number;
  inserted: number;
  updated: number;
  /** Written only to advance the stored version: same content, newer `updated_at`. */
  touched: number;
  deleted: number;
  unchanged: number;
  invalid: number;
  certificatesUpdated: number;
  certificatesUnparsable: number;
}

/**
 * What part of the listing a run saw: all of it, or (a bounded pass, `pass.ts`) some pages, of
 * which the last run also saw the end. Deletions need the end; they spare what earlier runs listed.
 */
export interface ListingScope {
  readonly reachedEnd: boolean;
  readonly listedEarlier: ReadonlySet<string>;
}

const WHOLE_LISTING: ListingScope = { reachedEnd: true, listedEarlier: new Set() };

export function planReconciliation(
  listing: Listing,
  stored: ReadonlyMap<string, StoredConnection>,
  storedCertificates: ReadonlyMap<string, CertificateState>,
  listedAt: Date,
  scope: ListingScope = WHOLE_LISTING,
): ReconciliationPlan {
  const upserts: ReconciliationPlan['upserts'][number][] = [];
  const certificates: CertificateState[] = [];
  const drift: Drift[] = [];
  const counts: ReconciliationCounts = {
    seen: listing.connections.length + listing.invalid,
    inserted: 0,
    updated: 0,
    touched: 0,
    deleted: 0,
    unchanged: 0,
    invalid: listing.invalid,
    certificatesUpdated: 0,
    certificatesUnparsable: 0,
  };
  const listed = new Set<string>([...listing.invalidIds, ...scope.listedEarlier]);

  for (const item of listing.connections) {
    const c = item.connection;
    listed.add(c.id);
    const current = stored.get(c.id);
    const domains = domainsOf(c) ?? [];
    const row = connectionRow(c, item.raw, { deleted_at: null, last_event_id: null, observed_at: listedAt });

    if (!current) {
      upserts.push({ row, domains, kind: 'inserted' });
      drift.push({ entity: 'connection', kind: 'inserted', id: c.id, name: c.name, changes: [] });
      counts.inserted++;
    } else if (versionTakes(current, row, 'listing')) {
      const changes = differences(current, row, domains);
      if (changes.length > 0) {
        upserts.push({ row, domains, kind: 'updated' });
        drift.push({ entity: 'connection', kind: 'updated', id: c.id, name: c.name, changes });
        counts.updated++;
      } else if (c.updated_at > current.updated_at) {
        upserts.push({ row, domains, kind: 'touched' });
        counts.touched++;
      } else counts.unchanged++;
    } else {
      // The mirror already knows something newer (an event applied during the listing, or a deletion).
      counts.unchanged++;
    }

    const storedCertificate = storedCertificates.get(c.id);
    const listedCertificate = readSigningCertificate(item.options, storedCertificate);
    const certificate = certificateFrom(item, listedCertificate, storedCertificate, listedAt);
    if (listedCertificate.status === 'unparsable') counts.certificatesUnparsable++;
    if (certificate) {
      certificates.push(certificate);
      counts.certificatesUpdated++;
    }
  }

  const deletions: string[] = [];
  for (const current of scope.reachedEnd ? stored.values() : []) {
    if (listed.has(current.id) || !reconciliationDeletes(current)) continue;
    deletions.push(current.id);
    drift.push({ entity: 'connection', kind: 'deleted', id: current.id, name: current.name, changes: [] });
    counts.deleted++;
  }
  return { upserts, deletions, certificates, drift, counts };
}

function differences(
  current: StoredConnection,
  row: ConnectionWrite,
  domains: readonly DomainWrite[],
): string[] {
  const changes: string[] = [];
  if (current.deleted_at) changes.push('restored: listed again after its deletion');
  for (const field of ['name', 'state', 'organization_id', 'connection_type'] as const) {
    if (current[field] !== row[field]) changes.push(`${field}: ${current[field]} → ${row[field]}`);
  }
  const listedDomains = domains.map((d) => `${d.id}=${d.domain}`).sort();
  if (listedDomains.join(',') !== current.domains.join(',')) {
    changes.push(`domains: ${plain(current.domains)} → ${plain(listedDomains)}`);
  }
  if (changes.length > 0 && current.updated_at.getTime() !== row.updated_at.getTime()) {
    changes.push(`updated_at: ${current.updated_at.toISOString()} → ${row.updated_at.toISOString()}`);
  }
  return changes;
}

function plain(pairs: readonly string[]): string {
  return `[${pairs.map((p) => p.slice(p.indexOf('=') + 1)).join(', ')}]`;
}

/**
 * The listing's ResponseSigning certificate, when it tells the mirror something new. It is as
 * of the listing's time: an event later than that keeps precedence (the write is guarded).
 */
function certificateFrom(
  item: ListedConnection,
  listed: SigningCertificateResult,
  stored: CertificateState | undefined,
  listedAt: Date,
): CertificateState | undefined {
  if (listed.status !== 'parsed') return undefined;
  const cert = listed.certificate;
  if (!certificateTakes(stored, listedAt)) return undefined;
  if (
    stored &&
    stored.fingerprint === cert.fingerprint &&
    stored.expiry_date.getTime() === cert.expiry_date.getTime()
  ) {
    return undefined;
  }
  const sameCertificate = stored && sameExpiry(stored.expiry_date, cert.expiry_date);
  return {
    connection_id: item.connection.id,
    certificate_type: LISTED_CERTIFICATE,
    organization_id: item.connection.organization_id ?? stored?.organization_id ?? null,
    // An event's milliseconds are more precise than X.509's whole seconds for the same certificate.
    expiry_date: sameCertificate ? stored.expiry_date : cert.expiry_date,
    is_expired: cert.expiry_date <= listedAt,
    days_until_expiry: sameCertificate ? (stored?.days_until_expiry ?? null) : null,
    renewed_at: stored?.renewed_at ?? null,
    renewal_required_at: stored?.renewal_required_at ?? null,
    version_at: listedAt,
    source: 'listing',
    last_event_id: null,
    fingerprint: cert.fingerprint,
    subject: cert.subject,
  };
}
