/**
 * The fleet's assignment of environments to replicas (src/worker/fleet/assignment.ts), pure:
 * balanced for every size, the same whatever order its inputs come in, and moving close to the
 * minimum when a replica joins or leaves — with the bound docs/fleet.md derives, checked on every
 * instance, and the figures it quotes measured.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Assignment,
  assignEnvironments,
  compareIds,
  rendezvousWeight,
} from '../src/worker/fleet/assignment.ts';

const environments = (count: number, prefix = 'env_') =>
  Array.from({ length: count }, (_, i) => `${prefix}${i}`);

/** A small seeded generator, so the measured tables are the same on every run. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const workerIds = (random: () => number, count: number) =>
  Array.from({ length: count }, (_, i) => `replica-${i}-${Math.floor(random() * 2 ** 32).toString(36)}`);

function expectBalanced(assignment: Assignment, workers: readonly string[], envs: readonly string[]) {
  const live = [...new Set(workers)];
  const all = [...new Set(envs)];
  expect([...assignment.byWorker.keys()].sort(compareIds)).toEqual([...live].sort(compareIds));
  const floor = Math.floor(all.length / live.length);
  const ceil = Math.ceil(all.length / live.length);
  const seen: string[] = [];
  for (const [worker, held] of assignment.byWorker) {
    expect(held.length).toBeGreaterThanOrEqual(floor);
    expect(held.length).toBeLessThanOrEqual(ceil);
    expect([...held]).toEqual([...held].sort(compareIds));
    for (const environment of held) expect(assignment.owners.get(environment)).toBe(worker);
    seen.push(...held);
  }
  expect(seen.sort(compareIds)).toEqual([...all].sort(compareIds));
  expect(assignment.owners.size).toBe(all.length);
}

/** Environments whose worker differs between two assignments. */
function moved(before: Assignment, after: Assignment): string[] {
  return [...before.owners]
    .filter(([environment, worker]) => after.owners.get(environment) !== worker)
    .map(([e]) => e);
}

/**
 * A fleet `small` and the same fleet with one more worker `n` (`big`): what moves when `n` joins
 * (or, read backwards, leaves). The minimum any assignment could move is `n`'s share in `big`.
 */
function change(small: readonly string[], n: string, envs: readonly string[]) {
  const before = assignEnvironments(small, envs);
  const after = assignEnvironments([...small, n], envs);
  const moves = moved(before, after);
  const share = after.byWorker.get(n)!.length;
  return { before, after, moves, share, extra: moves.length - share };
}

