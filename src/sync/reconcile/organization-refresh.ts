/**
 * A domain change refreshes its organization's connections. WorkOS changes a connection's
 * domains (its organization's) with `organization_domain.*` and `organization.updated` events,
 * never with a `connection.*` one, so for every organization such events of a batch name, the
 * batch lists that organization's connections (`GET /connections?organization_id=`, every page)
 * and applies the listing in the batch's own transaction, after its events, by the listing rules of
 * `versions.ts`: listed connections by rules 1 and 3, the organization's stored ones it lacks by
 * rule 5, which reaches no row of another organization. One listing per organization per batch,
 * however many of its events the batch holds.
 *
 * The listings are read before the batch's transaction opens (no WorkOS request inside one: the
 * session bounds derived from the lease must hold), as the pages themselves are; a listing that
 * fails fails the batch like a page read, and the batch is read and tried again.
 *
 * An event needs none when its refresh has been done or made moot already: one recorded before
 * (a page read again: its batch refreshed), or one older than the last listing of every
 * connection (a reconciliation read WorkOS after it; what changed since comes with events of its
 * own). So a backfill, which lists first, and a cursor recovery replay history without one
 * request per old domain event.
 */
import type { Kysely, Transaction } from 'kysely';
import { type DatabaseInstant, databaseNow } from '../../db/clock.ts';
import type { Database } from '../../db/tables.ts';
import type { ConnectionsSource } from '../../workos/connections-source.ts';
import type { ParsedItem } from '../events/parse-event.ts';
import { type FetchedListing, fetchListing } from './listing.ts';
import { planReconciliation } from './plan.ts';
import { lastWholeListingAt } from './runs.ts';
import { loadStoredConnections, loadStoredSigningCertificates, writeReconciliation } from './store.ts';

/** One organization's connections as WorkOS listed them for a batch, and why. */
export interface OrganizationRefresh {
  readonly organizationId: string;
  readonly listing: FetchedListing;
  /** When the listing began, in the database's clock (rule 5). */
  readonly began: DatabaseInstant;
  /** The batch's last event that named the organization: the source of what the listing changes. */
  readonly cause: { readonly eventId: string; readonly event: string };
}

/**
 * The organizations a batch refreshes, each with its last event that names it, in first-named
 * order; none for events `done` says need none.
 */
export function refreshesOf(
  items: readonly ParsedItem[],
  done: (item: { readonly id: string; readonly created_at: Date }) => boolean = () => false,
): Map<string, { eventId: string; event: string }> {
  const causes = new Map<string, { eventId: string; event: string }>();
  for (const item of refreshing(items))
    if (!done(item)) causes.set(item.refreshes, { eventId: item.id, event: item.event });
  return causes;
}

/** The valid events of a batch that name an organization to refresh. */
function refreshing(items: readonly ParsedItem[]) {
  return items.flatMap((item) =>
    item.status === 'valid' && item.refreshes !== null ? [{ ...item, refreshes: item.refreshes }] : [],
  );
}

export async function fetchRefreshes(
  deps: { readonly db: Kysely<Database>; readonly connections: ConnectionsSource },
  items: readonly ParsedItem[],
): Promise<OrganizationRefresh[]> {
  if (refreshesOf(items).size === 0) return [];
  const recorded = await recordedAmong(deps.db, items);
  const listedAt = await lastWholeListingAt(deps.db);
  const causes = refreshesOf(
    items,
    (item) => recorded.has(item.id) || (listedAt !== null && item.created_at <= listedAt),
  );
  if (causes.size === 0) return [];
  const began = await databaseNow(deps.db);
  const refreshes: OrganizationRefresh[] = [];
  for (const [organizationId, cause] of causes) {
    const listing = await fetchListing(deps.connections, { scope: { organizationId } });
    refreshes.push({ organizationId, listing, began, cause });
  }
  return refreshes;
}

async function recordedAmong(db: Kysely<Database>, items: readonly ParsedItem[]): Promise<Set<string>> {
  const ids = refreshing(items).map((i) => i.id);
  const rows = await db
    .selectFrom('events')
    .select('id')
    .where('id', '=', (eb) => eb.fn.any(eb.val(ids)))
    .execute();
  return new Set(rows.map((r) => r.id));
}

/**
 * Applies one refresh inside the batch's transaction; returns the connections it really wrote,
 * and those whose listed (`ResponseSigning`) certificate it wrote.
 */
export async function applyRefresh(
  trx: Transaction<Database>,
  refresh: OrganizationRefresh,
): Promise<{ readonly connections: ReadonlySet<string>; readonly certificates: ReadonlySet<string> }> {
  const { organizationId, listing, began } = refresh;
  const listed = [...listing.connections.map((c) => c.connection.id), ...listing.invalidIds];
  // The organization's rows and the listed ones: only the first can be missing from the listing.
  const stored = await loadStoredConnections(trx, began, { organizationId, listed });
  const certificates = await loadStoredSigningCertificates(trx, [...stored.keys(), ...listed]);
  // Without WorkOS's `Date` header (a proxy stripped it), the database's clock, as reconciliation does.
  const listedAt = listing.listedAt ?? new Date(began);
  const plan = planReconciliation(listing, stored, certificates, listedAt);
  const { written, certificates: certified } = await writeReconciliation(trx, plan, {
    began,
    at: listedAt,
    organizationId,
  });
  return { connections: written, certificates: certified };
}
