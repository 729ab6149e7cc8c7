/**
 * Who wins when two versions of a mirror row meet. Every rule is stated here once, in words, and
 * exported twice: as the predicate the planners (`handlers/`, `reconcile/plan*.ts`) decide with,
 * and as the SQL guard the writers (`events/store.ts`, `reconcile/*store.ts`) put in their
 * statements, so that the database enforces the same rule whoever else wrote in between. Each
 * pair sits side by side so the two cannot drift; `test/versions.test.ts` runs both on one table.
 *
 * Versioned rows: connections, organizations and organization domains, each by its own
 * `updated_at` (a connection's domain set and an organization's name go with their row's version).
 *  1. A live row is replaced by an incoming version (an event's payload or a listed object)
 *     whose `updated_at` is at least the stored one. A tie between two writes of one kind goes
 *     to the later write: the event later in the stream, the listing read later. A tie between
 *     an event and a listing goes to the one that saw WorkOS later (`observed_at`: the event's
 *     time, the listing's), and at the same instant to the later write: so an event replayed
 *     after a listing that saw WorkOS since (a backfill's, a recovery's) loses it, and cannot
 *     bring back what the listing knew and the version does not say — a connection's domains
 *     change with its organization's without a new `updated_at`. A stored row with no
 *     `observed_at` (written before it existed) loses every tie, as all rows did.
 *  2. Deletion is terminal for events: no event changes a tombstone, not even another deletion.
 *  3. A listing brings a tombstone back only when it shows an `updated_at` newer than the
 *     deletion (`deleted_at`): WorkOS changed the object after we saw it gone.
 *  4. A deletion event always tombstones a live row. It takes the payload's columns (the state
 *     before deletion) by rule 1, or else keeps the newer stored ones and only sets `deleted_at`.
 *     An organization's deletion tombstones its live domains too.
 *  5. A listing tombstones a live row it lacks only if the row was last written before the
 *     listing began: a row written since may be an object created after the page that would
 *     have listed it was read. The tombstone's time is the listing's, or the row's own
 *     `updated_at` if that is later (the listing's time is known to the second; a deletion is
 *     never older than the version it deletes), so by rule 3 only a change WorkOS made after it
 *     brings the row back. A listing of one organization's connections (the refresh a domain
 *     event causes) lacks only rows of that organization: it tombstones no other.
 * Certificates
 *  6. A certificate row is replaced by news whose version (an event's `created_at`, or a
 *     listing's time) is at least the stored `version_at`; ties go to the later write. (One
 *     refinement lives in `handlers/certificate.ts`: an older event about the very certificate a
 *     listing stored still adds its notice timestamps. Its write keeps the stored `version_at`,
 *     so it passes this rule's guard.)
 * Organization domains
 *  7. An organization's payload in an event lists its domains as of the event's time: a live
 *     domain of that organization the payload lacks was removed before it, unless the domain
 *     changed at or after that time (then it is newer than the list, created since). Such a
 *     domain is tombstoned at the event's time.
 *
 * Clocks. Every version is in WorkOS's clock, never the database's or this process's, so skew
 * between hosts decides nothing: every `updated_at`, `created_at` and `deleted_at` (an event's
 * `created_at`, or a listing's time), `connection_certificates.version_at`, `renewed_at`,
 * `renewal_required_at` and `expiry_date`, `events.created_at`, and a listing's time (WorkOS's
 * own "now" as it served the first page: `reconcile/listing.ts`). Rule 5 alone compares the
 * database's clock with itself: `synced_at` (when we wrote a row: `writtenNow`) against when
 * the listing began. Bookkeeping columns are in the database's clock too (`synced_at`,
 * `received_at`, `sync_state`'s, `leases`', `reconciliation_runs`' times); nothing compares them
 * with a version.
 */
import { type RawBuilder, type SqlBool, sql } from 'kysely';
import type { DatabaseInstant } from '../../db/clock.ts';
import type { CertificateState, IncomingVersion, RowVersion } from './rows.ts';

/** Who brings an incoming version: the event stream or a listing. */
export type Writer = 'event' | 'listing';

/** The tables whose rows are versioned by rules 1–5. */
export type VersionedTable = 'connections' | 'organizations' | 'organization_domains';

