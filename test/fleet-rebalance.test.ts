/**
 * One replica's rebalancing decision (src/worker/fleet/rebalance.ts), pure: table-driven, then a
 * fleet of replicas simulated tick by tick over an exclusive lease table, through a join, a clean
 * stop and a death — settling within the bounds docs/fleet.md states, never two holders of an
 * environment (the lease's doing), and an environment unheld for at most a tick during a hand-off.
 */
import { describe, expect, it } from 'vitest';
import { assignEnvironments } from '../src/worker/fleet/assignment.ts';
import {
  DEFAULT_FLEET_TIMINGS,
  decideRebalance,
  type HandOffBounds,
  handOffBounds,
} from '../src/worker/fleet/rebalance.ts';

const ENVS = Array.from({ length: 12 }, (_, i) => `env_${String(i).padStart(2, '0')}`);
const share = (live: string[], self: string) => [
  ...(assignEnvironments(live, ENVS).byWorker.get(self) ?? []),
];

describe('one tick of one replica', () => {
  const AB = ['replica-a', 'replica-b'];
  const ABC = ['replica-a', 'replica-b', 'replica-c'];
  const cases: {
    name: string;
    self: string;
    live: string[];
    held: (live: string[]) => string[];
    environments?: string[];
    expected: (live: string[]) => { keep: string[]; release: string[]; take: string[] };
  }[] = [
    {
      name: 'steady: it holds its share, so nothing to take or release (only the renewal)',
      self: 'replica-a',
      live: AB,
      held: () => share(AB, 'replica-a'),
      expected: () => ({ keep: share(AB, 'replica-a'), release: [], take: [] }),
    },
    {
      name: 'a fresh replica, alone: takes every environment',
      self: 'replica-a',
      live: ['replica-a'],
      held: () => [],
      expected: () => ({ keep: [], release: [], take: ENVS }),
    },
    {
      name: 'a replica joined: an old owner releases what is now the newcomer’s, keeps the rest',
      self: 'replica-a',
      live: ABC,
      held: () => share(AB, 'replica-a'),
      expected: () => ({
        keep: share(AB, 'replica-a').filter((e) => share(ABC, 'replica-a').includes(e)),
        release: share(AB, 'replica-a').filter((e) => !share(ABC, 'replica-a').includes(e)),
        take: share(ABC, 'replica-a').filter((e) => !share(AB, 'replica-a').includes(e)),
      }),
    },
    {
      name: 'the newcomer: tries its whole share (each try fails while an old owner still holds it)',
      self: 'replica-c',
      live: ABC,
      held: () => [],
      expected: () => ({ keep: [], release: [], take: share(ABC, 'replica-c') }),
    },
    {
      name: 'a replica left or died: a survivor tries its new share of the leaver’s environments',
      self: 'replica-a',
      live: AB,
      held: () => share(ABC, 'replica-a'),
      expected: () => ({
        keep: share(ABC, 'replica-a').filter((e) => share(AB, 'replica-a').includes(e)),
        release: share(ABC, 'replica-a').filter((e) => !share(AB, 'replica-a').includes(e)),
        take: share(AB, 'replica-a').filter((e) => !share(ABC, 'replica-a').includes(e)),
      }),
    },
    {
      name: 'not among the live (its heartbeat went stale, say it was paused): holds nothing',
      self: 'replica-c',
      live: AB,
      held: () => ['env_00', 'env_05'],
      expected: () => ({ keep: [], release: ['env_00', 'env_05'], take: [] }),
    },
    {
      name: 'an environment no longer served, and one not yet held: released, taken',
      self: 'replica-a',
      live: ['replica-a'],
      held: () => [...ENVS.slice(1), 'env_gone'],
      expected: () => ({ keep: ENVS.slice(1), release: ['env_gone'], take: ['env_00'] }),
    },
    {
      name: 'held twice in the input: counted once',
      self: 'replica-a',
      live: ['replica-a'],
      held: () => ['env_03', 'env_03'],
      expected: () => ({ keep: ['env_03'], release: [], take: ENVS.filter((e) => e !== 'env_03') }),
    },
    {
      name: 'no environments: releases whatever it holds',
      self: 'replica-a',
      live: AB,
      environments: [],
      held: () => ['env_01'],
      expected: () => ({ keep: [], release: ['env_01'], take: [] }),
    },
  ];

  it.each(cases)('$name', ({ self, live, held, environments, expected }) => {
    const decision = decideRebalance({ self, live, environments: environments ?? ENVS, held: held(live) });
    expect({ keep: decision.keep, release: decision.release, take: decision.take }).toEqual(expected(live));
    // keep + take is the share; release is disjoint from it.
    expect([...decision.keep, ...decision.take].sort()).toEqual([...decision.assigned].sort());
    for (const environment of decision.release) expect(decision.assigned).not.toContain(environment);
  });

  it('the replicas’ shares, each decided alone, cover every environment once', () => {
    const live = ['r1', 'r2', 'r3', 'r4', 'r5'];
    const shares = live.map(
      (self) => decideRebalance({ self, live: [...live].reverse(), environments: ENVS, held: [] }).take,
    );
    expect(shares.flat().sort()).toEqual(ENVS);
    for (const s of shares) expect(s.length === 2 || s.length === 3).toBe(true);
  });
});

