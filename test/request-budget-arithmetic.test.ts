/**
 * The request budget without a database: the bucket's arithmetic (refill, verdict, wait) that the
 * statement mirrors and the gate's local bucket spends, table-driven; a 429's `Retry-After` read
 * as the client reads it; and the gate when Postgres cannot be asked at all — it fails open onto
 * a local bucket of the same rate, logs once, does not hammer the database, honours a 429 by
 * itself, and gives up a wait when told to.
 */
import fc from 'fast-check';
import { Kysely, PostgresDialect } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Database } from '../src/db/tables.ts';
import {
  availableTokens,
  type BucketRate,
  type BucketState,
  bucketRate,
  MAX_PAUSE_MS,
  requestBudgetGate,
  takeVerdict,
} from '../src/sync/request-budget.ts';
import { DEFAULT_RETRY_AFTER_MS, retryAfterMs } from '../src/workos/client.ts';
import { capturingLogger } from './support/logs.ts';

/** 60 a minute, a burst of 3: one token a second; no reserve for urgent takes. */
const SLOW: BucketRate = { perMs: 1 / 1000, capacity: 3, urgentReserve: 0 };
/** The same with one token of the burst left to urgent takes. */
const RESERVED: BucketRate = { ...SLOW, urgentReserve: 1 };

