/**
 * What the pure event handlers know about the mirror, and the writes they plan against it. Rows
 * are in the tables' own column names so the apply step can hand them to SQL unchanged.
 */

/** The version of a row versioned by `updated_at` (`versions.ts`, rules 1–5). */
export interface RowVersion {
  readonly updated_at: Date;
  readonly deleted_at: Date | null;
  /** When WorkOS was seen in this state: an event's time, or a listing's (null: not known). */
  readonly observed_at: Date | null;
  /** Who wrote it. */
  readonly source: 'event' | 'listing';
}

/** What an incoming version brings: its `updated_at`, and when WorkOS was seen so. */
export interface IncomingVersion {
  readonly updated_at: Date;
  readonly observed_at: Date;
}

/** A stored organization domain: its version and its organization (rule 7 reads them together). */
export interface DomainVersion extends RowVersion {
  readonly id: string;
  readonly organization_id: string;
}

/**
 * The stored versions of the rows a writer touches, locked for its transaction (what the planners
 * decide against).
 */
export interface MirrorSnapshot {
  readonly connections: ReadonlyMap<string, RowVersion>;
  readonly certificates: ReadonlyMap<string, CertificateState>;
  readonly organizations: ReadonlyMap<string, RowVersion>;
  /** By id: the domains named, and every domain of the organizations whose domain sets were read. */
  readonly domains: ReadonlyMap<string, DomainVersion>;
}

export interface CertificateState {
  readonly connection_id: string;
  readonly certificate_type: string;
  readonly organization_id: string | null;
  readonly expiry_date: Date;
  readonly is_expired: boolean | null;
  readonly days_until_expiry: number | null;
  readonly renewed_at: Date | null;
  readonly renewal_required_at: Date | null;
  /** Time of the event (or listing) this row reflects: the certificate's version. */
  readonly version_at: Date;
  readonly source: 'event' | 'listing';
  readonly last_event_id: string | null;
  readonly fingerprint: string | null;
  readonly subject: string | null;
}

export interface ConnectionWrite {
  readonly id: string;
  readonly organization_id: string | null;
  readonly connection_type: string;
  readonly name: string;
  readonly state: string;
  readonly created_at: Date | null;
  readonly updated_at: Date;
  readonly deleted_at: Date | null;
  readonly raw: unknown;
  /** The event that wrote this version; null when it came from a listing. */
  readonly last_event_id: string | null;
  readonly observed_at: Date;
}

/** One of the domains a connection lists. */
export interface DomainWrite {
  readonly id: string;
  readonly domain: string;
}

export interface OrganizationWrite {
  readonly id: string;
  readonly name: string;
  readonly external_id: string | null;
  readonly created_at: Date | null;
  readonly updated_at: Date;
  readonly deleted_at: Date | null;
  readonly raw: unknown;
  readonly last_event_id: string | null;
  readonly observed_at: Date;
}

export interface OrganizationDomainWrite {
  readonly id: string;
  readonly organization_id: string;
  readonly domain: string;
  readonly state: string | null;
  readonly verification_strategy: string | null;
  readonly created_at: Date | null;
  readonly updated_at: Date;
  readonly deleted_at: Date | null;
  readonly last_event_id: string | null;
  readonly observed_at: Date;
}

/** A tombstone-only write: keeps the stored (newer) columns and sets `deleted_at`. */
export interface Tombstone {
  readonly id: string;
  readonly deleted_at: Date;
  readonly last_event_id: string;
}

export type PlannedWrite =
  /** Upsert the whole row; `domains` replaces the connection's domain set, undefined keeps it. */
  | {
      readonly kind: 'connection';
      readonly row: ConnectionWrite;
      readonly domains: readonly DomainWrite[] | undefined;
    }
  /** Tombstone a stored row that is newer than the deletion's payload, keeping its columns. */
  | ({ readonly kind: 'connection_deleted' } & Tombstone)
  | { readonly kind: 'certificate'; readonly row: CertificateState }
  | { readonly kind: 'organization'; readonly row: OrganizationWrite }
  | ({ readonly kind: 'organization_deleted' } & Tombstone)
  | { readonly kind: 'domain'; readonly row: OrganizationDomainWrite }
  /** `absent`: rule 7 (the domain an organization's payload lacks), else rule 4 (a deletion). */
  | ({ readonly kind: 'domain_deleted'; readonly absent: boolean } & Tombstone);

/** Keys of mirror rows a batch reads or writes. */
export interface RowKeys {
  readonly connections: readonly string[];
  readonly certificates: readonly (readonly [connectionId: string, certificateType: string])[];
  readonly organizations: readonly string[];
  /** Organization domains by id. */
  readonly domains: readonly string[];
  /** Organizations whose whole domain set is read (rule 7), by organization id. */
  readonly domainSets: readonly string[];
}

export const NO_ROWS: RowKeys = Object.freeze({
  connections: [],
  certificates: [],
  organizations: [],
  domains: [],
  domainSets: [],
});

export interface MirrorView {
  connection(id: string): RowVersion | undefined;
  certificate(connectionId: string, certificateType: string): CertificateState | undefined;
  organization(id: string): RowVersion | undefined;
  domain(id: string): DomainVersion | undefined;
  /** The stored live domains of an organization; only for one a handler's `touches` named in `domainSets`. */
  liveDomainsOf(organizationId: string): readonly DomainVersion[];
}

export function certificateKey(connectionId: string, certificateType: string): string {
  return `${connectionId}\u0000${certificateType}`;
}

/**
 * Whether two expiries name the same certificate. X.509 validity has whole seconds while WorkOS
 * events carry milliseconds, so a listed certificate and an event about it agree to the second.
 */
export function sameExpiry(a: Date | null | undefined, b: Date | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return Math.floor(a.getTime() / 1000) === Math.floor(b.getTime() / 1000);
}

/** What a row is, for the maps that cross tables (who wrote it, what changed). */
export type RowTable = 'connection' | 'certificate' | 'organization' | 'domain';

/** One key per row across the mirror: `certificate` takes `certificateKey(…)` as its id. */
export function rowKey(table: RowTable, id: string): string {
  return `${table}:${id}`;
}
