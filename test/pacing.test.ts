/**
 * How a fleet environment's work is paced (pure, no database): the period after a poll that found
 * N events, given the schedule and the bound; which fires it polls on; and the per-environment
 * offsets that spread a thousand environments' polls and reconciliations over time.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_IDLE_POLL_MAX_MS,
  environmentPacing,
  fleetIdlePollMaxMs,
  longestPollPeriodMs,
  offsetMs,
  PollPacer,
  periodAfterPoll,
  pollPhase,
  pollsOnFire,
  RECONCILE_SPREAD_MAX_MS,
} from '../src/worker/pacing.ts';

const S = 1_000;

describe('periodAfterPoll', () => {
  it.each<[string, number, number, number, number | null, number]>([
    // schedule, bound, previous period, events found → next period
    ['found nothing: doubles', 5 * S, 30 * S, 5 * S, 0, 10 * S],
    ['doubles again', 5 * S, 30 * S, 10 * S, 0, 20 * S],
    ['up to the most whole periods within the bound', 5 * S, 30 * S, 20 * S, 0, 30 * S],
    ['and stays there', 5 * S, 30 * S, 30 * S, 0, 30 * S],
    ['found events: the schedule, from anywhere', 5 * S, 30 * S, 30 * S, 3, 5 * S],
    ['found one', 5 * S, 30 * S, 10 * S, 1, 5 * S],
    ['no poll ran to its end (a standby, a failure): the schedule', 5 * S, 30 * S, 20 * S, null, 5 * S],
    ['every second: 1 → 2', S, 30 * S, S, 0, 2 * S],
    ['every second: 16 → 30 (the bound)', S, 30 * S, 16 * S, 0, 30 * S],
    ['a bound not a multiple of the schedule: 14 → 28', 7 * S, 30 * S, 14 * S, 0, 28 * S],
    ['… and 28 stays', 7 * S, 30 * S, 28 * S, 0, 28 * S],
    ['a bound of under two periods: no backoff', 5 * S, 7 * S, 5 * S, 0, 5 * S],
    ['a bound under the schedule: the schedule', 60 * S, 30 * S, 60 * S, 0, 60 * S],
    ['no bound (0): the schedule', 5 * S, 0, 5 * S, 0, 5 * S],
    ['a previous period beyond the bound comes back within it', 5 * S, 30 * S, 60 * S, 0, 30 * S],
  ])('%s', (_what, scheduleMs, idlePollMaxMs, previous, found, next) => {
    expect(periodAfterPoll({ scheduleMs, idlePollMaxMs }, previous, found)).toBe(next);
  });

  it('the idle ladder at the defaults: 5, 10, 20, 30 s', () => {
    const pace = { scheduleMs: 5 * S, idlePollMaxMs: DEFAULT_IDLE_POLL_MAX_MS };
    const ladder = [pace.scheduleMs];
    for (let i = 0; i < 5; i++) ladder.push(periodAfterPoll(pace, ladder.at(-1)!, 0));
    expect(ladder).toEqual([5 * S, 10 * S, 20 * S, 30 * S, 30 * S, 30 * S]);
    expect(longestPollPeriodMs(pace)).toBe(30 * S);
  });
});

describe('fleetIdlePollMaxMs', () => {
  it.each([
    [30_000, 30_000],
    [120_000, 30_000],
    [2_000, 2_000],
  ])('with leases of %i ms: a bound of %i ms', (lease, bound) => {
    expect(fleetIdlePollMaxMs(lease)).toBe(bound);
  });
});

describe('pollsOnFire', () => {
  const pace = { scheduleMs: 5 * S, idlePollMaxMs: 30 * S };
  it.each([
    [5 * S, 0, [0, 1, 2, 3, 4, 5, 6, 7]],
    [10 * S, 0, [0, 2, 4, 6]],
    [10 * S, 1, [1, 3, 5, 7]],
    [20 * S, 7, [1, 5]],
    [30 * S, 2, [4]],
    [30 * S, 6, [0, 6]],
  ])('at period %i ms, phase %i: fires %j of 0..7', (period, phase, fires) => {
    const polled = [0, 1, 2, 3, 4, 5, 6, 7].filter((fire) => pollsOnFire(pace, period, fire, phase));
    expect(polled).toEqual(fires);
  });
});

describe('PollPacer', () => {
  /** The fires it polled on, told each poll's outcome by `found` (fire → events). */
  function run(pacer: PollPacer, fires: number, found: (fire: number) => number | null) {
    const polled: number[] = [];
    for (let fire = 0; fire < fires; fire++) {
      if (!pacer.fire()) continue;
      polled.push(fire);
      pacer.polled(found(fire));
    }
    return polled;
  }
  const gaps = (fires: number[]) => fires.slice(1).map((f, i) => f - fires[i]!);

  it('idle: backs off to the bound and never goes longer than it between polls', () => {
    for (const phase of [0, 1, 2, 3, 4, 5, 1234567]) {
      const polled = run(new PollPacer({ scheduleMs: 5 * S, idlePollMaxMs: 30 * S }, phase), 120, () => 0);
      expect(Math.max(...gaps(polled))).toBeLessThanOrEqual(6);
      // From the bound on, every sixth fire exactly: 5 polls a minute fewer than 12.
      expect(gaps(polled).slice(-10)).toEqual(Array(10).fill(6));
    }
  });

  it('active: polls on every fire; idle again, backs off again', () => {
    const pacer = new PollPacer({ scheduleMs: 5 * S, idlePollMaxMs: 30 * S }, 0);
    expect(run(pacer, 10, () => 2)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(pacer.periodMs).toBe(5 * S);
  });

  it('a nudge brings it back to the schedule at once', () => {
    const pacer = new PollPacer({ scheduleMs: 5 * S, idlePollMaxMs: 30 * S }, 3);
    run(pacer, 60, () => 0);
    expect(pacer.periodMs).toBe(30 * S);
    pacer.nudged();
    expect(pacer.periodMs).toBe(5 * S);
    expect(pacer.fire()).toBe(true);
  });

  it('the first poll to end after a nudge (the one running when it came, or its own) leaves the schedule', () => {
    const pacer = new PollPacer({ scheduleMs: 5 * S, idlePollMaxMs: 30 * S }, 3);
    run(pacer, 60, () => 0);
    pacer.nudged();
    pacer.polled(0); // running when the nudge came, found nothing
    expect(pacer.periodMs).toBe(5 * S);
    pacer.polled(0); // the nudge's own, found nothing: the ladder again
    expect(pacer.periodMs).toBe(10 * S);
    pacer.polled(0);
    expect(pacer.periodMs).toBe(20 * S);
  });

  it('with events now and then, never more than the current period between polls', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pacer = new PollPacer({ scheduleMs: S, idlePollMaxMs: 30 * S }, 11);
    let last = -1;
    let period = pacer.periodMs;
    for (let fire = 0; fire < 5_000; fire++) {
      if (!pacer.fire()) continue;
      if (last >= 0) expect(fire - last).toBeLessThanOrEqual(period / S);
      last = fire;
      pacer.polled(random() < 0.05 ? 1 : random() < 0.02 ? null : 0);
      period = pacer.periodMs;
    }
  });

  it('without a bound, every fire', () => {
    expect(run(new PollPacer({ scheduleMs: 5 * S, idlePollMaxMs: 0 }, 5), 8, () => 0)).toHaveLength(8);
  });
});

