/**
 * The hooks' public contract: what a batch changed in the mirror, typed, for the application's
 * `onChange` hooks (computed by `diff.ts`), what wrote each change, and the hook itself.
 */
import type { Transaction } from 'kysely';
import type { Database } from '../../db/tables.ts';

/**
 * What wrote a change: an event (the last of the batch to write the row); a reconciliation; or
 * the listing of one organization's connections that an event of the batch caused (a domain
 * change: `organization-refresh.ts`), which names that event.
 */
export type ChangeSource =
  | { readonly kind: 'event'; readonly eventId: string; readonly event: string }
  | { readonly kind: 'listing'; readonly runId: string }
  | {
      readonly kind: 'organization_listing';
      readonly organizationId: string;
      readonly eventId: string;
      readonly event: string;
    };

/** A connection as the mirror holds it. */
export interface ConnectionSnapshot {
  readonly id: string;
  readonly organization_id: string | null;
  readonly connection_type: string;
  readonly name: string;
  readonly state: string;
  /** Sorted. */
  readonly domains: readonly string[];
  readonly deleted: boolean;
  readonly updated_at: Date;
  readonly last_event_id: string | null;
}

/** A certificate as the mirror holds it. */
export interface CertificateSnapshot {
  readonly connection_id: string;
  readonly certificate_type: string;
  readonly organization_id: string | null;
  readonly expiry_date: Date;
  readonly is_expired: boolean | null;
  readonly days_until_expiry: number | null;
  readonly renewed_at: Date | null;
  readonly renewal_required_at: Date | null;
  readonly fingerprint: string | null;
  readonly last_event_id: string | null;
}

export type ConnectionChangeKind =
  | 'inserted'
  | 'updated'
  | 'activated'
  | 'deactivated'
  | 'deleted'
  | 'resurrected';

export interface ConnectionChange {
  /** The WorkOS environment of the row. */
  readonly environment: string;
  readonly type: 'connection';
  readonly kind: ConnectionChangeKind;
  readonly connectionId: string;
  readonly organizationId: string | null;
  /** Null when the row is new to the mirror. */
  readonly before: ConnectionSnapshot | null;
  readonly after: ConnectionSnapshot;
  /** What differs: `name`, `state`, `organization_id`, `connection_type`, `domains`, `deleted`. */
  readonly fields: readonly string[];
  readonly source: ChangeSource;
}

export type CertificateChangeKind = 'changed' | 'renewal_required';

export interface CertificateChange {
  /** The WorkOS environment of the row. */
  readonly environment: string;
  readonly type: 'certificate';
  readonly kind: CertificateChangeKind;
  readonly connectionId: string;
  readonly organizationId: string | null;
  readonly certificateType: string;
  readonly before: CertificateSnapshot | null;
  readonly after: CertificateSnapshot;
  /** What differs: `expiry_date`, `fingerprint`, `renewed_at`, `renewal_required_at`, `is_expired`. */
  readonly fields: readonly string[];
  readonly source: ChangeSource;
}

/** An organization as the mirror holds it. */
export interface OrganizationSnapshot {
  readonly id: string;
  readonly name: string;
  readonly external_id: string | null;
  readonly deleted: boolean;
  readonly updated_at: Date;
  readonly last_event_id: string | null;
}

/** An organization domain as the mirror holds it. */
export interface DomainSnapshot {
  readonly id: string;
  readonly organization_id: string;
  readonly domain: string;
  readonly state: string | null;
  readonly verification_strategy: string | null;
  readonly deleted: boolean;
  readonly updated_at: Date;
  readonly last_event_id: string | null;
}

export type OrganizationChangeKind = 'inserted' | 'updated' | 'deleted' | 'resurrected';

export interface OrganizationChange {
  /** The WorkOS environment of the row. */
  readonly environment: string;
  readonly type: 'organization';
  readonly kind: OrganizationChangeKind;
  readonly organizationId: string;
  readonly before: OrganizationSnapshot | null;
  readonly after: OrganizationSnapshot;
  /** What differs: `name`, `external_id`, `deleted`. */
  readonly fields: readonly string[];
  readonly source: ChangeSource;
}

/**
 * `added` (new to the mirror, or back), `removed`, `verified` and `verification_failed` (its
 * state became `verified` or `legacy_verified`, or `failed`), else `updated`.
 */
export type DomainChangeKind = 'added' | 'verified' | 'verification_failed' | 'removed' | 'updated';

export interface DomainChange {
  /** The WorkOS environment of the row. */
  readonly environment: string;
  readonly type: 'domain';
  readonly kind: DomainChangeKind;
  readonly domainId: string;
  readonly domain: string;
  readonly organizationId: string;
  readonly before: DomainSnapshot | null;
  readonly after: DomainSnapshot;
  /** What differs: `domain`, `state`, `verification_strategy`, `organization_id`, `deleted`. */
  readonly fields: readonly string[];
  readonly source: ChangeSource;
}

export type MirrorChange = ConnectionChange | CertificateChange | OrganizationChange | DomainChange;

/** A change as `diff.ts` computes it: the change protocol (`report.ts`) names its environment. */
export type UnplacedChange<T extends MirrorChange = MirrorChange> = T extends MirrorChange
  ? Omit<T, 'environment'>
  : never;

/** Which table a changed row is in, and its key there: what a change's source is looked up by. */
export type SourceOf = (
  table: 'connection' | 'certificate' | 'organization' | 'domain',
  key: string,
  row: { readonly last_event_id: string | null },
) => ChangeSource;

/**
 * Called inside the transaction that applies a batch of events or a reconciliation, with its net
 * changes, while the batch's row locks are held: what it writes through `trx` commits with the
 * mirror, or not at all. Throwing rolls the batch back; it is retried with the usual backoff.
 */
export type ChangeHook = (
  trx: Transaction<Database>,
  changes: readonly MirrorChange[],
) => Promise<void> | void;

/**
 * A hook's transaction as the application's own Kysely: typed by the application's `AppDatabase`,
 * its unqualified tables in `schema` (default `public`), e.g.
 * `await applicationTransaction<AppDb>(trx).insertInto('sso_disabled').values({ … }).execute()`.
 * It is the same transaction (its writes commit with the mirror's, or not at all); only the
 * names change: `trx` itself puts unqualified tables in the mirror's schema.
 */
export function applicationTransaction<AppDatabase>(
  trx: Transaction<Database>,
  schema = 'public',
): Transaction<AppDatabase> {
  return (trx as unknown as Transaction<AppDatabase>).withSchema(schema);
}
