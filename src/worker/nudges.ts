/**
 * Webhook nudges, in the replica that holds the events lease. Each one makes the worker poll now,
 * coalesced: a delivery naming an event the mirror is known to have is no reason to poll; polls
 * a nudge starts are at least `SPACING_MS` apart (a burst of 500 deliveries is a handful of polls,
 * each draining everything listed); and one running takes at most one more after it. For the
 * event id a delivery names, the worker keeps polling with short, growing waits until that event
 * is in the mirror (recorded in `events`) or `lookForMs` has passed since the delivery: WorkOS
 * makes an event visible to cursor reads a few seconds after it may send the webhook. Past that,
 * it gives up quietly: the schedule covers the event.
 *
 * A nudge never writes anything and never moves the cursor: the poll it starts does that, from
 * the Events API, from the stored cursor, as every poll does.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/tables.ts';
import type { Logger } from '../logger.ts';
import type { SyncMetrics } from './metrics.ts';

export interface Nudge {
  readonly eventId: string;
  readonly receivedAt: Date;
}

export interface NudgesDeps {
  readonly db: Kysely<Database>;
  readonly log: Logger;
  readonly metrics: Pick<SyncMetrics, 'recordWebhookToApplied'>;
  /** Start a poll now, or once more after the one running. */
  readonly pollSoon: () => void;
  readonly now?: () => number;
}

/** Waits between looks: 250 ms, doubling, at most 4 s. */
const FIRST_WAIT_MS = 250;
const LONGEST_WAIT_MS = 4_000;
/** Nudged polls start at least this far apart: less than a webhook's lag is worth, more than a burst's spacing. */
const SPACING_MS = 100;
/** Event ids remembered as in the mirror, the newest (a burst names the same few again and again). */
const KNOWN_IDS = 10_000;

export class Nudges {
  readonly #pending = new Map<string, { readonly receivedAt: number; looks: number }>();
  /** Insertion-ordered: the oldest go first when it is full. */
  readonly #known = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #lastPollAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly deps: NudgesDeps,
    private readonly lookForMs: number,
  ) {}

  nudge(delivery: Nudge): void {
    if (this.#known.has(delivery.eventId)) return;
    if (!this.#pending.has(delivery.eventId))
      this.#pending.set(delivery.eventId, { receivedAt: delivery.receivedAt.getTime(), looks: 0 });
    this.#schedule(0);
  }

  /**
   * After each poll, whatever started it: the events named that reached the mirror are done; for
   * the others the next look is scheduled, or given up once `lookForMs` has passed.
   */
  async afterPoll(): Promise<void> {
    if (this.#pending.size === 0) return;
    const ids = [...this.#pending.keys()];
    const arrived = await this.deps.db
      .selectFrom('events')
      .select('id')
      .where('id', '=', (eb) => eb.fn.any(eb.val(ids)))
      .execute();
    const now = this.deps.now?.() ?? Date.now();
    for (const { id } of arrived) {
      this.deps.metrics.recordWebhookToApplied((now - this.#pending.get(id)!.receivedAt) / 1000);
      this.#pending.delete(id);
      this.#known.add(id);
      if (this.#known.size > KNOWN_IDS) this.#known.delete(this.#known.values().next().value!);
    }
    let wait = Number.POSITIVE_INFINITY;
    for (const [id, look] of this.#pending) {
      if (now - look.receivedAt >= this.lookForMs) {
        this.deps.log.debug(
          { eventId: id },
          'a webhook`s event is not listed yet; leaving it to the schedule',
        );
        this.#pending.delete(id);
        continue;
      }
      look.looks++;
      wait = Math.min(wait, FIRST_WAIT_MS * 2 ** (look.looks - 1), LONGEST_WAIT_MS);
    }
    if (wait !== Number.POSITIVE_INFINITY) this.#schedule(wait);
  }

  /** This replica no longer polls (lease lost, shutdown): what it was looking for is the next holder's to find. */
  clear(): void {
    this.#pending.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** A nudged poll in `waitMs`, or sooner if one is already due sooner; never closer than the spacing. */
  #schedule(waitMs: number): void {
    const now = this.deps.now?.() ?? Date.now();
    const at = Math.max(now + waitMs, this.#lastPollAt + SPACING_MS);
    if (this.#timer && this.#dueAt <= at) return;
    clearTimeout(this.#timer);
    this.#dueAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#lastPollAt = this.deps.now?.() ?? Date.now();
      this.deps.pollSoon();
    }, at - now);
    this.#timer.unref();
  }

  #dueAt = Number.POSITIVE_INFINITY;
}
