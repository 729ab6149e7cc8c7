/**
 * One page of events → one transaction: lock the cursor (fencing), load and lock the touched
 * rows, plan (pure), write, record every event with its outcome, advance the cursor. All of it
 * commits or none of it does, so a crash at any instant loses nothing and repeats nothing.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/tables.ts';
import type { Logger } from '../logger.ts';
import { advanceCursor, lockCursor } from './cursor.ts';
import { loadSeenEvents, loadSnapshot, writePlan } from './mirror-store.ts';
import { type ParsedItem, parseEvent } from './parse-event.ts';
import { type PagePlan, planPage } from './plan-page.ts';

export interface PageToApply {
  /** The cursor the page was fetched after; the commit is refused if it has moved since. */
  readonly expectedCursor: string | null;
  /** Where the cursor goes once the page is applied. */
  readonly nextCursor: string;
  readonly events: readonly unknown[];
}

export type PageSummary = PagePlan['counts'] & { readonly events: number };

export async function applyPage(
  deps: { readonly db: Kysely<Database>; readonly log: Logger },
  page: PageToApply,
): Promise<PageSummary> {
  const items: ParsedItem[] = page.events.map(parseEvent);
  const plan = await deps.db.transaction().execute(async (trx) => {
    await lockCursor(trx, page.expectedCursor);
    const seen = await loadSeenEvents(trx, [...new Set(items.map((i) => i.id))]);
    const snapshot = await loadSnapshot(trx, items);
    const planned = planPage(items, snapshot, seen);
    await writePlan(trx, planned);
    await advanceCursor(trx, page.nextCursor, planned.lastEventCreatedAt);
    return planned;
  });

  for (const duplicate of plan.duplicates) {
    if (duplicate.differs) {
      deps.log.warn(
        { eventId: duplicate.id },
        'an event id arrived again with a different payload; the first one recorded was kept',
      );
    }
  }
  for (const record of plan.records) {
    if (record.outcome === 'quarantined') {
      deps.log.warn({ eventId: record.id, event: record.event, error: record.error }, 'event quarantined');
    }
  }
  return { ...plan.counts, events: page.events.length };
}
