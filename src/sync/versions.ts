/**
 * Who wins when two versions of a mirror row meet. Every rule is stated here once, in words, and
 * exported twice: as the predicate the planners (`handlers/`, `reconcile/plan.ts`) decide with,
 * and as the SQL guard the writers (`mirror-store.ts`, `reconcile/store.ts`) put in their
 * statements, so that the database enforces the same rule whoever else wrote in between. Each
 * pair sits side by side so the two cannot drift; `test/versions.test.ts` runs both on one table.
 *
 * Connections
 *  1. A live row is replaced by an incoming version (an event's payload or a listed connection)
 *     whose `updated_at` is at least the stored one. Ties go to the later write: the event later
 *     in the stream, or the listing read after the event was applied.
 *  2. Deletion is terminal for events: no event changes a tombstone, not even another deletion.
 *  3. A listing brings a tombstone back only when it shows an `updated_at` newer than the
 *     deletion (`deleted_at`): WorkOS changed the connection after we saw it gone.
 *  4. A deletion event always tombstones a live row. It takes the payload's columns (the state
 *     before deletion) by rule 1, or else keeps the newer stored ones and only sets `deleted_at`.
 *  5. Reconciliation tombstones a live row the listing lacks only if the row was last written
 *     before the listing began: a row written since may be a connection created after the page
 *     that would have listed it was read. The tombstone's time is the listing's, or the row's own
 *     `updated_at` if that is later (the listing's time is known to the second; a deletion is
 *     never older than the version it deletes), so by rule 3 only a change WorkOS made after it
 *     brings the row back.
 * Certificates
 *  6. A certificate row is replaced by news whose version (an event's `created_at`, or a
 *     listing's time) is at least the stored `version_at`; ties go to the later write. (One
 *     refinement lives in `handlers/certificate.ts`: an older event about the very certificate a
 *     listing stored still adds its notice timestamps. Its write keeps the stored `version_at`,
 *     so it passes this rule's guard.)
 *
 * Clocks. Every version is in WorkOS's clock, never the database's or this process's, so skew
 * between hosts decides nothing: `connections.updated_at`, `created_at` and `deleted_at` (an
 * event's `created_at`, or a listing's time), `connection_certificates.version_at`,
 * `renewed_at`, `renewal_required_at` and `expiry_date`, `events.created_at`, and a listing's
 * time (WorkOS's own "now" as it served the first page: `reconcile/listing.ts`). Rule 5 alone compares
 * the database's clock with itself: `synced_at` (when we wrote a row) against when the listing
 * began. Bookkeeping columns are in the database's clock too (`synced_at`, `received_at`,
 * `sync_state`'s, `leases`', `reconciliation_runs`' times); nothing compares them with a version.
 */
import { type RawBuilder, type SqlBool, sql } from 'kysely';
import type { DatabaseInstant } from '../db/clock.ts';
import type { CertificateState, ConnectionVersion } from './mirror.ts';

/** Who brings an incoming version: the event stream or a List Connections snapshot. */
export type Writer = 'event' | 'listing';

/** Rules 1–3: whether an incoming connection version replaces the stored row (none: it inserts). */
export function connectionTakes(
  stored: ConnectionVersion | undefined,
  incomingUpdatedAt: Date,
  writer: Writer,
): boolean {
  if (!stored) return true;
  if (stored.deleted_at) return writer === 'listing' && incomingUpdatedAt > stored.deleted_at;
  return incomingUpdatedAt >= stored.updated_at;
}

/** Rules 1–3 for `insert into connections … on conflict (id) do update set … where <this>`. */
export function connectionGuard(writer: Writer): RawBuilder<SqlBool> {
  return writer === 'event'
    ? sql<SqlBool>`connections.deleted_at is null and connections.updated_at <= excluded.updated_at`
    : sql<SqlBool>`(connections.deleted_at is null and connections.updated_at <= excluded.updated_at)
        or connections.deleted_at < excluded.updated_at`;
}

/**
 * Rules 2 and 4: a deletion event applies to anything but a tombstone. Whether it also takes the
 * payload's columns is rule 1 (`connectionTakes`).
 */
export function deletionTakes(stored: ConnectionVersion | undefined): boolean {
  return !stored?.deleted_at;
}

/** Rule 4's tombstone-only write (`update connections set deleted_at … where <this>`): a live row. */
export const DELETION_GUARD: RawBuilder<SqlBool> = sql<SqlBool>`deleted_at is null`;

/** Rule 5, for a stored row the listing lacks. `writtenSinceListingBegan` is decided by the database (see below). */
export function reconciliationDeletes(stored: {
  readonly deleted_at: Date | null;
  readonly writtenSinceListingBegan: boolean;
}): boolean {
  return stored.deleted_at === null && !stored.writtenSinceListingBegan;
}

/** Rule 5 in SQL, for `update connections set deleted_at … where <this>`. */
export function reconciliationDeletionGuard(listingBegan: DatabaseInstant): RawBuilder<SqlBool> {
  return sql<SqlBool>`deleted_at is null and synced_at <= ${listingBegan}::timestamptz`;
}

/** Rule 5's tombstone time, for `update connections set deleted_at = <this>`. */
export function tombstoneTime(listedAt: Date): RawBuilder<Date> {
  return sql<Date>`greatest(${listedAt}::timestamptz, updated_at)`;
}

/** Whether a stored row was written after the listing began: rule 5's input, in the database's precision. */
export function writtenSince(listingBegan: DatabaseInstant): RawBuilder<boolean> {
  return sql<boolean>`synced_at > ${listingBegan}::timestamptz`;
}

/** Rule 6: whether news of this version replaces the stored certificate row (none: it inserts). */
export function certificateTakes(
  stored: Pick<CertificateState, 'version_at'> | undefined,
  versionAt: Date,
): boolean {
  return !stored || versionAt >= stored.version_at;
}

/** Rule 6 for `insert into connection_certificates … on conflict … do update set … where <this>`. */
export const CERTIFICATE_GUARD: RawBuilder<SqlBool> = sql<SqlBool>`connection_certificates.version_at <= excluded.version_at`;