describe('takeVerdict: one take from a bucket', () => {
  const cases: [string, BucketState, { granted: boolean; waitMs?: number; tokensLeft: number }][] = [
    [
      'a full bucket gives a token',
      { tokens: 3, elapsedMs: 0, pausedForMs: 0 },
      { granted: true, tokensLeft: 2 },
    ],
    [
      'exactly one token is enough',
      { tokens: 1, elapsedMs: 0, pausedForMs: 0 },
      { granted: true, tokensLeft: 0 },
    ],
    [
      'half a token waits for the other half to refill',
      { tokens: 0.5, elapsedMs: 0, pausedForMs: 0 },
      { granted: false, waitMs: 500, tokensLeft: 0.5 },
    ],
    [
      'an empty bucket refilled by the time elapsed',
      { tokens: 0, elapsedMs: 1000, pausedForMs: 0 },
      { granted: true, tokensLeft: 0 },
    ],
    [
      'an empty bucket partly refilled',
      { tokens: 0, elapsedMs: 250, pausedForMs: 0 },
      { granted: false, waitMs: 750, tokensLeft: 0.25 },
    ],
    [
      'the refill stops at the capacity',
      { tokens: 2.5, elapsedMs: 60_000, pausedForMs: 0 },
      { granted: true, tokensLeft: 2 },
    ],
    [
      'a pause refuses a full bucket, for as long as it lasts',
      { tokens: 3, elapsedMs: 0, pausedForMs: 1200 },
      { granted: false, waitMs: 1200, tokensLeft: 3 },
    ],
    [
      'a pause shorter than the refill waits for the refill',
      { tokens: 0, elapsedMs: 0, pausedForMs: 200 },
      { granted: false, waitMs: 1000, tokensLeft: 0 },
    ],
    [
      'a pause that ended is no pause',
      { tokens: 1, elapsedMs: 0, pausedForMs: 0 },
      { granted: true, tokensLeft: 0 },
    ],
    [
      'a pause already past is no pause',
      { tokens: 1, elapsedMs: 0, pausedForMs: -5 },
      { granted: true, tokensLeft: 0 },
    ],
    [
      'counted ahead (a pause`s end): no refill until then, and the wait includes it',
      { tokens: 0, elapsedMs: -300, pausedForMs: 0 },
      { granted: false, waitMs: 1300, tokensLeft: 0 },
    ],
    [
      'counted ahead, a token still there is still there',
      { tokens: 1, elapsedMs: -300, pausedForMs: 0 },
      { granted: true, tokensLeft: 0 },
    ],
    [
      'a hair short of a token waits at least a millisecond, never zero',
      { tokens: 0.999_999_9, elapsedMs: 0, pausedForMs: 0 },
      { granted: false, waitMs: 1, tokensLeft: 0.999_999_9 },
    ],
    [
      'a fraction of a millisecond rounds up',
      { tokens: 0, elapsedMs: 0.4, pausedForMs: 0 },
      { granted: false, waitMs: 1000, tokensLeft: 0.0004 },
    ],
  ];
  it.each(cases)('%s', (_name, state, expected) => {
    const { take, tokensLeft } = takeVerdict(state, SLOW);
    expect(take.granted).toBe(expected.granted);
    if (!take.granted) expect(take.waitMs).toBe(expected.waitMs);
    expect(tokensLeft).toBeCloseTo(expected.tokensLeft, 12);
  });

  it('a refill that comes out a hair short of a whole token (floating point) is a whole token', () => {
    // 1/700 a millisecond: after a take left 0.0114…, the 691 ms a refused take was told to wait
    // refill 0.9999999999999999 tokens, which must not cost one more wait.
    const rate = { perMs: 1 / 700, capacity: 2, urgentReserve: 0 };
    const refused = takeVerdict({ tokens: 0.011428571428571344, elapsedMs: 1, pausedForMs: 0 }, rate);
    expect(refused.take).toEqual({ granted: false, waitMs: 691 });
    const after = takeVerdict({ tokens: 0.011428571428571344, elapsedMs: 1 + 691, pausedForMs: 0 }, rate);
    expect(after.take.granted).toBe(true);
  });

  const reserveCases: [string, number, 'urgent' | 'routine', boolean | number][] = [
    ['a routine take with the reserve and a token more: granted', 2, 'routine', true],
    ['a routine take with the reserve alone: waits for a token beyond it', 1, 'routine', 1000],
    ['an urgent take with the reserve alone: granted', 1, 'urgent', true],
    ['a routine take short of the reserve: waits for all of it', 0.5, 'routine', 1500],
    ['an urgent take with half a token: waits for the other half', 0.5, 'urgent', 500],
  ];
  it.each(reserveCases)('%s', (_name, tokens, priority, expected) => {
    const { take, tokensLeft } = takeVerdict({ tokens, elapsedMs: 0, pausedForMs: 0 }, RESERVED, priority);
    if (expected === true) {
      expect(take).toEqual({ granted: true });
      expect(tokensLeft).toBeCloseTo(tokens - 1, 12);
    } else expect(take).toEqual({ granted: false, waitMs: expected });
  });

  it('at the default rate (3,000 a minute, a burst of 100): 20 ms a token, 20 of the burst for urgent takes', () => {
    const rate = bucketRate(3000);
    expect(rate).toEqual({ perMs: 0.05, capacity: 100, urgentReserve: 20 });
    const empty = { tokens: 0, elapsedMs: 0, pausedForMs: 0 };
    expect(takeVerdict(empty, rate, 'urgent').take).toEqual({ granted: false, waitMs: 20 });
    // A routine take waits for the reserve to refill first; then one every 20 ms, as before.
    expect(takeVerdict(empty, rate).take).toEqual({ granted: false, waitMs: 420 });
    expect(takeVerdict({ tokens: 20, elapsedMs: 0, pausedForMs: 0 }, rate).take).toEqual({
      granted: false,
      waitMs: 20,
    });
    expect(availableTokens({ tokens: 0, elapsedMs: 60_000 }, rate)).toBe(100);
  });

  it('takes at any times never get more than the capacity plus the rate times the time elapsed', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 1, max: 10 }),
        (gaps, capacity) => {
          const rate = { perMs: 1 / 700, capacity, urgentReserve: 0 };
          let bucket = { tokens: capacity, at: 0 };
          let now = 0;
          let grants = 0;
          for (const gap of gaps) {
            now += gap;
            const { take, tokensLeft } = takeVerdict(
              { tokens: bucket.tokens, elapsedMs: now - bucket.at, pausedForMs: 0 },
              rate,
            );
            if (take.granted) {
              grants++;
              bucket = { tokens: tokensLeft, at: now };
            } else {
              // A refused take waits exactly as long as a token takes to come.
              expect(
                takeVerdict(
                  { tokens: bucket.tokens, elapsedMs: now + take.waitMs - bucket.at, pausedForMs: 0 },
                  rate,
                ).take.granted,
              ).toBe(true);
            }
          }
          expect(grants).toBeLessThanOrEqual(capacity + now * rate.perMs + 1e-9);
        },
      ),
    );
  });
});

describe('bucketRate: the setting as a rate and a burst', () => {
  it.each([
    [3000, undefined, { perMs: 0.05, capacity: 100, urgentReserve: 20 }],
    [6000, undefined, { perMs: 0.1, capacity: 200, urgentReserve: 40 }],
    [60, undefined, { perMs: 0.001, capacity: 2, urgentReserve: 0 }],
    [60, 3, { perMs: 0.001, capacity: 3, urgentReserve: 0 }],
    [60, 5, { perMs: 0.001, capacity: 5, urgentReserve: 1 }],
    [20, undefined, { perMs: 20 / 60_000, capacity: 1, urgentReserve: 0 }],
  ])('%d a minute, capacity %s', (perMinute, capacity, expected) => {
    expect(bucketRate(perMinute, capacity)).toEqual(expected);
  });

  it.each([
    [0, undefined],
    [-1, undefined],
    [Number.NaN, undefined],
    [Number.POSITIVE_INFINITY, undefined],
    [60, 0.5],
    [60, 0],
  ])('refuses %d a minute with capacity %s', (perMinute, capacity) => {
    expect(() => bucketRate(perMinute, capacity)).toThrow(RangeError);
  });
});