describe('timings', () => {
  it('the defaults: a dead replica’s environments within one lease period and a tick', () => {
    expect(DEFAULT_FLEET_TIMINGS).toEqual({ tickMs: 5_000, heartbeatTtlMs: 15_000, leaseTtlMs: 30_000 });
    expect(handOffBounds()).toEqual<HandOffBounds>({ deadMs: 35_000, leftMs: 10_000, joinedMs: 10_000 });
  });

  it('the two countdowns run at once: a longer heartbeat TTL than the lease is what delays a takeover', () => {
    expect(handOffBounds({ tickMs: 1_000, heartbeatTtlMs: 5_000, leaseTtlMs: 10_000 }).deadMs).toBe(11_000);
    expect(handOffBounds({ tickMs: 1_000, heartbeatTtlMs: 20_000, leaseTtlMs: 10_000 }).deadMs).toBe(22_000);
  });

  it('a heartbeat TTL under two ticks is refused: one late heartbeat would count a replica dead', () => {
    expect(() => handOffBounds({ tickMs: 5_000, heartbeatTtlMs: 9_999, leaseTtlMs: 30_000 })).toThrow(/flap/);
  });
});

/**
 * A fleet on a simulated clock in ticks: every replica, in a shuffled order each tick, heartbeats,
 * reads the live replicas, decides, releases, then takes (a lease is taken only when free,
 * expired or its own) and renews what it keeps. The lease table is exclusive by construction, as
 * the real one is by its key: what this checks is that the decisions settle, and how fast.
 */
class Fleet {
  now = 0;
  readonly heartbeats = new Map<string, number>();
  readonly leases = new Map<string, { holder: string; expiresAt: number }>();
  readonly held = new Map<string, Set<string>>();
  readonly running = new Set<string>();
  /** For each environment, the ticks it ended unheld, in a row. */
  readonly unheldFor = new Map<string, number>();
  maxUnheld = 0;
  statements = 0;
  #seed: number;

  constructor(
    readonly environments: readonly string[],
    readonly heartbeatTtl: number,
    readonly leaseTtl: number,
    seed: number,
  ) {
    this.#seed = seed;
  }

  start(id: string): void {
    this.running.add(id);
    this.held.set(id, new Set());
  }

  /** A clean stop: it leaves the fleet and releases everything. */
  stop(id: string): void {
    this.running.delete(id);
    this.heartbeats.delete(id);
    for (const environment of this.held.get(id) ?? []) this.leases.delete(environment);
    this.held.delete(id);
  }

  /** A death: nothing more from it; its rows stay until they age out. */
  kill(id: string): void {
    this.running.delete(id);
    this.held.delete(id);
  }

