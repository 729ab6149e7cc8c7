/**
 * The limits on the WorkOS side: every page of a stream fetched through the same SDK client and
 * the same sources the engine uses, one request after another (each page's cursor is the page
 * before it's last id, so they cannot overlap), with no database at all.
 */
import type { ConnectionsSource } from '../src/workos/connections-source.ts';
import type { EventsSource } from '../src/workos/events-source.ts';

export interface FetchOnly {
  readonly ms: number;
  readonly pages: number;
  readonly items: number;
}

export async function fetchAllEvents(
  source: EventsSource,
  options: { readonly maxPages?: number } = {},
): Promise<FetchOnly> {
  const started = performance.now();
  let pages = 0;
  let items = 0;
  let after: string | undefined;
  while (pages < (options.maxPages ?? Number.POSITIVE_INFINITY)) {
    const page = await source.listEvents(after === undefined ? {} : { after });
    pages++;
    items += page.events.length;
    const last = page.events.at(-1) as { id?: string } | undefined;
    if (page.events.length < page.limit || page.after === null || !last?.id) break;
    after = last.id;
  }
  return { ms: performance.now() - started, pages, items };
}

export async function fetchAllConnections(source: ConnectionsSource): Promise<FetchOnly> {
  const started = performance.now();
  let pages = 0;
  let items = 0;
  let after: string | undefined;
  do {
    const page = await source.listConnections(after);
    pages++;
    items += page.connections.length;
    after = page.connections.length > 0 ? (page.after ?? undefined) : undefined;
  } while (after !== undefined);
  return { ms: performance.now() - started, pages, items };
}
