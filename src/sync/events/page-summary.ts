/** What applying a batch of pages tells its caller (a summary per page) and the log (what went wrong with an event). */
import type { Logger } from '../../logger.ts';
import type { ParsedItem } from './parse-event.ts';
import type { EventFate, PagePlan } from './plan-page.ts';

export type PageSummary = Readonly<Record<EventFate, number>> & {
  readonly events: number;
  /** Every recorded event's type and outcome (duplicates are not recorded again). */
  readonly outcomes: readonly { readonly event: string; readonly outcome: string }[];
};

export function reportOutcomes(log: Logger, plans: readonly PagePlan[]): void {
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
export function summarise(
  pages: readonly (readonly ParsedItem[])[],
  items: readonly ParsedItem[],
  plans: readonly PagePlan[],
): PageSummary[] {
  const fates = plans.flatMap((p) => p.fates);
  const summaries: PageSummary[] = [];
  let at = 0;
  for (const page of pages) {
    const counts: Record<EventFate, number> = {
      applied: 0,
      stale: 0,
      ignored: 0,
      quarantined: 0,
      duplicate: 0,
    };
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
