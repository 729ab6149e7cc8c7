/**
 * A domain change refreshes its organization's connections: for every organization a batch of
 * events names (`events/refreshes.ts`), the batch lists that organization's connections
 * (`GET /connections?organization_id=`, every page) and applies the listing in the batch's own
 * transaction, after its events, by the listing rules of `versions.ts`: listed connections by
 * rules 1 and 3, the organization's stored ones it lacks by rule 5, which reaches no row of
 * another organization.
 *
 * The listings are read before the batch's transaction opens (no WorkOS request inside one: the
 * session bounds derived from the lease must hold), as the pages themselves are; a listing that
 * fails fails the batch like a page read, and the batch is read and tried again.
 */
import type { Kysely, Transaction } from 'kysely';
import { type DatabaseInstant, databaseNow } from '../../db/clock.ts';
import type { Database } from '../../db/tables.ts';
import type { ConnectionsSource } from '../../workos/connections-source.ts';
import type { CaptureScope } from '../changes/capture.ts';
import type { ChangeSource } from '../changes/changes.ts';
import { certificateKey, rowKey } from '../mirror/rows.ts';
import { LISTED_CERTIFICATE } from '../mirror/signing-cert.ts';
import { type FetchedListing, fetchListing } from './listing.ts';
import { planReconciliation } from './plan.ts';
import { loadStoredConnections, loadStoredSigningCertificates, writeReconciliation } from './store.ts';

/** The event of a batch that caused a refresh: the last that names the organization. */
export interface RefreshCause {
  readonly eventId: string;
  readonly event: string;
}

/** One organization's connections as WorkOS listed them for a batch, and why. */
export interface OrganizationRefresh {
  readonly organizationId: string;
  readonly listing: FetchedListing;
  /** When the listing began, in the database's clock (rule 5). */
  readonly began: DatabaseInstant;
  readonly cause: RefreshCause;
}

export async function fetchRefreshes(
  deps: { readonly db: Kysely<Database>; readonly connections: ConnectionsSource },
  causes: ReadonlyMap<string, RefreshCause>,
): Promise<OrganizationRefresh[]> {
  if (causes.size === 0) return [];
  const began = await databaseNow(deps.db);
  const refreshes: OrganizationRefresh[] = [];
  for (const [organizationId, cause] of causes) {
    const listing = await fetchListing(deps.connections, { scope: { organizationId } });
    refreshes.push({ organizationId, listing, began, cause });
  }
  return refreshes;
}

/** What the refreshes may change, for the hooks' capture: every listed connection and its listed certificate, every connection of the organizations. */
export function refreshScope(refreshes: readonly OrganizationRefresh[]): CaptureScope {
  const listed = refreshes.flatMap((r) => r.listing.connections.map((c) => c.connection.id));
  return {
    keys: {
      connections: listed,
      certificates: listed.map((id) => [id, LISTED_CERTIFICATE] as const),
      organizations: [],
      domains: [],
      domainSets: [],
    },
    connectionsOf: refreshes.map((r) => r.organizationId),
  };
}

type RefreshSource = Extract<ChangeSource, { kind: 'organization_listing' }>;

/** What the refreshes wrote: each row (by `rowKey`) named after the event that caused it, and the connections. */
export interface RefreshWritten {
  readonly sources: ReadonlyMap<string, RefreshSource>;
  readonly connectionIds: ReadonlySet<string>;
}

/** Applies the refreshes inside the batch's transaction, in order. */
export async function applyRefreshes(
  trx: Transaction<Database>,
  refreshes: readonly OrganizationRefresh[],
): Promise<RefreshWritten> {
  const sources = new Map<string, RefreshSource>();
  const connectionIds = new Set<string>();
  for (const refresh of refreshes) {
    const source: RefreshSource = {
      kind: 'organization_listing',
      organizationId: refresh.organizationId,
      ...refresh.cause,
    };
    const written = await applyRefresh(trx, refresh);
    for (const id of written.connections) {
      sources.set(rowKey('connection', id), source);
      connectionIds.add(id);
    }
    for (const id of written.certificates)
      sources.set(rowKey('certificate', certificateKey(id, LISTED_CERTIFICATE)), source);
  }
  return { sources, connectionIds };
}

/**
 * Applies one refresh; returns the connections it really wrote, and those whose listed
 * (`ResponseSigning`) certificate it wrote.
 */
async function applyRefresh(
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
