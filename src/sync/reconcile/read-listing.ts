/**
 * A whole WorkOS list (List Connections, List Organizations), validated item by item. Nothing is
 * written until every page is in: a listing that could not be fetched completely must not delete
 * anything. The next page is requested before the current one is validated, so WorkOS's time and
 * ours overlap.
 *
 * The listing's time, in WorkOS's clock, is the latest instant known to precede the reading of
 * its first page: WorkOS's `Date` header on it (whole seconds), or the newest `updated_at` that
 * page lists, if later (WorkOS cannot list an update before it happened). Every page was read at
 * or after it, so news from after it (an event) keeps precedence over what is listed; what is
 * left uncertain is the sub-second between that instant and the reading itself.
 */
import type { Attributes } from '@opentelemetry/api';
import { inSpan } from '../../tracing.ts';

export interface ListPage {
  readonly items: readonly unknown[];
  /** The id to ask for the next page after; null at the end of the list. */
  readonly after: string | null;
  /** WorkOS's clock when it served the page (its `Date` header), when it said. */
  readonly servedAt: Date | null;
}

export interface ListingRead<T> {
  readonly items: readonly T[];
  /** Ids of listed items that failed validation: they exist, so they are never deleted. */
  readonly invalidIds: ReadonlySet<string>;
  readonly invalid: number;
  /** WorkOS's clock when it served the first page; null when it did not say (no `Date` header). */
  readonly listedAt: Date | null;
  readonly pages: number;
  /** Where a run bounded by `maxPages` stopped (the list's `after`); null at the listing's end. */
  readonly next: string | null;
}

export interface ReadListingOptions {
  readonly signal?: AbortSignal | undefined;
  /** Resume after this id (a bounded pass under way). */
  readonly after?: string | undefined;
  /** Fetch at most this many pages. */
  readonly maxPages?: number | undefined;
}

/**
 * The listing as a `workos_sync.listing` span (`attributes`: its scope), its pages' requests
 * inside it.
 */
export function readListing<T>(
  what: string,
  list: (after: string | undefined) => Promise<ListPage>,
  /** The valid item and its `updated_at`, or null for one that fails validation. */
  parse: (raw: unknown) => { readonly item: T; readonly updatedAt: Date } | null,
  options: ReadListingOptions = {},
  attributes: Attributes = {},
): Promise<ListingRead<T>> {
  return inSpan('workos_sync.listing', { 'workos_sync.listing': what, ...attributes }, async (span) => {
    const read = await readPages(what, list, parse, options);
    span.setAttributes({
      'workos_sync.pages': read.pages,
      'workos_sync.items': read.items.length,
      'workos_sync.items.invalid': read.invalid,
    });
    return read;
  });
}

async function readPages<T>(
  what: string,
  list: (after: string | undefined) => Promise<ListPage>,
  parse: (raw: unknown) => { readonly item: T; readonly updatedAt: Date } | null,
  options: ReadListingOptions,
): Promise<ListingRead<T>> {
  const items: T[] = [];
  const invalidIds = new Set<string>();
  let invalid = 0;
  let pages = 0;
  let listedAt: Date | null = null;
  if (options.signal?.aborted) throw new Error('reconciliation interrupted');
  let request: Promise<ListPage> | undefined = list(options.after);
  let after: string | undefined = options.after;
  const maxPages = options.maxPages ?? Number.POSITIVE_INFINITY;
  while (request) {
    const page: ListPage = await request;
    pages++;
    const first = pages === 1;
    if (first) listedAt = page.servedAt;
    const next = page.after ?? undefined;
    // A list that hands back the cursor it was given would page forever.
    if (next !== undefined && next === after) throw new Error(`${what} repeated the cursor ${next}`);
    after = page.items.length > 0 ? next : undefined;
    if (options.signal?.aborted) throw new Error('reconciliation interrupted');
    request = after === undefined || pages >= maxPages ? undefined : prefetch(list, after);
    for (const raw of page.items) {
      const parsed = parse(raw);
      if (parsed) {
        items.push(parsed.item);
        if (first && listedAt && parsed.updatedAt > listedAt) listedAt = parsed.updatedAt;
      } else {
        invalid++;
        const id = (raw as { id?: unknown } | null)?.id;
        if (typeof id === 'string') invalidIds.add(id);
      }
    }
  }
  return { items, invalidIds, invalid, listedAt, pages, next: after ?? null };
}

function prefetch(list: (after: string) => Promise<ListPage>, after: string): Promise<ListPage> {
  const request = list(after);
  // If this page's validation throws, the request already made is abandoned: not unhandled.
  request.catch(() => undefined);
  return request;
}
