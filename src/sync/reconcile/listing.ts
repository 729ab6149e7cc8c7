/** The whole of List Connections (or one organization's part of it), validated item by item (`read-listing.ts`). */
import { z } from 'zod';
import type { ConnectionsScope, ConnectionsSource } from '../../workos/connections-source.ts';
import { connection } from '../../workos/schemas.ts';
import type { ListedConnection, Listing } from './plan.ts';
import { type ReadListingOptions, readListing } from './read-listing.ts';

const listedConnection = connection.extend({ options: z.unknown().optional() });

export interface FetchedListing extends Listing {
  readonly pages: number;
  /** Where a run bounded by `maxPages` stopped (List Connections' `after`); null at the listing's end. */
  readonly next: string | null;
}

export async function fetchListing(
  source: ConnectionsSource,
  options: ReadListingOptions & {
    /** One organization's connections only. */
    readonly scope?: ConnectionsScope | undefined;
  } = {},
): Promise<FetchedListing> {
  const { items, ...read } = await readListing<ListedConnection>(
    'List Connections',
    async (after) => {
      const page = await source.listConnections(after, options.scope);
      return { items: page.connections, after: page.after, servedAt: page.servedAt };
    },
    (raw) => {
      const parsed = listedConnection.safeParse(raw);
      if (!parsed.success) return null;
      return {
        item: { connection: parsed.data, raw, options: parsed.data.options },
        updatedAt: parsed.data.updated_at,
      };
    },
    options,
    options.scope ? { 'workos_sync.organization_id': options.scope.organizationId } : {},
  );
  return { connections: items, ...read };
}
