/**
 * The emulated WorkOS's clock: a base clock (real time unless a test gives its own) plus an
 * offset, so WorkOS can run ahead of or behind the host it is tested against. Every time the
 * emulator produces — event and connection times, ids, certificate validity, retention and
 * visibility windows, the `Date` header — comes from here.
 *
 * Changing the offset never moves the clock back. A real WorkOS never serves an event, an
 * `updated_at` or a `Date` older than one it served before, and a mirror may rely on that; a clock
 * that jumped back would make the emulator break rules the real API keeps. So when an offset
 * change would set the clock back, it holds just after the last time it showed until base + offset
 * passes it, then runs on at the new offset. While held, each reading is 1 ms after the previous
 * one: an edit stamped during the hold never ties with, or precedes, an event stamped just before
 * it (the event log would have bumped a clock that stood still by 1 ms per event).
 *
 * Outside a hold the base clock passes through untouched, even one that goes back by itself (tests
 * use such clocks on purpose): with offset 0, same base clock ⇒ same times as before offsets existed.
 */

const DAY_MS = 86_400_000;

/** Ten years either way: far beyond any clock skew, and well inside what a Date can hold. */
export const MAX_CLOCK_OFFSET_MS = 3650 * DAY_MS;

export interface ClockReading {
  now: Date;
  offsetMs: number;
  /** How far the clock is held ahead of base + offset after an offset moved back; 0 while it runs. */
  holdMs: number;
}

/** Why an offset is refused, or undefined when it is usable. */
export function clockOffsetProblem(ms: number): string | undefined {
  if (!Number.isSafeInteger(ms)) return 'must be an integer number of milliseconds';
  if (Math.abs(ms) > MAX_CLOCK_OFFSET_MS)
    return `must be within ±${MAX_CLOCK_OFFSET_MS} ms (${MAX_CLOCK_OFFSET_MS / DAY_MS} days)`;
  return undefined;
}

function checkedOffset(ms: number): number {
  const problem = clockOffsetProblem(ms);
  if (problem !== undefined) throw new RangeError(`clock offset ${ms} ${problem}`);
  return ms;
}

export class ModelClock {
  private offset: number;
  /** The next reading while an offset that moved back holds the clock, until base + offset passes it. */
  private heldAt: number | undefined;
  /** The latest time a reading returned: what a move back must not go before. */
  private lastShown = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly base: () => Date,
    offsetMs = 0,
  ) {
    this.offset = checkedOffset(offsetMs);
  }

  get offsetMs(): number {
    return this.offset;
  }

  now(): Date {
    return this.read().now;
  }

  /** One reading of the base clock, and what the model's clock shows for it. */
  read(): ClockReading {
    return this.readAt(this.base().getTime());
  }

  /**
   * Takes effect at once unless it would put the clock before a time it has shown: then it starts
   * a hold. A clock that has shown nothing yet (a fresh model's) takes any offset at once.
   */
  setOffset(ms: number): ClockReading {
    const next = checkedOffset(ms);
    const baseMs = this.base().getTime();
    this.offset = next;
    if (baseMs + next < this.lastShown) this.heldAt = this.lastShown + 1;
    return this.readAt(baseMs);
  }

  private readAt(baseMs: number): ClockReading {
    const running = baseMs + this.offset;
    if (this.heldAt !== undefined && running < this.heldAt) {
      const held = this.heldAt;
      this.heldAt += 1;
      return this.shown(held, held - running);
    }
    // Past the hold, the base clock passes through again, even if it later goes back by itself.
    this.heldAt = undefined;
    return this.shown(running, 0);
  }

  private shown(ms: number, holdMs: number): ClockReading {
    this.lastShown = Math.max(this.lastShown, ms);
    return { now: new Date(ms), offsetMs: this.offset, holdMs };
  }
}
