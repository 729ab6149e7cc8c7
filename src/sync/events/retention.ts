/**
 * How long the event log keeps an event. An event is pruned only when all of these hold:
 *
 * - It is older than the retention by WorkOS's clock (its `created_at`; one WorkOS sent none of,
 *   a quarantined payload, by when it was received). The retention is never shorter than
 *   `EVENTS_RETENTION_FLOOR_DAYS`: WorkOS's longest documented retention plus a margin. What
 *   makes an event served twice apply once is its row here (the `events` key); WorkOS serves an
 *   event again when a cursor is recovered (the stream restarts from its oldest retained event)
 *   or a backfill starts `--since` a date, so an id WorkOS may still serve must still be here.
 * - It is not quarantined, unless asked: its row is the only record of a payload that failed,
 *   kept until someone has looked at it.
 * - Nothing points at it: the cursor, and each mirror row's `last_event_id` (which event wrote
 *   it, what `status`, the hooks and an operator's query follow).
 *
 * An event old enough to go cannot gain a pointer while it goes: only an event applied now is
 * pointed at, and WorkOS serves none older than its retention.
 */
import { type Kysely, sql } from 'kysely';
import type { Database, EventOutcome } from '../../db/tables.ts';

/** The longer of WorkOS's two documented retentions (30 days; its newer operations docs: 90). */
export const WORKOS_RETENTION_DAYS = 90;
/** For a WorkOS that keeps events a little past what it documents, and for clocks. */
export const RETENTION_MARGIN_DAYS = 30;
export const EVENTS_RETENTION_FLOOR_DAYS = WORKOS_RETENTION_DAYS + RETENTION_MARGIN_DAYS;
/**
 * A year and a month: "what happened to this connection, and when" answered for a whole year back
 * (a yearly access review or audit finds the year before it entire), and far past the floor. At
 * about 1 kB a row, even a busy environment's year of events is a few hundred MB.
 */
export const DEFAULT_EVENTS_RETENTION_DAYS = 400;

export interface EventsRetention {
  /** Days an event is kept; null: forever. At least `EVENTS_RETENTION_FLOOR_DAYS`. */
  readonly days: number | null;
  /** Whether quarantined events are pruned too. */
  readonly quarantined: boolean;
}

export const DEFAULT_EVENTS_RETENTION: EventsRetention = Object.freeze({
  days: DEFAULT_EVENTS_RETENTION_DAYS,
  quarantined: false,
});

/** The mirror's tables whose rows name the event that last wrote them. */
const POINTING = ['connections', 'connection_certificates', 'organizations', 'organization_domains'] as const;

/** A retention that prunes: a number of days. */
type Prunable = EventsRetention & { readonly days: number };

/** Where a walk of the log by `(created_at, id)` has got to: the last event it deleted. */
export type LogPosition = { readonly createdAt: Date; readonly id: string } | null;

/**
 * The events pruning would delete now (`e`), by the rule above: `dated` ones by their
 * `created_at`, walked in its index's order from `after`; the `undated` rest (no `created_at`:
 * quarantined payloads, mostly) by when they were received.
 */
function prunable(db: Kysely<Database>, retention: Prunable, which: 'dated' | 'undated', after: LogPosition) {
  const cutoff = sql<Date>`now() - ${retention.days} * interval '1 day'`;
  return db
    .selectFrom('events as e')
    .$if(which === 'dated', (qb) => qb.where('e.created_at', '<', cutoff))
    .$if(which === 'undated', (qb) =>
      qb.where('e.created_at', 'is', null).where('e.received_at', '<', cutoff),
    )
    .$if(after !== null, (qb) =>
      qb
        .where('e.created_at', '>=', after!.createdAt)
        .where((eb) => eb(eb.refTuple('e.created_at', 'e.id'), '>', eb.tuple(after!.createdAt, after!.id))),
    )
    .$if(!retention.quarantined, (qb) => qb.where('e.outcome', '<>', 'quarantined'))
    .where((eb) =>
      eb.not(
        eb.or([
          eb.exists(eb.selectFrom('sync_state as s').select('s.stream').whereRef('s.cursor', '=', 'e.id')),
          ...POINTING.map((table) =>
            eb.exists(
              eb.selectFrom(table).select(sql`1`.as('one')).whereRef(`${table}.last_event_id`, '=', 'e.id'),
            ),
          ),
        ]),
      ),
    );
}

/**
 * Deletes one batch of prunable events, oldest first, skipping rows another transaction holds:
 * the dated ones after `after` (then `next` is where the next batch starts, so the events kept
 * before it are not read again), or the undated ones.
 */
export async function pruneBatch(
  db: Kysely<Database>,
  retention: Prunable,
  limit: number,
  from: LogPosition | 'undated',
): Promise<{ readonly pruned: Partial<Record<EventOutcome, number>>; readonly next: LogPosition }> {
  const which = from === 'undated' ? 'undated' : 'dated';
  const batch = prunable(db, retention, which, from === 'undated' ? null : from)
    .select('e.id')
    .orderBy('e.created_at')
    .orderBy('e.id')
    .limit(limit)
    .forUpdate()
    .skipLocked();
  const rows = await db
    .deleteFrom('events')
    .where('id', 'in', batch)
    .returning(['id', 'created_at', 'outcome'])
    .execute();
  let next: LogPosition = from === 'undated' ? null : from;
  for (const row of rows) {
    const at = row.created_at;
    if (
      at &&
      (!next || at > next.createdAt || (at.getTime() === next.createdAt.getTime() && row.id > next.id))
    )
      next = { createdAt: at, id: row.id };
  }
  return { pruned: byOutcome(rows.map(({ outcome }) => ({ outcome, n: 1 }))), next };
}

/** What pruning would delete now, by outcome (a dry run). */
export async function countPrunable(
  db: Kysely<Database>,
  retention: Prunable,
): Promise<Partial<Record<EventOutcome, number>>> {
  const counts: { outcome: EventOutcome; n: number }[] = [];
  for (const which of ['dated', 'undated'] as const) {
    counts.push(
      ...(await prunable(db, retention, which, null)
        .select(['e.outcome', sql<number>`count(*)::int`.as('n')])
        .groupBy('e.outcome')
        .execute()),
    );
  }
  return byOutcome(counts);
}

function byOutcome(
  rows: readonly { outcome: EventOutcome; n: number }[],
): Partial<Record<EventOutcome, number>> {
  const counts: Partial<Record<EventOutcome, number>> = {};
  for (const { outcome, n } of rows) counts[outcome] = (counts[outcome] ?? 0) + n;
  return counts;
}
