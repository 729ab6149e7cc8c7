/**
 * Which replica holds which environments: a pure function of the live workers and the
 * environments, so every replica computes the same answer from the same inputs and nobody has to
 * coordinate (docs/fleet.md). Rendezvous (highest-random-weight) hashing with bounded loads:
 *
 * 1. each environment prefers the worker of highest weight `rendezvousWeight(environment, worker)`;
 * 2. each worker's quota is ⌊E/W⌋ or ⌈E/W⌉ (the E mod W workers preferred by the most environments
 *    get the larger one), so no worker holds more than one above another;
 * 3. a worker preferred by more environments than its quota keeps those of highest weight and
 *    displaces the rest; the displaced go to the workers with room left, pairs of highest weight
 *    first.
 *
 * Stable: an environment that is displaced in neither assignment stays with its preferred
 * worker, and a worker joining or leaving changes only the preference of the environments that
 * prefer it. So between any two sets of workers that differ by one worker `n`, the environments
 * that move are among: those `n` holds (at most its quota), and those displaced in either
 * assignment — a few dozen for a thousand environments, where plain rendezvous hashing without
 * bounds would move none of them and be out of balance by as many (docs/fleet.md has the bound).
 *
 * The weight function is part of the fleet's protocol: replicas that weigh differently disagree
 * on who holds what (an environment each thinks the other's is held by neither). Changing it is a
 * breaking change, pinned by a test.
 */

/** Fixed by the protocol: changing it reassigns most environments (see above). */
export const ASSIGNMENT_PROTOCOL = 'rendezvous-bounded/1';

export interface Assignment {
  /** Each live worker's environments, sorted; a worker with none has an empty list. */
  readonly byWorker: ReadonlyMap<string, readonly string[]>;
  /** Each environment's worker (none when there is no live worker). */
  readonly owners: ReadonlyMap<string, string>;
  /**
   * The environments that are not with their preferred worker, because it was preferred by more
   * than its quota: the only ones, besides those of a worker that joined or left, that a change of
   * the fleet can move.
   */
  readonly displaced: ReadonlySet<string>;
}

/** Code-unit order: the same in every replica, whatever its locale or its database's collation. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function uniqueSorted(values: readonly string[]): string[] {
  return [...new Set(values)].sort(compareIds);
}

/**
 * A 53-bit hash of a string (two 32-bit multiply-xorshift lanes, mixed together at the end), as a
 * non-negative integer below 2^53. Any replica, any platform: only 32-bit integer arithmetic.
 */
function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x9e3779b1);
    h2 = Math.imul(h2 ^ c, 0x5f356495);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b) ^ Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b) ^ Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35);
  h1 = Math.imul(h1 ^ (h1 >>> 15), 0x27d4eb2f) ^ (h2 >>> 7);
  return (h2 >>> 0) * 2 ** 21 + (h1 >>> 11);
}

/**
 * How much `environment` wants `worker`: the rendezvous weight. The environment's length leads, so
 * no two (environment, worker) pairs are hashed as the same text.
 */
export function rendezvousWeight(environment: string, worker: string): number {
  return hash53(`${environment.length}:${environment}/${worker}`);
}

/**
 * The environments each of `workers` should hold (both lists in any order, duplicates ignored).
 * O(E·W) weights and O(E log E) sorting.
 */
export function assignEnvironments(workers: readonly string[], environments: readonly string[]): Assignment {
  const ws = uniqueSorted(workers);
  const es = uniqueSorted(environments);
  const W = ws.length;
  const E = es.length;
  const byWorker = new Map<string, string[]>(ws.map((w) => [w, []]));
  const owners = new Map<string, string>();
  const displaced = new Set<string>();
  if (W === 0) return { byWorker, owners, displaced };

  // weights[e * W + w]; the preferred worker of each environment (ties to the first in order).
  const weights = new Float64Array(E * W);
  const preferred: number[][] = ws.map(() => []);
  for (let e = 0; e < E; e++) {
    let best = 0;
    for (let w = 0; w < W; w++) {
      const weight = rendezvousWeight(es[e]!, ws[w]!);
      weights[e * W + w] = weight;
      if (weight > weights[e * W + best]!) best = w;
    }
    preferred[best]!.push(e);
  }

  // Quotas: ⌊E/W⌋ each, one more for the E mod W workers preferred by the most (fewest displaced).
  const floor = Math.floor(E / W);
  const quota = ws.map(() => floor);
  const byDemand = ws.map((_, w) => w).sort((a, b) => preferred[b]!.length - preferred[a]!.length || a - b);
  for (const w of byDemand.slice(0, E % W)) quota[w]! += 1;

  // Each worker keeps its quota of the environments preferring it, those of highest weight.
  const room = ws.map(() => 0);
  const homeless: number[] = [];
  for (let w = 0; w < W; w++) {
    const mine = preferred[w]!.sort((a, b) => weights[b * W + w]! - weights[a * W + w]! || a - b);
    const kept = Math.min(mine.length, quota[w]!);
    for (const e of mine.slice(0, kept)) owners.set(es[e]!, ws[w]!);
    homeless.push(...mine.slice(kept));
    room[w] = quota[w]! - kept;
  }

  // The displaced, to the workers with room: pairs of highest weight first. The room left adds up
  // to the number displaced (the quotas add up to E), so every one finds a place.
  const pairs: [e: number, w: number][] = [];
  for (const e of homeless) {
    displaced.add(es[e]!);
    for (let w = 0; w < W; w++) if (room[w]! > 0) pairs.push([e, w]);
  }
  pairs.sort(([ea, wa], [eb, wb]) => weights[eb * W + wb]! - weights[ea * W + wa]! || ea - eb || wa - wb);
  for (const [e, w] of pairs) {
    if (room[w] === 0 || owners.has(es[e]!)) continue;
    owners.set(es[e]!, ws[w]!);
    room[w]! -= 1;
  }

  for (const environment of es) byWorker.get(owners.get(environment)!)!.push(environment);
  return { byWorker, owners, displaced };
}
