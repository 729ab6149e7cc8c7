/**
 * Pruning the event log (which events go: events/retention.ts). In batches of `PRUNE_BATCH`
 * rows, each its own short transaction: a delete holds the row locks of the events it deletes
 * and nothing else, and no writer waits on those (the poller inserts new ids and reads old ones
 * without locking them; a row another transaction holds is skipped, left for the next prune).
 * Whoever calls it holds the `prune` lease, so two never walk the log at once.
 */
import type { Kysely } from 'kysely';
import type { Database, EventOutcome } from '../db/tables.ts';
import type { Logger } from '../logger.ts';
import { countPrunable, type EventsRetention, type LogPosition, pruneBatch } from './events/retention.ts';

/** Small enough that each delete takes milliseconds, large enough that a backlog goes in minutes. */
export const PRUNE_BATCH = 500;

export interface PruneOptions {
  /** Count what would go, delete nothing (and take no lease). */
  readonly dryRun?: boolean | undefined;
  /** Prune quarantined events past the retention too (default: the retention's `quarantined`, the `events.pruneQuarantined` option). */
  readonly quarantined?: boolean | undefined;
  /** Stops between batches (what went by then is reported). */
  readonly signal?: AbortSignal | undefined;
  /** Rows a batch deletes at most (default `PRUNE_BATCH`: tests walk the log in smaller steps). */
  readonly batchSize?: number | undefined;
}

export interface PruneReport {
  readonly dryRun: boolean;
  /** Null when the retention keeps events forever (nothing was looked at). */
  readonly retentionDays: number | null;
  /** Deleted (or, in a dry run, to be deleted), by outcome. */
  readonly pruned: Readonly<Record<EventOutcome, number>>;
  readonly batches: number;
}

export async function pruneEvents(
  deps: { readonly db: Kysely<Database>; readonly log: Logger; readonly retention: EventsRetention },
  options: PruneOptions = {},
): Promise<PruneReport> {
  const days = deps.retention.days;
  const dryRun = options.dryRun ?? false;
  const pruned = { applied: 0, stale: 0, ignored: 0, quarantined: 0 };
  if (days === null) return { dryRun, retentionDays: null, pruned, batches: 0 };
  const retention = { days, quarantined: options.quarantined ?? deps.retention.quarantined };
  const add = (counts: Partial<Record<EventOutcome, number>>) => {
    for (const [outcome, n] of Object.entries(counts)) pruned[outcome as EventOutcome] += n;
  };
  if (dryRun) {
    add(await countPrunable(deps.db, retention));
    return { dryRun, retentionDays: days, pruned, batches: 0 };
  }
  const size = options.batchSize ?? PRUNE_BATCH;
  let batches = 0;
  // The dated events in `created_at` order, each batch from where the last stopped; then the rest.
  for (const phase of ['dated', 'undated'] as const) {
    let from: LogPosition = null;
    while (!options.signal?.aborted) {
      const start: LogPosition | 'undated' = phase === 'undated' ? 'undated' : from;
      const batch: Awaited<ReturnType<typeof pruneBatch>> = await deps.db
        .transaction()
        .execute((trx) => pruneBatch(trx, retention, size, start));
      const n = Object.values(batch.pruned).reduce((sum, k) => sum + k, 0);
      if (n > 0) batches += 1;
      add(batch.pruned);
      if (n < size) break;
      from = batch.next;
    }
  }
  const total = Object.values(pruned).reduce((sum, k) => sum + k, 0);
  if (total > 0) deps.log.info({ pruned, batches, retentionDays: days }, 'events past retention pruned');
  return { dryRun, retentionDays: days, pruned, batches };
}