describe('retryAfterMs: a 429`s Retry-After', () => {
  const served = 'Wed, 21 Oct 2026 07:28:00 GMT';
  it.each([
    ['absent', null, null, DEFAULT_RETRY_AFTER_MS],
    ['empty', ' ', null, DEFAULT_RETRY_AFTER_MS],
    ['seconds', '2', null, 2000],
    ['zero seconds', '0', null, 0],
    ['decimal seconds', '1.5', null, 1500],
    ['unreadable', 'soon', null, DEFAULT_RETRY_AFTER_MS],
    ['negative (unreadable)', '-3', null, DEFAULT_RETRY_AFTER_MS],
    ['an HTTP date, against the response`s Date', 'Wed, 21 Oct 2026 07:28:30 GMT', served, 30_000],
    ['an HTTP date already past', 'Wed, 21 Oct 2026 07:27:00 GMT', served, 0],
  ])('%s', (_name, header, date, expected) => {
    expect(retryAfterMs(header, date, Date.parse('2030-01-01T00:00:00Z'))).toBe(expected);
  });

  it('an HTTP date without a Date header (or an unreadable one) is read against this process`s clock', () => {
    const now = Date.parse(served);
    expect(retryAfterMs('Wed, 21 Oct 2026 07:28:05 GMT', null, now)).toBe(5000);
    expect(retryAfterMs('Wed, 21 Oct 2026 07:28:05 GMT', 'garbage', now)).toBe(5000);
  });
});

/** A Kysely whose every connection attempt fails as a refused one does; counts the attempts. */
function unreachableDatabase() {
  let attempts = 0;
  const pool = {
    connect: async () => {
      attempts++;
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    },
    end: async () => {},
    options: {},
  };
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, attempts: () => attempts };
}

