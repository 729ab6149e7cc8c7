/**
 * The whole of List Connections, validated item by item. Nothing is written until every page is
 * in: a listing that could not be fetched completely must not delete anything. The next page is
 * requested before the current one is validated, so WorkOS's time and ours overlap.
 *
 * The listing's time, in WorkOS's clock, is the latest instant known to precede the reading of
 * its first page: WorkOS's `Date` header on it (whole seconds), or the newest `updated_at` that
 * page lists, if later (WorkOS cannot list an update before it happened). Every page was read at
 * or after it, so news from after it (an event) keeps precedence over what is listed; what is
 * left uncertain is the sub-second between that instant and the reading itself.
 */
import { z } from 'zod';
import type { ConnectionPage, ConnectionsSource } from '../../workos/connections-source.ts';
import { connection } from '../../workos/schemas.ts';
import type { ListedConnection, Listing } from './plan.ts';

const listedConnection = connection.extend({ options: z.unknown().optional() });

export interface FetchedListing extends Listing {
  readonly pages: number;
  /** Where a run bounded by `maxPages` stopped (List Connections' `after`); null at the listing's end. */
  readonly next: string | null;
}

export async function fetchListing(
  source: ConnectionsSource,
  options: {
    readonly signal?: AbortSignal | undefined;
    /** Resume after this connection id (a bounded pass under way). */
    readonly after?: string | undefined;
    /** Fetch at most this many pages. */
    readonly maxPages?: number | undefined;
  } = {},
): Promise<FetchedListing> {
  const connections: ListedConnection[] = [];
  const invalidIds = new Set<string>();
  let invalid = 0;
  let pages = 0;
  let listedAt: Date | null = null;
  if (options.signal?.aborted) throw new Error('reconciliation interrupted');
  let request: Promise<ConnectionPage> | undefined = source.listConnections(options.after);
  let after: string | undefined = options.after;
  const maxPages = options.maxPages ?? Number.POSITIVE_INFINITY;
  while (request) {
    const page: ConnectionPage = await request;
    pages++;
    const first = pages === 1;
    if (first) listedAt = page.servedAt;
    const next = page.after ?? undefined;
    // A list that hands back the cursor it was given would page forever.
    if (next !== undefined && next === after) throw new Error(`List Connections repeated the cursor ${next}`);
    after = page.connections.length > 0 ? next : undefined;
    if (options.signal?.aborted) throw new Error('reconciliation interrupted');
    request = after === undefined || pages >= maxPages ? undefined : prefetch(source, after);
    for (const raw of page.connections) {
      const parsed = listedConnection.safeParse(raw);
      if (parsed.success) {
        connections.push({ connection: parsed.data, raw, options: parsed.data.options });
        if (first && listedAt && parsed.data.updated_at > listedAt) listedAt = parsed.data.updated_at;
      } else {
        invalid++;
        const id = (raw as { id?: unknown } | null)?.id;
        if (typeof id === 'string') invalidIds.add(id);
      }
    }
  }
  return { connections, invalidIds, invalid, listedAt, pages, next: after ?? null };
}

function prefetch(source: ConnectionsSource, after: string): Promise<ConnectionPage> {
  const request = source.listConnections(after);
  // If this page's validation throws, the request already made is abandoned: not unhandled.
  request.catch(() => undefined);
  return request;
}
