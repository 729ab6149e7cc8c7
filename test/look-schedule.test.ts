/**
 * The look schedule for a webhook's event (pure, no database): the waits after misses, and what a
 * poll that found events teaches the delay the next delivery's first look waits.
 */
import { describe, expect, it } from 'vitest';
import {
  DENSE_MISSES,
  LONGEST_WAIT_MS,
  learnedDelayMs,
  MISS_WAIT_MS,
  waitAfterMisses,
} from '../src/worker/webhooks/look-schedule.ts';

describe('waitAfterMisses', () => {
  it.each([
    [1, MISS_WAIT_MS],
    [DENSE_MISSES, MISS_WAIT_MS],
    [DENSE_MISSES + 1, 2 * MISS_WAIT_MS],
    [DENSE_MISSES + 2, 4 * MISS_WAIT_MS],
    [DENSE_MISSES + 5, 32 * MISS_WAIT_MS],
    [DENSE_MISSES + 6, LONGEST_WAIT_MS],
    [DENSE_MISSES + 50, LONGEST_WAIT_MS],
  ])('after %i misses: %i ms', (misses, wait) => {
    expect(waitAfterMisses(misses)).toBe(wait);
  });

  it('looks densely for the first second after a miss, so an event listed late is found within one wait', () => {
    let t = 0;
    for (let misses = 1; misses <= DENSE_MISSES; misses++) t += waitAfterMisses(misses);
    expect(t).toBe(1_000);
  });
});

describe('learnedDelayMs', () => {
  it.each([
    ['nothing found: unchanged', 800, [], 800],
    ['found at once with no delay learned: stays 0', 0, [{ foundAfterMs: 3, misses: 0 }], 0],
    [
      'found after misses: the time of the look that found it',
      0,
      [{ foundAfterMs: 1_004, misses: 10 }],
      1_004,
    ],
    [
      'found after a miss, shorter than before: still that time',
      2_000,
      [{ foundAfterMs: 1_100, misses: 1 }],
      1_100,
    ],
    ['found on the first look: nine tenths of the delay', 1_000, [{ foundAfterMs: 1_002, misses: 0 }], 900],
    [
      'found by a poll before its first look: that earlier time',
      1_000,
      [{ foundAfterMs: 300, misses: 0 }],
      300,
    ],
    ['found by a poll already running when it arrived: 0', 1_000, [{ foundAfterMs: -40, misses: 0 }], 0],
    [
      'a burst: the latest of those found after a miss',
      500,
      [
        { foundAfterMs: 700, misses: 2 },
        { foundAfterMs: 1_200, misses: 7 },
        { foundAfterMs: 100, misses: 0 },
      ],
      1_200,
    ],
    [
      'a burst all found on first looks: counted once',
      1_000,
      [
        { foundAfterMs: 1_010, misses: 0 },
        { foundAfterMs: 1_005, misses: 0 },
      ],
      900,
    ],
  ])('%s', (_name, previous, found, expected) => {
    expect(learnedDelayMs(previous, found)).toBe(expected);
  });

  it('with a steady delay, settles on about 1.5 looks an event, each found within one wait of it', () => {
    const listedAfterMs = 1_000;
    let delay = 0;
    let looks = 0;
    const events = 200;
    let latest = 0;
    for (let i = 0; i < events; i++) {
      let at = delay;
      let misses = 0;
      while (at < listedAfterMs) {
        misses++;
        at += waitAfterMisses(misses);
      }
      looks += misses + 1;
      if (i >= 20) latest = Math.max(latest, at);
      delay = learnedDelayMs(delay, [{ foundAfterMs: at, misses }]);
    }
    expect(latest).toBeLessThanOrEqual(listedAfterMs + MISS_WAIT_MS);
    expect(looks / events).toBeLessThan(1.7);
  });

  it('forgets a one-off slow event within a few deliveries', () => {
    let delay = learnedDelayMs(0, [{ foundAfterMs: 8_000, misses: 14 }]);
    let deliveries = 0;
    // Listing is back to at once: each first look finds its event.
    while (delay > 1_000) {
      delay = learnedDelayMs(delay, [{ foundAfterMs: delay, misses: 0 }]);
      deliveries++;
    }
    expect(deliveries).toBeLessThanOrEqual(20);
  });
});