describe('balanced: every environment held once, each worker ⌊E/W⌋ or ⌈E/W⌉', () => {
  const sizes = [...Array.from({ length: 61 }, (_, e) => e), 97, 100, 128, 333, 500, 999, 1000];
  for (let workers = 1; workers <= 10; workers++) {
    it(`${workers} worker(s), E in 0..60 and up to 1,000`, () => {
      const ids = workerIds(seeded(workers), workers);
      for (const e of sizes) expectBalanced(assignEnvironments(ids, environments(e)), ids, environments(e));
    });
  }

  it('for any workers and environments (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.string({ maxLength: 4 }),
        (workers, count, prefix) => {
          const envs = environments(count, prefix);
          expectBalanced(assignEnvironments(workers, envs), workers, envs);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('no workers: nobody holds anything; no environments: every worker holds none', () => {
    const none = assignEnvironments([], environments(5));
    expect(none.owners.size).toBe(0);
    expect(none.byWorker.size).toBe(0);
    const idle = assignEnvironments(['a', 'b'], []);
    expect(Object.fromEntries(idle.byWorker)).toEqual({ a: [], b: [] });
  });

  it('an environment not displaced is with its rendezvous winner, the worker of highest weight', () => {
    const ids = workerIds(seeded(42), 7);
    const envs = environments(500);
    const assignment = assignEnvironments(ids, envs);
    for (const environment of envs) {
      const winner = [...ids].sort(
        (a, b) => rendezvousWeight(environment, b) - rendezvousWeight(environment, a),
      )[0];
      if (!assignment.displaced.has(environment)) expect(assignment.owners.get(environment)).toBe(winner);
    }
    // Few are displaced: about half the spread of plain rendezvous hashing, ½·Σ|c_w − E/W|.
    expect(assignment.displaced.size).toBeLessThan(Math.sqrt(500 * 6));
  });
});

describe('deterministic: the same answer whatever the order, in every replica', () => {
  it('shuffled and repeated inputs give the same assignment (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 10 }),
        fc.uniqueArray(fc.string({ maxLength: 8 }), { maxLength: 200 }),
        fc.integer(),
        (workers, envs, seed) => {
          const random = seeded(seed);
          const shuffle = <T>(values: readonly T[]) =>
            values
              .map((value) => [random(), value] as const)
              .sort((a, b) => a[0] - b[0])
              .map(([, value]) => value);
          const a = assignEnvironments(workers, envs);
          const b = assignEnvironments(
            shuffle([...workers, ...workers.slice(0, 2)]),
            shuffle([...envs, ...envs]),
          );
          expect([...b.byWorker].sort(([x], [y]) => compareIds(x, y))).toEqual(
            [...a.byWorker].sort(([x], [y]) => compareIds(x, y)),
          );
          expect(new Map([...b.owners].sort(([x], [y]) => compareIds(x, y)))).toEqual(
            new Map([...a.owners].sort(([x], [y]) => compareIds(x, y))),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('the weights and one assignment are pinned: changing them is a protocol change (docs/fleet.md)', () => {
    expect(rendezvousWeight('production', 'replica-a')).toBe(486112048710427);
    expect(rendezvousWeight('staging', 'replica-b')).toBe(3706513115787517);
    expect(rendezvousWeight('', '')).toBe(1398489853209857);
    const assignment = assignEnvironments(['replica-a', 'replica-b', 'replica-c'], environments(10));
    expect(Object.fromEntries(assignment.byWorker)).toEqual({
      'replica-a': ['env_2', 'env_5', 'env_9'],
      'replica-b': ['env_1', 'env_6', 'env_7'],
      'replica-c': ['env_0', 'env_3', 'env_4', 'env_8'],
    });
    expect([...assignment.displaced]).toEqual(['env_5']);
  });

  it("no pair is hashed as another's text", () => {
    expect(rendezvousWeight('ab', 'c')).not.toBe(rendezvousWeight('a', 'bc'));
    expect(rendezvousWeight('a/b', 'c')).not.toBe(rendezvousWeight('a', 'b/c'));
  });
});

describe('stable: a worker joining or leaving moves close to the minimum', () => {
  it('what moves is the newcomer’s share or an environment displaced before or after (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 10 }), { minLength: 2, maxLength: 11 }),
        fc.integer({ min: 0, max: 1000 }),
        (ids, count) => {
          const [n, ...small] = ids as [string, ...string[]];
          const envs = environments(count);
          const { before, after, moves, share, extra } = change(small, n, envs);
          // Only what joins `n`, or was displaced in one of the two, moves.
          for (const environment of moves) {
            expect(
              after.owners.get(environment) === n ||
                before.displaced.has(environment) ||
                after.displaced.has(environment),
            ).toBe(true);
          }
          // So the moves beyond the minimum (n's share) are at most the displaced of both.
          expect(moves.length).toBeGreaterThanOrEqual(share);
          expect(extra).toBeLessThanOrEqual(before.displaced.size + after.displaced.size);
          // And, as the expected number displaced is below ½(√(E(W−1)) + W), the closed form of
          // docs/fleet.md (W: the bigger fleet), which this holds with a wide margin.
          const w = small.length + 1;
          expect(extra).toBeLessThanOrEqual(Math.sqrt(count * w) + w);
        },
      ),
      { numRuns: 300 },
    );
  });

  // The figures docs/fleet.md quotes: for each size, 100 fleets of random names (seeded: the same
  // on every run), each checked against the bound; then the moves beyond the minimum, measured:
  // on average under 0.6·√E, and never √E + W (W: the bigger fleet) — where reassigning from
  // scratch would move about (1 − 1/W) of all E.
  const cells: [environments: number, workers: number][] = [
    [10, 2],
    [10, 3],
    [10, 10],
    [100, 2],
    [100, 3],
    [100, 10],
    [300, 5],
    [1000, 2],
    [1000, 3],
    [1000, 5],
    [1000, 10],
  ];
  it.each(cells)('%i environments, %i workers and one more: moved beyond the minimum', (e, w) => {
    const random = seeded(e * 31 + w);
    const envs = environments(e);
    const extras: number[] = [];
    for (let trial = 0; trial < 100; trial++) {
      const ids = workerIds(random, w + 1);
      const { before, after, extra } = change(ids.slice(0, w), ids[w]!, envs);
      expect(extra).toBeLessThanOrEqual(before.displaced.size + after.displaced.size);
      extras.push(extra);
    }
    const average = extras.reduce((a, b) => a + b, 0) / extras.length;
    expect(average).toBeLessThan(0.6 * Math.sqrt(e));
    expect(Math.max(...extras)).toBeLessThan(Math.sqrt(e) + w + 1);
  });

  it('adding or removing an environment moves no other one that was not displaced (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 0, max: 500 }),
        (workers, count) => {
          const envs = environments(count);
          const before = assignEnvironments(workers, envs);
          const after = assignEnvironments(workers, [...envs, 'env_new']);
          const moves = moved(before, after);
          for (const environment of moves)
            expect(before.displaced.has(environment) || after.displaced.has(environment)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('cost: O(E·W) weights', () => {
  it('1,000 environments over 3 workers, and 10,000 over 30', () => {
    const small = assignEnvironments(['a', 'b', 'c'], environments(1000));
    expect([...small.byWorker.values()].map((held) => held.length).sort()).toEqual([333, 333, 334]);
    const big = assignEnvironments(
      Array.from({ length: 30 }, (_, i) => `w${i}`),
      environments(10_000),
    );
    expect(big.owners.size).toBe(10_000);
  });
});
