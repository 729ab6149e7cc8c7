/**
 * What the pure event handlers know about the mirror, and the writes they plan against it. Rows
 * are in the tables' own column names so the apply step can hand them to SQL unchanged.
 */

export interface ConnectionVersion {
  readonly updated_at: Date;
  readonly deleted_at: Date | null;
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
}

export interface DomainWrite {
  readonly id: string;
  readonly domain: string;
}

export type PlannedWrite =
  /** Upsert the whole row; `domains` replaces the connection's domain set, undefined keeps it. */
  | {
      readonly kind: 'connection';
      readonly row: ConnectionWrite;
      readonly domains: readonly DomainWrite[] | undefined;
    }
  /** Tombstone a stored row that is newer than the deletion's payload, keeping its columns. */
  | {
      readonly kind: 'connection_deleted';
      readonly id: string;
      readonly deleted_at: Date;
      readonly last_event_id: string;
    }
  | { readonly kind: 'certificate'; readonly row: CertificateState };

/** Keys of mirror rows: connections by id, certificates by (connection id, certificate type). */
export interface RowKeys {
  readonly connections: readonly string[];
  readonly certificates: readonly (readonly [connectionId: string, certificateType: string])[];
}

export interface MirrorView {
  connection(id: string): ConnectionVersion | undefined;
  certificate(connectionId: string, certificateType: string): CertificateState | undefined;
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
