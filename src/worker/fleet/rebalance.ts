/**
 * One replica's rebalancing decision for one tick, pure: from its id, the live replicas (as the
 * heartbeats say, heartbeat.ts), every environment and the environments whose lease it holds now,
 * which leases to give back and which to try to take (docs/fleet.md#the-hand-off).
 *
 * - An environment it holds that is no longer assigned to it is released — after its work on it
 *   has stopped — so the new owner takes it at its next tick instead of waiting for the lease to
 *   expire.
 * - An environment assigned to it that it does not hold is tried: free (or expired) it is taken;
 *   still held by its previous owner, the try fails and is made again next tick. Nothing else is
 *   needed: the lease decides who works on an environment, and the fenced cursor stops a former
 *   holder that did not notice it lost it from writing.
 * - A replica missing from the live replicas (its heartbeat is older than the TTL, as when the
 *   process was paused) is, to the others, gone: it holds nothing either, until it is seen again.
 *
 * Steady state costs no lease statement beyond the renewal of what it holds (lease-batch.ts):
 * `take` and `release` are only the changes.
 */
import { assignEnvironments, compareIds } from './assignment.ts';

export interface RebalanceInput {
  /** This replica's id (its `workers` row, and the holder it names in `leases`). */
  readonly self: string;
  /** The live replicas, this one included when its heartbeat is fresh (any order). */
  readonly live: readonly string[];
  /** Every environment the fleet serves (the same list in every replica). */
  readonly environments: readonly string[];
  /** The environments whose lease this replica holds now, as far as it knows. */
  readonly held: readonly string[];
}

export interface RebalanceDecision {
  /** What this replica should hold: its share of the assignment. */
  readonly assigned: readonly string[];
  /** Held and assigned: go on, renewed with the rest (lease-batch.ts). */
  readonly keep: readonly string[];
  /** Held and no longer assigned (or no longer an environment): stop, then release. First. */
  readonly release: readonly string[];
  /** Assigned and not held: try to take (a lease held by another replica is tried next tick). */
  readonly take: readonly string[];
}

export function decideRebalance(input: RebalanceInput): RebalanceDecision {
  const member = input.live.includes(input.self);
  const assigned = member
    ? (assignEnvironments(input.live, input.environments).byWorker.get(input.self) ?? [])
    : [];
  const mine = new Set(assigned);
  const held = [...new Set(input.held)].sort(compareIds);
  const holding = new Set(held);
  return {
    assigned,
    keep: held.filter((environment) => mine.has(environment)),
    release: held.filter((environment) => !mine.has(environment)),
    take: assigned.filter((environment) => !holding.has(environment)),
  };
}

export interface FleetTimings {
  /** How often a replica heartbeats and decides (one tick). */
  readonly tickMs: number;
  /** A replica is live while its heartbeat is younger than this. */
  readonly heartbeatTtlMs: number;
  /** An environment's lease lives this long unrenewed. */
  readonly leaseTtlMs: number;
}

/** The proposed defaults (docs/fleet.md#timings): the lease as today, three heartbeats of slack. */
export const DEFAULT_FLEET_TIMINGS: FleetTimings = {
  tickMs: 5_000,
  heartbeatTtlMs: 15_000,
  leaseTtlMs: 30_000,
};

export interface HandOffBounds {
  /** A replica killed: every environment held by its assigned replica again within this. */
  readonly deadMs: number;
  /** A replica stopped cleanly (its row deleted, its leases released): within this. */
  readonly leftMs: number;
  /** A replica started: every environment with its assigned replica within this of its first heartbeat. */
  readonly joinedMs: number;
}

/**
 * How long each change takes to settle, worst case, from the timings (docs/fleet.md#timings); the
 * work in flight on an environment that moves (at most a page) comes on top of a release.
 *
 * - A replica that joins or leaves moves its own share, and a few environments between the others
 *   (assignment.ts: those displaced before or after). Each such hand-off is a release at the old
 *   owner's next tick after it sees the change, then a take at the new owner's next tick after
 *   that: two ticks, the environment unheld for at most one. The leaver's own environments, which
 *   it released as it left, are taken at the next tick.
 * - A dead replica's last heartbeat and last renewal are both at most its death, so the two
 *   countdowns run at once: the others see it gone `heartbeatTtl` after (and hand off among
 *   themselves within two ticks more), its leases are free `leaseTtl` after, and their next tick
 *   takes them: max(heartbeatTtl + tick, leaseTtl) + tick. With heartbeatTtl ≤ leaseTtl − tick,
 *   that is one lease period and a tick, as for a single standby today.
 *
 * Throws on timings that flap: a heartbeat TTL under two ticks counts a replica dead for one late
 * heartbeat.
 */
export function handOffBounds(timings: FleetTimings = DEFAULT_FLEET_TIMINGS): HandOffBounds {
  const { tickMs, heartbeatTtlMs, leaseTtlMs } = timings;
  if (heartbeatTtlMs < 2 * tickMs) {
    throw new Error(
      `a heartbeat TTL of ${heartbeatTtlMs} ms is under two ticks of ${tickMs} ms: replicas would flap`,
    );
  }
  return {
    deadMs: Math.max(heartbeatTtlMs + tickMs, leaseTtlMs) + tickMs,
    leftMs: 2 * tickMs,
    joinedMs: 2 * tickMs,
  };
}
