/**
 * The loop the WorkOS guide to the Events API suggests, written plainly: fetch the page after the
 * stored cursor; for each of its events in turn open a transaction, apply the event, store the
 * cursor, commit; ask for the next page once the page is done.
 *
 * It applies each event with the engine's own pieces (the same parsing, handlers and guarded
 * writes of `mirror-store.ts`), so both loops leave identical tables (the benchmark checks) and
 * the comparison measures what the engine does differently: pages read ahead, batches in one
 * transaction, one statement per table. It skips the engine's extra reads (the seen-events check,
 * the cursor fence) and the second plan after a refused write (it writes alone), which only makes
 * it faster.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../src/db/tables.ts';
import { advanceCursor, readCursor } from '../src/sync/events/cursor.ts';
import { parseEvent } from '../src/sync/events/parse-event.ts';
import { planPage } from '../src/sync/events/plan-page.ts';
import { loadSnapshot, rowsTouched } from '../src/sync/events/snapshot.ts';
import { recordEvents, writeVersions } from '../src/sync/events/store.ts';
import { replaceDomains } from '../src/sync/mirror/connection-row.ts';
import type { EventsSource } from '../src/workos/events-source.ts';

export interface LoopResult {
  readonly events: number;
  readonly pages: number;
  readonly ms: number;
}

/** Runs until the stream is drained, or until `maxEvents` (checked between pages). */
export async function straightforwardLoop(
  db: Kysely<Database>,
  source: EventsSource,
  options: { readonly maxEvents?: number } = {},
): Promise<LoopResult> {
  const started = performance.now();
  let cursor = await readCursor(db);
  let events = 0;
  let pages = 0;
  while (events < (options.maxEvents ?? Number.POSITIVE_INFINITY)) {
    const page = await source.listEvents(cursor === null ? {} : { after: cursor });
    pages++;
    for (const raw of page.events) {
      const item = parseEvent(raw);
      await db.transaction().execute(async (trx) => {
        const plan = planPage([item], await loadSnapshot(trx, rowsTouched([item])), new Map());
        await writeVersions(trx, plan);
        await replaceDomains(trx, plan.domains);
        await recordEvents(trx, plan.records);
        await advanceCursor(trx, item.id, item.created_at);
      });
      cursor = item.id;
      events++;
    }
    if (page.events.length < page.limit || page.after === null) break;
  }
  return { events, pages, ms: performance.now() - started };
}
