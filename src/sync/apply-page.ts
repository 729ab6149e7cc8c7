/**
 * Pages of events → one transaction: lock the cursor (fencing), load and lock the touched rows,
 * plan (pure), write, record every event with its outcome, advance the cursor. All of it commits
 * or none of it does, so a crash at any instant loses nothing and repeats nothing. The drain loop
 * hands over every consecutive page it already holds (a few at most): one transaction and one
 * statement per table for all of them costs a fraction of one per page, and folding them as one
 * sequence decides exactly what applying them page by page would.
 *
 * If Postgres refuses the page's data (a value it cannot store), the page is applied again event
 * by event inside one transaction, each behind a savepoint: the event it refuses is recorded as
 * quarantined with the database's error, and the stream goes on instead of wedging on it.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../db/tables.ts';
import type { Logger } from '../logger.ts';
import { advanceCursor, lockCursor } from './cursor.ts';
import { loadSeenEvents, loadSnapshot, writePlan } from './mirror-store.ts';
import { type ParsedItem, parseEvent } from './parse-event.ts';
import { type PagePlan, planPage } from './plan-page.ts';

export interface PagesToApply {
  /** The cursor the first page was fetched after; the commit is refused if it has moved since. */
  readonly expectedCursor: string | null;
  /** Where the cursor goes once the pages are applied: the last page's. */
  readonly nextCursor: string;
  /** Consecutive pages, oldest first, parsed (`parseEvent`). */
  readonly pages: readonly (readonly ParsedItem[])[];
}

export interface PageToApply {
  /** The cursor the page was fetched after; the commit is refused if it has moved since. */
  readonly expectedCursor: string | null;
  /** Where the cursor goes once the page is applied. */
  readonly nextCursor: string;
  readonly events: readonly unknown[];
}

export type PageSummary = PagePlan['counts'] & {
  readonly events: number;
  /** Every recorded event's type and outcome (duplicates are not recorded again). */
  readonly outcomes: readonly { readonly event: string; readonly outcome: string }[];
};

interface Deps {
  readonly db: Kysely<Database>;
  readonly log: Logger;
}

/** Applies consecutive pages in one transaction; returns one summary per page. */
export async function applyPages(deps: Deps, batch: PagesToApply): Promise<PageSummary[]> {
  const items: ParsedItem[] = batch.pages.flat();
  let plans: PagePlan[];
  try {
    plans = [await inTransaction(deps.db, batch, (trx) => planAndWrite(trx, items))];
  } catch (error) {
    if (!isRefusedData(error)) throw error;
    deps.log.warn({ err: error }, 'the database refused part of a page; applying it event by event');
    plans = await inTransaction(deps.db, batch, (trx) => applyOneByOne(trx, items));
  }
  report(deps.log, plans);
  return summarise(batch.pages, items, plans);
}

export async function applyPage(deps: Deps, page: PageToApply): Promise<PageSummary> {
  const [summary] = await applyPages(deps, { ...page, pages: [page.events.map(parseEvent)] });
  return summary!;
}

async function inTransaction<T extends PagePlan | PagePlan[]>(
  db: Kysely<Database>,
  batch: Pick<PagesToApply, 'expectedCursor' | 'nextCursor'>,
  body: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await lockCursor(trx, batch.expectedCursor);
    const result = await body(trx);
    const plans: PagePlan[] = Array.isArray(result) ? result : [result];
    const newest = plans
      .map((p) => p.lastEventCreatedAt)
      .reduce((a, b) => (a && b ? (a > b ? a : b) : (a ?? b)), null);
    await advanceCursor(trx, batch.nextCursor, newest);
    return result;
  });
}

async function planAndWrite(trx: Transaction<Database>, items: readonly ParsedItem[]): Promise<PagePlan> {
  const seen = await loadSeenEvents(trx, [...new Set(items.map((i) => i.id))]);
  const snapshot = await loadSnapshot(trx, items);
  const plan = planPage(items, snapshot, seen);
  await writePlan(trx, plan);
  return plan;
}

async function applyOneByOne(trx: Transaction<Database>, items: readonly ParsedItem[]): Promise<PagePlan[]> {
  const plans: PagePlan[] = [];
  for (const item of items) {
    await sql`savepoint workos_sync_event`.execute(trx);
    try {
      plans.push(await planAndWrite(trx, [item]));
      await sql`release savepoint workos_sync_event`.execute(trx);
    } catch (error) {
      if (!isRefusedData(error)) throw error;
      await sql`rollback to savepoint workos_sync_event`.execute(trx);
      const message = error instanceof Error ? error.message : String(error);
      const refused: ParsedItem = {
        ...item,
        status: 'invalid',
        error: `the database refused this event: ${message}`,
      };
      plans.push(await planAndWrite(trx, [refused]));
    }
  }
  return plans;
}

/** SQLSTATE classes 22 (data exception), 23 (constraint) and 54 (limits): the data, not the server. */
function isRefusedData(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|54)/.test(code);
}

function report(log: Logger, plans: readonly PagePlan[]): void {
  for (const plan of plans) {
    for (const duplicate of plan.duplicates) {
      if (duplicate.differs) {
        log.warn(
          { eventId: duplicate.id },
          'an event id arrived again with a different payload; the first one recorded was kept',
        );
      }
    }
    for (const record of plan.records) {
      if (record.outcome === 'quarantined') {
        log.warn({ eventId: record.id, event: record.event, error: record.error }, 'event quarantined');
      }
    }
  }
}

/** Every item's fate is in its plan, in order: cut them back into the pages they came in. */
function summarise(
  pages: readonly (readonly ParsedItem[])[],
  items: readonly ParsedItem[],
  plans: readonly PagePlan[],
): PageSummary[] {
  const fates = plans.flatMap((p) => p.fates);
  const summaries: PageSummary[] = [];
  let at = 0;
  for (const page of pages) {
    const counts = { applied: 0, stale: 0, ignored: 0, quarantined: 0, duplicate: 0 };
    const outcomes: { event: string; outcome: string }[] = [];
    for (const end = at + page.length; at < end; at++) {
      const fate = fates[at]!;
      counts[fate]++;
      if (fate !== 'duplicate') outcomes.push({ event: items[at]!.event, outcome: fate });
    }
    summaries.push({ ...counts, events: page.length, outcomes });
  }
  return summaries;
}