describe('the gate when Postgres cannot be asked', () => {
  it('fails open onto a local bucket of the same rate: no more than the burst plus the rate, one warning', async () => {
    const unreachable = unreachableDatabase();
    const logs = capturingLogger();
    // 6,000 a minute: a token every 10 ms; a burst of 3.
    const gate = requestBudgetGate(unreachable.db, { requestsPerMinute: 6000, capacity: 3, log: logs.log });
    const started = performance.now();
    let granted = 0;
    const grants = Array.from({ length: 15 }, () => gate.beforeRequest().then(() => granted++));
    await new Promise((resolve) => setTimeout(resolve, 40));
    const elapsed = performance.now() - started;
    expect(granted).toBeLessThanOrEqual(Math.floor(3 + elapsed / 10));
    expect(granted).toBeGreaterThanOrEqual(3);
    await Promise.all(grants);
    expect(granted).toBe(15);
    // Asked once; the next ask waits `retryDatabaseAfterMs` (5 s by default), so no hot loop on it.
    expect(unreachable.attempts()).toBe(1);
    const warnings = logs.lines().filter((line) => line.level === 40);
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]!.msg)).toContain('spending a local budget of the same rate');
  });

  it('asks Postgres again once `retryDatabaseAfterMs` has passed, and still logs once', async () => {
    const unreachable = unreachableDatabase();
    const logs = capturingLogger();
    const gate = requestBudgetGate(unreachable.db, {
      requestsPerMinute: 60_000,
      capacity: 100,
      log: logs.log,
      retryDatabaseAfterMs: 20,
    });
    await gate.beforeRequest();
    await gate.beforeRequest();
    expect(unreachable.attempts()).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await gate.beforeRequest();
    expect(unreachable.attempts()).toBe(2);
    expect(logs.lines().filter((line) => line.level === 40)).toHaveLength(1);
  });

  it('a 429 pauses this process even so, and never for longer than the cap', async () => {
    const unreachable = unreachableDatabase();
    const gate = requestBudgetGate(unreachable.db, {
      requestsPerMinute: 60_000,
      capacity: 100,
      log: capturingLogger().log,
    });
    await gate.beforeRequest();
    await gate.rateLimited(150);
    const started = performance.now();
    await gate.beforeRequest();
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);

    // A Retry-After of an hour is honoured as the cap: a wait that can still be given up.
    await gate.rateLimited(3_600_000);
    const controller = new AbortController();
    const waiting = gate.beforeRequest(controller.signal);
    setTimeout(() => controller.abort(new Error('given up')), 20);
    await expect(waiting).rejects.toThrow('given up');
    expect(MAX_PAUSE_MS).toBe(60_000);
  });

  it('waiting attempts go in order; one given up while queued lets the next one through', async () => {
    const unreachable = unreachableDatabase();
    const gate = requestBudgetGate(unreachable.db, {
      requestsPerMinute: 6000,
      capacity: 1,
      log: capturingLogger().log,
    });
    const order: string[] = [];
    const controller = new AbortController();
    const first = gate.beforeRequest().then(() => order.push('first'));
    const second = gate.beforeRequest(controller.signal).then(
      () => order.push('second'),
      () => order.push('second gave up'),
    );
    const third = gate.beforeRequest().then(() => order.push('third'));
    controller.abort();
    await Promise.all([first, second, third]);
    expect(order).toEqual(['second gave up', 'first', 'third']);
  });

  it('urgent attempts wait ahead of routine ones, each kind in order', async () => {
    const unreachable = unreachableDatabase();
    // A token every 10 ms, a burst of 1: one attempt at a time, the rest queued.
    const gate = requestBudgetGate(unreachable.db, {
      requestsPerMinute: 6000,
      capacity: 1,
      log: capturingLogger().log,
    });
    await gate.beforeRequest(); // the burst spent: everything below waits
    const order: string[] = [];
    const attempt = (name: string, priority: 'urgent' | 'routine') =>
      gate.beforeRequest(undefined, () => priority).then(() => order.push(name));
    await Promise.all([
      attempt('routine 1', 'routine'),
      attempt('routine 2', 'routine'),
      attempt('urgent 1', 'urgent'),
      attempt('routine 3', 'routine'),
      attempt('urgent 2', 'urgent'),
    ]);
    // `routine 1` heads the queue when `urgent 1` arrives: it gives up its turn, and goes first of its kind.
    expect(order).toEqual(['urgent 1', 'urgent 2', 'routine 1', 'routine 2', 'routine 3']);
  });

  it('a routine attempt that becomes urgent while it waits goes ahead of the routine ones before it', async () => {
    const unreachable = unreachableDatabase();
    const gate = requestBudgetGate(unreachable.db, {
      requestsPerMinute: 6000,
      capacity: 1,
      log: capturingLogger().log,
    });
    await gate.beforeRequest();
    const order: string[] = [];
    let webhookCame = false;
    const waits = [
      gate.beforeRequest().then(() => order.push('routine 1')),
      gate.beforeRequest().then(() => order.push('routine 2')),
      gate
        .beforeRequest(undefined, () => (webhookCame ? 'urgent' : 'routine'))
        .then(() => order.push('promoted')),
    ];
    webhookCame = true;
    await Promise.all(waits);
    expect(order).toEqual(['promoted', 'routine 1', 'routine 2']);
  });

  it('a routine attempt leaves the reserve to urgent ones: with only the reserve left, the urgent one goes', async () => {
    const unreachable = unreachableDatabase();
    // 60 a minute, a burst of 5, one of them reserved: four routine attempts empty the bucket to
    // its reserve; a fifth routine one waits a second for a token beyond it; an urgent one goes at once.
    const gate = requestBudgetGate(unreachable.db, {
      requestsPerMinute: 60,
      capacity: 5,
      log: capturingLogger().log,
    });
    for (let i = 0; i < 4; i++) await gate.beforeRequest();
    const controller = new AbortController();
    let routineGranted = false;
    const routine = gate.beforeRequest(controller.signal).then(
      () => {
        routineGranted = true;
      },
      () => undefined,
    );
    const urgent = performance.now();
    await gate.beforeRequest(undefined, () => 'urgent');
    expect(performance.now() - urgent).toBeLessThan(500);
    expect(routineGranted).toBe(false);
    controller.abort();
    await routine;
  });

  it('an attempt given up while an urgent one holds the head leaves at once, the others unharmed', async () => {
    const unreachable = unreachableDatabase();
    const gate = requestBudgetGate(unreachable.db, {
      requestsPerMinute: 600,
      capacity: 1,
      log: capturingLogger().log,
    });
    await gate.beforeRequest();
    const order: string[] = [];
    const controller = new AbortController();
    const waits = [
      gate.beforeRequest(undefined, () => 'urgent').then(() => order.push('urgent')),
      gate.beforeRequest(controller.signal).then(
        () => order.push('routine given up: granted'),
        () => order.push('routine given up'),
      ),
      gate.beforeRequest().then(() => order.push('routine')),
    ];
    controller.abort();
    await Promise.all(waits);
    expect(order).toEqual(['routine given up', 'urgent', 'routine']);
  });

  it('the process stopping (the gate`s own signal) ends every wait', async () => {
    const unreachable = unreachableDatabase();
    const stopping = new AbortController();
    const gate = requestBudgetGate(unreachable.db, {
      requestsPerMinute: 60,
      capacity: 1,
      log: capturingLogger().log,
      signal: stopping.signal,
    });
    await gate.beforeRequest();
    const waits = [gate.beforeRequest(), gate.beforeRequest()];
    stopping.abort(new Error('stopping'));
    for (const wait of waits) await expect(wait).rejects.toThrow('stopping');
  });
});