describe('spreading a thousand environments', () => {
  const names = Array.from({ length: 1_000 }, (_, i) => `e${String(i).padStart(4, '0')}`);

  it('idle ones at the bound: each fire polls about a sixth of them, none far more', () => {
    const pace = { scheduleMs: 5 * S, idlePollMaxMs: 30 * S };
    for (let fire = 0; fire < 6; fire++) {
      const polling = names.filter((n) => pollsOnFire(pace, 30 * S, fire, pollPhase(n))).length;
      expect(polling).toBeGreaterThan((1_000 / 6) * 0.75);
      expect(polling).toBeLessThan((1_000 / 6) * 1.25);
    }
  });

  it('reconciliations spread over the hour: no minute has more than twice its share', () => {
    const minutes = Array<number>(60).fill(0);
    for (const n of names) minutes[Math.floor(offsetMs(n, 'reconcile', 3_600_000) / 60_000)]!++;
    expect(Math.max(...minutes)).toBeLessThanOrEqual(2 * (1_000 / 60));
    expect(Math.min(...minutes)).toBeGreaterThan(0);
  });

  it('polls spread over the schedule period: no tenth of it has more than twice its share', () => {
    const tenths = Array<number>(10).fill(0);
    for (const n of names) tenths[Math.floor(offsetMs(n, 'poll', 5_000) / 500)]!++;
    expect(Math.max(...tenths)).toBeLessThanOrEqual(200);
  });

  it('deterministic: the same name, the same offsets, in every process', () => {
    expect(offsetMs('e0000', 'reconcile', 3_600_000)).toBe(offsetMs('e0000', 'reconcile', 3_600_000));
    expect([
      offsetMs('e0000', 'reconcile', 3_600_000),
      offsetMs('production', 'reconcile', 3_600_000),
      offsetMs('production', 'poll', 5_000),
      pollPhase('production'),
    ]).toEqual(PINNED);
    expect(offsetMs('production', 'poll', 5_000)).not.toBe(offsetMs('staging', 'poll', 5_000));
  });

  it.each([
    ['hourly', 3_600_000, 3_600_000],
    ['every ten minutes', 600_000, 600_000],
    ['daily: at most an hour late', 86_400_000, RECONCILE_SPREAD_MAX_MS],
    ['yearly: at most an hour late', 366 * 86_400_000, RECONCILE_SPREAD_MAX_MS],
  ])('a reconcile schedule %s: the offset within %i ms', (_what, reconcileMs, span) => {
    for (const n of names.slice(0, 200)) {
      const pacing = environmentPacing(n, { pollMs: 5_000, reconcileMs }, 30_000);
      expect(pacing.reconcileOffsetMs).toBeGreaterThanOrEqual(0);
      expect(pacing.reconcileOffsetMs).toBeLessThan(span);
      expect(pacing.pollOffsetMs).toBeLessThan(5_000);
      expect(pacing.idlePollMaxMs).toBe(30_000);
    }
  });
});

/**
 * offsetMs and pollPhase of a few names (sha256 of the name): the same in every process. Not a
 * protocol between replicas (each paces only its own environments); changing the hash would only
 * move each environment's slot once.
 */
const PINNED = [1_760_387, 3_167_776, 2_009, 1_186_573_260];