/** Rules 1–3: whether an incoming version replaces the stored row (none: it inserts). */
export function versionTakes(
  stored: RowVersion | undefined,
  incoming: IncomingVersion,
  writer: Writer,
): boolean {
  if (!stored) return true;
  if (stored.deleted_at) return writer === 'listing' && incoming.updated_at > stored.deleted_at;
  if (incoming.updated_at > stored.updated_at) return true;
  return (
    incoming.updated_at.getTime() === stored.updated_at.getTime() &&
    (stored.source === writer || stored.observed_at === null || incoming.observed_at >= stored.observed_at)
  );
}

/** Why `versionTakes` refused an event's version, as its recorded outcome says (`events.error`). */
export function staleReason(stored: RowVersion | undefined, incoming: IncomingVersion, what: string): string {
  if (stored?.deleted_at) return `the ${what} is deleted`;
  return stored && stored.updated_at.getTime() === incoming.updated_at.getTime()
    ? `a listing that saw WorkOS after this event holds the same ${what} version`
    : `the stored ${what} is newer`;
}

/** Rules 1–3 for `insert into <table> … on conflict (id) do update set … where <this>`. */
export function versionGuard(table: VersionedTable, writer: Writer): RawBuilder<SqlBool> {
  // A closed set of names, never input: safe as raw text (and left unqualified, as the statement's target is).
  const row = sql.raw(table);
  const live = sql<SqlBool>`${row}.deleted_at is null and (${row}.updated_at < excluded.updated_at
      or (${row}.updated_at = excluded.updated_at and (${row}.source = excluded.source
        or ${row}.observed_at is null or ${row}.observed_at <= excluded.observed_at)))`;
  return writer === 'event' ? live : sql<SqlBool>`(${live}) or ${row}.deleted_at < excluded.updated_at`;
}

/**
 * Rules 2 and 4: a deletion event applies to anything but a tombstone. Whether it also takes the
 * payload's columns is rule 1 (`versionTakes`).
 */
export function deletionTakes(stored: RowVersion | undefined): boolean {
  return !stored?.deleted_at;
}

/** Rule 4's tombstone-only write (`update <table> set deleted_at … where <this>`): a live row. */
export const DELETION_GUARD: RawBuilder<SqlBool> = sql<SqlBool>`deleted_at is null`;

/** Rule 5, for a stored row the listing lacks. `writtenSinceListingBegan` is decided by the database (see below). */
export function reconciliationDeletes(stored: {
  readonly deleted_at: Date | null;
  readonly writtenSinceListingBegan: boolean;
}): boolean {
  return stored.deleted_at === null && !stored.writtenSinceListingBegan;
}

/**
 * Rule 5 in SQL, for `update <table> set deleted_at … where <this>`; a listing of one
 * organization's connections (`organizationId`) reaches no row of another.
 */
export function reconciliationDeletionGuard(
  listingBegan: DatabaseInstant,
  organizationId?: string,
): RawBuilder<SqlBool> {
  const written = sql<SqlBool>`deleted_at is null and synced_at <= ${listingBegan}::timestamptz`;
  return organizationId === undefined
    ? written
    : sql<SqlBool>`${written} and organization_id = ${organizationId}`;
}

/** Rule 5's tombstone time, for `update <table> set deleted_at = <this>`. */
export function tombstoneTime(listedAt: Date): RawBuilder<Date> {
  return sql<Date>`greatest(${listedAt}::timestamptz, updated_at)`;
}

/** Whether a stored row was written after the listing began: rule 5's input, in the database's precision. */
export function writtenSince(listingBegan: DatabaseInstant): RawBuilder<boolean> {
  return sql<boolean>`synced_at > ${listingBegan}::timestamptz`;
}

/** What every write of a mirror row stamps `synced_at` with: rule 5's clock, the database's, to the microsecond. */
export function writtenNow(): RawBuilder<Date> {
  return sql<Date>`clock_timestamp()`;
}

/** Rule 7: whether a stored domain an organization's payload (of an event at `eventAt`) lacks is tombstoned. */
export function absentDomainRemoved(stored: RowVersion, eventAt: Date): boolean {
  return stored.deleted_at === null && stored.updated_at < eventAt;
}

/** Rule 7 in SQL, for `update organization_domains set deleted_at … where <this>`. */
export function absentDomainGuard(eventAt: Date): RawBuilder<SqlBool> {
  return sql<SqlBool>`deleted_at is null and updated_at < ${eventAt}::timestamptz`;
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
