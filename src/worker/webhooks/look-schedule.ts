/**
 * When to look for the event a webhook named: the pure part of `nudges.ts`.
 *
 * WorkOS may deliver a webhook before the Events API lists its event (a few seconds later, in its
 * docs). Polling at once and then on growing waits finds it late by up to the last wait; polling
 * densely finds it on time but spends a request per wait. So the schedule learns the delay:
 *
 * - The first look for a delivery waits the learned delay (0 to begin with: at once).
 * - After a look that missed, look again every `MISS_WAIT_MS` for `DENSE_MISSES` looks, then on
 *   waits doubling up to `LONGEST_WAIT_MS` (the nudge's time bound ends it).
 * - Found after a miss: the event became listed between that miss and this look, so the learned
 *   delay becomes this look's time (since the delivery). Found on the first look, or by a poll
 *   that started before it: the delay may have shrunk, so it becomes the smaller of that time and
 *   nine tenths of what it was. A one-off slow event makes the next ones later (each still found
 *   on its first look), by a tenth less each time: from 8 s back to 1 s in twenty deliveries.
 *
 * With a steady delay V, an event is found at most `MISS_WAIT_MS` after V (plus the poll), on
 * about one and a half looks; with V = 0, on one look, at once.
 */

export const MISS_WAIT_MS = 100;
export const DENSE_MISSES = 10;
export const LONGEST_WAIT_MS = 4_000;

/** The wait before the next look, after `misses` looks (≥ 1) that did not find the event. */
export function waitAfterMisses(misses: number): number {
  if (misses <= DENSE_MISSES) return MISS_WAIT_MS;
  return Math.min(LONGEST_WAIT_MS, MISS_WAIT_MS * 2 ** (misses - DENSE_MISSES));
}

/** An event a poll found, that many ms after its delivery arrived, having missed it that many looks. */
export interface Found {
  /** When the poll that found it started, after the delivery arrived (negative: before). */
  readonly foundAfterMs: number;
  readonly misses: number;
}

/**
 * The learned delay after one poll found `found` (every event it found, so a burst found at once
 * counts once). Any found after a miss says how late listing is now: the latest of those. Else
 * the delay may have shrunk: the earliest time found, or nine tenths of the previous delay.
 */
export function learnedDelayMs(previousMs: number, found: readonly Found[]): number {
  if (found.length === 0) return previousMs;
  const at = (f: Found) => Math.max(0, Math.round(f.foundAfterMs));
  const afterMiss = found.filter((f) => f.misses > 0);
  if (afterMiss.length > 0) return Math.max(...afterMiss.map(at));
  return Math.min(Math.floor(previousMs * 0.9), ...found.map(at));
}