  #random(): number {
    this.#seed = (this.#seed * 1103515245 + 12345) % 2 ** 31;
    return this.#seed / 2 ** 31;
  }

  tick(): void {
    this.now += 1;
    const order = [...this.running].sort(() => this.#random() - 0.5);
    for (const self of order) {
      this.heartbeats.set(self, this.now);
      const live = [...this.heartbeats]
        .filter(([, at]) => this.now - at < this.heartbeatTtl)
        .map(([id]) => id);
      const mine = this.held.get(self)!;
      const decision = decideRebalance({ self, live, environments: this.environments, held: [...mine] });
      // Release first, so a newcomer ticking later in this same tick can take at once.
      if (decision.release.length > 0) this.statements += 1;
      for (const environment of decision.release) {
        if (this.leases.get(environment)?.holder === self) this.leases.delete(environment);
        mine.delete(environment);
      }
      if (decision.take.length > 0) this.statements += 1;
      for (const environment of decision.take) {
        const lease = this.leases.get(environment);
        if (lease === undefined || lease.expiresAt <= this.now || lease.holder === self) {
          this.leases.set(environment, { holder: self, expiresAt: this.now + this.leaseTtl });
          mine.add(environment);
        }
      }
      for (const environment of decision.keep) {
        const lease = this.leases.get(environment);
        if (lease?.holder === self) lease.expiresAt = this.now + this.leaseTtl;
        else mine.delete(environment);
      }
    }
    for (const environment of this.environments) {
      const lease = this.leases.get(environment);
      const working = lease !== undefined && this.running.has(lease.holder) && lease.expiresAt > this.now;
      const unheld = working ? 0 : (this.unheldFor.get(environment) ?? 0) + 1;
      this.unheldFor.set(environment, unheld);
      this.maxUnheld = Math.max(this.maxUnheld, unheld);
    }
  }

  /** Whether every environment is held by the replica the running fleet assigns it to. */
  settled(): boolean {
    const owners = assignEnvironments([...this.running], this.environments).owners;
    return this.environments.every((environment) => {
      const lease = this.leases.get(environment);
      return (
        lease !== undefined &&
        lease.holder === owners.get(environment) &&
        this.held.get(lease.holder)?.has(environment) === true
      );
    });
  }

  /** Ticks until settled (at most `limit`). */
  ticksToSettle(limit = 100): number {
    for (let ticks = 1; ticks <= limit; ticks++) {
      this.tick();
      if (this.settled()) return ticks;
    }
    return Number.POSITIVE_INFINITY;
  }
}

// Each scenario in several orders of the replicas' ticks within a tick.
describe.each([1, 2, 3, 5, 8, 13, 21, 34])(
  'a fleet, tick by tick (heartbeat TTL 3 ticks, lease 6: the defaults in 5 s ticks), order %i',
  (seed) => {
    const environments = Array.from({ length: 300 }, (_, i) => `env_${i}`);
    const started = () => {
      const fleet = new Fleet(environments, 3, 6, seed);
      for (const id of ['replica-a', 'replica-b', 'replica-c']) fleet.start(id);
      // Started together, the first to tick sees itself alone and takes everything; it sheds the
      // others' shares at its next tick, when it sees them.
      expect(fleet.ticksToSettle()).toBeLessThanOrEqual(3);
      fleet.maxUnheld = 0;
      return fleet;
    };

    it('a replica joins: settled within two ticks of its first heartbeat, each hand-off unheld at most a tick', () => {
      const fleet = started();
      fleet.start('replica-d');
      // Its first heartbeat is in the first tick; an old owner that ticked before it sees it at the
      // next, and releases; the newcomer takes at its next tick after that.
      expect(fleet.ticksToSettle()).toBeLessThanOrEqual(3);
      expect(fleet.maxUnheld).toBeLessThanOrEqual(1);
      expect(fleet.held.get('replica-d')!.size).toBe(75);
    });

    it('a replica stops cleanly: its environments held again at the next tick, settled at the one after', () => {
      const fleet = started();
      const leftBehind = [...fleet.held.get('replica-b')!];
      fleet.stop('replica-b');
      fleet.tick();
      for (const environment of leftBehind) expect(fleet.leases.get(environment)).toBeDefined();
      expect(fleet.settled() || fleet.ticksToSettle() === 1).toBe(true);
      expect(fleet.maxUnheld).toBeLessThanOrEqual(1);
    });

    it('a replica dies: its environments held again once its lease expires — max(heartbeat, lease) + a tick', () => {
      const fleet = started();
      fleet.kill('replica-b');
      const ticks = fleet.ticksToSettle();
      // The survivors see it gone after 3 ticks and retry each tick until its leases expire at 6.
      expect(ticks).toBeLessThanOrEqual(Math.max(3 + 1, 6) + 1);
      expect(ticks).toBeGreaterThanOrEqual(5);
      expect(fleet.maxUnheld).toBeLessThanOrEqual(6);
    });

    it('steady state: no lease statement but the renewal, tick after tick', () => {
      const fleet = started();
      fleet.statements = 0;
      for (let i = 0; i < 20; i++) fleet.tick();
      expect(fleet.statements).toBe(0);
      expect(fleet.maxUnheld).toBe(0);
    });

    it('a rolling restart of every replica, one at a time: settled after each, nothing unheld long', () => {
      const fleet = started();
      for (const [old, next] of [
        ['replica-a', 'replica-a2'],
        ['replica-b', 'replica-b2'],
        ['replica-c', 'replica-c2'],
      ] as const) {
        fleet.start(next);
        expect(fleet.ticksToSettle()).toBeLessThanOrEqual(3);
        fleet.stop(old);
        expect(fleet.ticksToSettle()).toBeLessThanOrEqual(2);
      }
      expect(fleet.maxUnheld).toBeLessThanOrEqual(1);
    });
  },
);
