/**
 * Webhook nudges, in the replica that holds the events lease. Each one makes the worker poll now,
 * coalesced: a delivery naming an event the mirror is known to have is no reason to poll; polls
 * a nudge starts are at least `SPACING_MS` apart (a burst of 500 deliveries is a handful of polls,
 * each draining everything listed); and one running takes at most one more after it. For the
 * event id a delivery names, the worker keeps looking — on the schedule `look-schedule.ts` learns
 * from how late WorkOS lists events after their webhooks — until that event is in the mirror
 * (recorded in `events`) or `lookForMs` has passed since the delivery arrived. Past that, it gives
 * up quietly: the schedule covers the event.
 *
 * A nudge never writes anything and never moves the cursor: the poll it starts does that, from
 * the Events API, from the stored cursor, as every poll does.
 */
import type { SpanContext } from '@opentelemetry/api';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/tables.ts';
import type { Logger } from '../../logger.ts';
import type { SyncMetrics } from '../metrics.ts';
import { type Found, learnedDelayMs, waitAfterMisses } from './look-schedule.ts';

export interface Nudge {
  readonly eventId: string;
  readonly receivedAt: Date;
  /** The delivery's span, when traced: the poll that applies the event links to it. */
  readonly span?: SpanContext | undefined;
}

export interface NudgesDeps {
  readonly db: Kysely<Database>;
  readonly log: Logger;
  readonly metrics: Pick<SyncMetrics, 'recordWebhookToApplied'>;
  /** Start a poll now, or once more after the one running. */
  readonly pollSoon: () => void;
}

/** Nudged polls start at least this far apart: less than a webhook's lag is worth, more than a burst's spacing. */
const SPACING_MS = 100;
/** Event ids remembered as in the mirror, the newest (a burst names the same few again and again). */
const KNOWN_IDS = 10_000;
/** A timer may fire a hair before the time it was set for, as `Date.now()` reads it. */
const TIMER_SLACK_MS = 5;

interface Look {
  /** The receiver's clock, for the webhook-to-applied metric only. */
  readonly receivedAt: number;
  /** This process's clock, for everything else: the receiving replica's may differ. */
  readonly arrivedAt: number;
  nextLookAt: number;
  misses: number;
  readonly span: SpanContext | undefined;
}

export class Nudges {
  readonly #pending = new Map<string, Look>();
  /** Insertion-ordered: the oldest go first when it is full. */
  readonly #known = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #dueAt = Number.POSITIVE_INFINITY;
  #lastPollAt = Number.NEGATIVE_INFINITY;
  #delayMs = 0;

  constructor(
    private readonly deps: NudgesDeps,
    private readonly lookForMs: number,
  ) {}

  /** Whether an event a webhook named is still looked for: a poll now is for someone waiting. */
  awaiting(): boolean {
    return this.#pending.size > 0;
  }

  nudge(delivery: Nudge): void {
    if (this.#known.has(delivery.eventId) || this.#pending.has(delivery.eventId)) return;
    const now = Date.now();
    const nextLookAt = now + this.#delayMs;
    this.#pending.set(delivery.eventId, {
      receivedAt: delivery.receivedAt.getTime(),
      arrivedAt: now,
      nextLookAt,
      misses: 0,
      span: delivery.span,
    });
    this.#schedule(nextLookAt);
  }

  /** The spans of the deliveries that named any of these events, still looked for. */
  deliverySpans(eventIds: readonly string[]): SpanContext[] {
    const spans: SpanContext[] = [];
    if (this.#pending.size === 0) return spans;
    for (const id of eventIds) {
      const span = this.#pending.get(id)?.span;
      if (span) spans.push(span);
    }
    return spans;
  }

  /**
   * After each poll, whatever started it (`startedAt`, on `Date.now()`'s clock): the events named
   * that reached the mirror are done and teach the schedule; for the others the next look is
   * scheduled, or given up once `lookForMs` has passed.
   */
  async afterPoll(startedAt: number): Promise<void> {
    if (this.#pending.size === 0) return;
    const ids = [...this.#pending.keys()];
    const arrived = await this.deps.db
      .selectFrom('events')
      .select('id')
      .where('id', '=', (eb) => eb.fn.any(eb.val(ids)))
      .execute();
    const now = Date.now();
    const found: Found[] = [];
    for (const { id } of arrived) {
      const look = this.#pending.get(id)!;
      this.deps.metrics.recordWebhookToApplied((Date.now() - look.receivedAt) / 1000);
      found.push({ foundAfterMs: startedAt - look.arrivedAt, misses: look.misses });
      this.deps.log.debug(
        {
          eventId: id,
          misses: look.misses,
          foundAfterMs: startedAt - look.arrivedAt,
          delayMs: this.#delayMs,
        },
        'a webhook`s event is in the mirror',
      );
      this.#pending.delete(id);
      this.#known.add(id);
      if (this.#known.size > KNOWN_IDS) this.#known.delete(this.#known.values().next().value!);
    }
    this.#delayMs = learnedDelayMs(this.#delayMs, found);
    let next = Number.POSITIVE_INFINITY;
    for (const [id, look] of this.#pending) {
      // Given up only once a poll that started after the delivery arrived has looked: one that was
      // running when it came may have read the page before the event existed.
      if (now - look.arrivedAt >= this.lookForMs && startedAt >= look.arrivedAt) {
        this.deps.log.debug(
          { eventId: id },
          'a webhook`s event is not listed yet; leaving it to the schedule',
        );
        this.#pending.delete(id);
        continue;
      }
      // Only a poll that started once its look was due is a miss: one already running when the
      // delivery arrived may have read the page before the event was listed.
      if (startedAt >= look.nextLookAt - TIMER_SLACK_MS) {
        look.misses++;
        look.nextLookAt = startedAt + waitAfterMisses(look.misses);
      }
      next = Math.min(next, look.nextLookAt);
    }
    if (next !== Number.POSITIVE_INFINITY) this.#schedule(next);
  }

  /** This replica no longer polls (lease lost, shutdown): what it was looking for is the next holder's to find. */
  clear(): void {
    this.#pending.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#dueAt = Number.POSITIVE_INFINITY;
  }

  /** A nudged poll at `at`, or sooner if one is already due sooner; never closer than the spacing. */
  #schedule(at: number): void {
    const now = Date.now();
    const due = Math.max(at, now, this.#lastPollAt + SPACING_MS);
    if (this.#timer && this.#dueAt <= due) return;
    clearTimeout(this.#timer);
    this.#dueAt = due;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#dueAt = Number.POSITIVE_INFINITY;
      this.#lastPollAt = Date.now();
      this.deps.pollSoon();
    }, due - now);
    this.#timer.unref();
  }
}
