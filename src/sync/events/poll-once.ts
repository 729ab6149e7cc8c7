/**
 * One poll pass: page from the stored cursor to the end of the Events API stream, once (`poll.ts`
 * repeats it, waiting out what is transient).
 *
 * Pages are read ahead (`page-reader.ts`) while earlier ones are applied, so WorkOS's latency and
 * the database's time overlap instead of adding up; every page already fetched goes into the next
 * transaction. A page is only applied after the pages before it committed; if that fails, the
 * pages read ahead are dropped and the next pass fetches them again from the stored cursor.
 */
import type { SpanContext } from '@opentelemetry/api';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/tables.ts';
import type { Logger, Scrub } from '../../logger.ts';
import { linkActiveSpan } from '../../tracing.ts';
import type { ConnectionsSource } from '../../workos/connections-source.ts';
import type { EventsSource } from '../../workos/events-source.ts';
import type { ChangeReporting } from '../changes/report.ts';
import { fetchRefreshes } from '../reconcile/organization-refresh.ts';
import { applyPages } from './apply-page.ts';
import { readCursor } from './cursor.ts';
import { PageReader } from './page-reader.ts';
import type { PageSummary } from './page-summary.ts';
import { refreshesNeeded } from './refreshes.ts';

export interface PollOnceDeps {
  readonly db: Kysely<Database>;
  readonly events: EventsSource;
  /** One organization's connections, listed again for a batch's domain events (`organization-refresh.ts`). */
  readonly connections: ConnectionsSource;
  readonly log: Logger;
  /** Takes every secret out of an error's text before it is stored (`sync_state.last_poll_error`). */
  readonly scrub: Scrub;
  /** The application's hooks and the NOTIFY channel; none when absent. */
  readonly reporting?: ChangeReporting | undefined;
}

export interface PollOnceOptions {
  /** With no stored cursor, start at this time instead of the oldest retained event. */
  readonly since?: Date | undefined;
  /** Stop between pages (the page in flight still commits or rolls back whole). */
  readonly signal?: AbortSignal | undefined;
  /**
   * Apply at most this many pages in all (a run with a time limit: serverless, cron); the next
   * run resumes from the cursor they leave, exactly there. None are fetched past it.
   */
  readonly maxPages?: number | undefined;
  readonly onPage?: ((totals: PollTotals, page: PageSummary) => void) | undefined;
  /**
   * The spans of the webhook deliveries that announced any of these events (the worker's
   * nudges): the poll's span links to them once their events commit, so one trace leads from a
   * webhook to the transaction that applied its event.
   */
  readonly deliverySpans?: ((eventIds: readonly string[]) => readonly SpanContext[]) | undefined;
}

export interface PollTotals {
  pages: number;
  events: number;
  applied: number;
  stale: number;
  ignored: number;
  quarantined: number;
  duplicate: number;
  /** Listings of one organization's connections made for domain events (`organization-refresh.ts`). */
  refreshes: number;
  cursor: string | null;
  caughtUp: boolean;
}

export function emptyTotals(cursor: string | null = null): PollTotals {
  return {
    pages: 0,
    events: 0,
    applied: 0,
    stale: 0,
    ignored: 0,
    quarantined: 0,
    duplicate: 0,
    refreshes: 0,
    cursor,
    caughtUp: false,
  };
}

/**
 * Pages held ahead of the apply step (100 events each): enough for the next transaction to be
 * ready when the current one commits. More buys little (measured: 10 instead of 4 gained about
 * 15% locally) and holds more memory, and reads further past a failure before it surfaces.
 */
export const READ_AHEAD_PAGES = 4;
/** Pages applied in one transaction, at most: bounds its statements' size and its lock time. */
export const MAX_PAGES_PER_TRANSACTION = 4;

export async function pollOnce(
  deps: PollOnceDeps,
  options: PollOnceOptions = {},
  totals = emptyTotals(),
): Promise<PollTotals> {
  let cursor = await readCursor(deps.db);
  totals.cursor = cursor;
  totals.caughtUp = false;
  const remaining =
    options.maxPages === undefined ? Number.POSITIVE_INFINITY : options.maxPages - totals.pages;
  if (remaining <= 0) return totals;
  const reader = new PageReader(
    deps.events,
    cursor === null ? { rangeStart: options.since } : { after: cursor },
    cursor,
    { capacity: READ_AHEAD_PAGES, signal: options.signal, maxPages: remaining },
  );
  try {
    while (true) {
      // Everything already fetched, so a slow database gets bigger transactions, not a backlog.
      const pages = await reader.take(MAX_PAGES_PER_TRANSACTION);
      const last = pages.at(-1);
      if (!last) return totals;
      // Only the stream's last page can be empty or unable to move the cursor.
      const applicable = pages.filter((p) => p.items.length > 0 && p.next !== null);
      const next = applicable.at(-1)?.next;
      if (next) {
        const batch = applicable.map((p) => p.items);
        // Read before the batch's transaction opens, as the pages were; a failure fails the batch.
        const refreshes = await fetchRefreshes(deps, await refreshesNeeded(deps.db, batch.flat()));
        totals.refreshes += refreshes.length;
        const summaries = await applyPages(deps, {
          expectedCursor: cursor,
          nextCursor: next,
          pages: batch,
          refreshes,
        });
        if (options.deliverySpans) linkActiveSpan(options.deliverySpans(batch.flat().map((item) => item.id)));
        cursor = next;
        totals.cursor = cursor;
        for (const summary of summaries) {
          add(totals, summary);
          options.onPage?.(totals, summary);
        }
      }
      if (!last.more) {
        totals.caughtUp = true;
        return totals;
      }
      if (options.signal?.aborted || totals.pages >= (options.maxPages ?? Number.POSITIVE_INFINITY))
        return totals;
    }
  } finally {
    // A page still in flight after a failure or an abort is dropped, never applied.
    reader.stop();
  }
}

function add(totals: PollTotals, page: PageSummary): void {
  totals.pages++;
  totals.events += page.events;
  totals.applied += page.applied;
  totals.stale += page.stale;
  totals.ignored += page.ignored;
  totals.quarantined += page.quarantined;
  totals.duplicate += page.duplicate;
}
