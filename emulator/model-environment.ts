/**
 * The environment every part of the model shares: WorkOS's clock and its offset, the event log's
 * visibility delay, its listeners and raw events, and the id generator. `WorkosModel` builds on it.
 */
import type { ClockReading } from './clock.ts';
import type { EventBody, EventListBody, ListEventsParams, RawEvent } from './event-log.ts';
import type { ModelParts } from './model-parts.ts';

export abstract class ModelEnvironment {
  /** WorkOS's "now": the base clock plus the offset (`setClockOffset`). */
  readonly clock: () => Date;

  protected constructor(protected readonly parts: ModelParts) {
    this.clock = parts.clock;
  }

  /** The WorkOS environment it is (`WorkosModelOptions.environment`; `default` unless named). */
  get environment(): string {
    return this.parts.environment;
  }

  /** What its ids carry to tell them from other environments' (`ids.ts`); undefined: `default`. */
  get idTag(): string | undefined {
    return this.parts.ids.tag;
  }

  get clockOffsetMs(): number {
    return this.parts.time.offsetMs;
  }

  /**
   * Runs WorkOS's clock `ms` ahead of the base clock from now on (negative: behind; RangeError past
   * ±MAX_CLOCK_OFFSET_MS). Never moves the clock back: a smaller offset holds it just after the
   * time it shows until base + offset catches up (`clock.ts`), so event times stay strictly
   * increasing and no `updated_at` goes back. Answers with the clock as it then reads.
   */
  setClockOffset(ms: number): ClockReading {
    return this.parts.time.setOffset(ms);
  }

  /** The clock, its offset and any hold, from one reading of the base clock. */
  readClock(): ClockReading {
    return this.parts.time.read();
  }

  /** How long, in ms of WorkOS's clock, a new event stays out of List Events (0: not at all). */
  get visibilityDelayMs(): number {
    return this.parts.log.visibilityDelay;
  }

  /** From now on, for every event old and new (RangeError outside 0..MAX_VISIBILITY_DELAY_MS). */
  setVisibilityDelay(ms: number): void {
    this.parts.log.setVisibilityDelay(ms);
  }

  /**
   * Calls `listener` with every event appended from now on — connection events and raw ones —
   * synchronously, in log order (the emulator's webhook deliveries start here). Returns the
   * function that stops it. The listener must not throw: the mutation has already happened.
   */
  onEvent(listener: (event: EventBody) => void): () => void {
    return this.parts.log.onAppend(listener);
  }

  /** A fresh id from the model's generator, e.g. `newId('org')`. */
  newId(prefix: string, at?: Date): string {
    return this.parts.ids.next(prefix, at ?? this.clock());
  }

  /**
   * Appends any body to the log verbatim (malformed events, unknown types). It is served even
   * when a request's `events` filter excludes its type. `id` and `created_at` are filled if absent.
   */
  appendRawEvent(event: RawEvent): RawEvent {
    return this.parts.log.appendRaw(event);
  }

  /** The whole log in order, raw events included. Do not mutate the returned bodies. */
  events(): EventBody[] {
    return this.parts.log.all();
  }

  get eventCount(): number {
    return this.parts.log.size;
  }

  /** List Events. Throws InvalidParameterError (422) or UnknownCursorError (400). */
  listEvents(params: ListEventsParams = {}): EventListBody {
    return this.parts.log.list(params);
  }
}
