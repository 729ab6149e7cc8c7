/**
 * Catch up with the Events API: page from the stored cursor until the stream is drained.
 *
 * While a page is being applied the next one is already in flight (its cursor is the page's last
 * id), so WorkOS's latency and the database's time overlap instead of adding up. A prefetched
 * page is only applied after the page before it committed; if that fails, it is dropped.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/tables.ts';
import type { Logger } from '../logger.ts';
import type { EventPage, EventsRequest, EventsSource } from '../workos/events-source.ts';
import { applyPage, type PageSummary } from './apply-page.ts';
import { readCursor } from './cursor.ts';

export interface DrainDeps {
  readonly db: Kysely<Database>;
  readonly source: EventsSource;
  readonly log: Logger;
}

export interface DrainOptions {
  /** With no stored cursor, start at this time instead of the oldest retained event. */
  readonly since?: Date | undefined;
  /** Stop between pages (the page in flight still commits or rolls back whole). */
  readonly signal?: AbortSignal | undefined;
  readonly onPage?: ((totals: DrainTotals, page: PageSummary) => void) | undefined;
}

export interface DrainTotals {
  pages: number;
  events: number;
  applied: number;
  stale: number;
  ignored: number;
  quarantined: number;
  duplicate: number;
  cursor: string | null;
  caughtUp: boolean;
}

export function emptyTotals(cursor: string | null = null): DrainTotals {
  return {
    pages: 0,
    events: 0,
    applied: 0,
    stale: 0,
    ignored: 0,
    quarantined: 0,
    duplicate: 0,
    cursor,
    caughtUp: false,
  };
}

export async function drainEvents(
  deps: DrainDeps,
  options: DrainOptions = {},
  totals = emptyTotals(),
): Promise<DrainTotals> {
  let cursor = await readCursor(deps.db);
  totals.cursor = cursor;
  totals.caughtUp = false;
  let inFlight = fetchPage(deps.source, cursor === null ? { rangeStart: options.since } : { after: cursor });

  while (true) {
    const page = await inFlight;
    const next = nextCursor(page, cursor);
    const more = page.events.length >= page.limit && page.after !== null && next !== cursor;
    if (more && !options.signal?.aborted) inFlight = fetchPage(deps.source, { after: next! });

    if (page.events.length > 0 && next !== null) {
      const summary = await applyPage(deps, {
        expectedCursor: cursor,
        nextCursor: next,
        events: page.events,
      });
      add(totals, summary);
      cursor = next;
      totals.cursor = cursor;
      options.onPage?.(totals, summary);
    }
    if (!more) {
      totals.caughtUp = true;
      return totals;
    }
    if (options.signal?.aborted) return totals;
  }
}

/**
 * The id to resume after: the last event's own id (always one the API returned), or the list's
 * `after` when that event is too broken to carry one.
 */
function nextCursor(page: EventPage, current: string | null): string | null {
  const last = page.events.at(-1);
  const id = typeof last === 'object' && last !== null ? (last as { id?: unknown }).id : undefined;
  if (typeof id === 'string' && id !== '') return id;
  return page.after ?? current;
}

function fetchPage(source: EventsSource, request: EventsRequest): Promise<EventPage> {
  const promise = source.listEvents(request);
  // A prefetch may be abandoned when the page before it fails; its rejection is not unhandled.
  promise.catch(() => undefined);
  return promise;
}

function add(totals: DrainTotals, page: PageSummary): void {
  totals.pages++;
  totals.events += page.events;
  totals.applied += page.applied;
  totals.stale += page.stale;
  totals.ignored += page.ignored;
  totals.quarantined += page.quarantined;
  totals.duplicate += page.duplicate;
}
