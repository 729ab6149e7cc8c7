/**
 * When an environment's work runs, for a replica that runs many (docs/fleet.md#many-environments-on-one-replica):
 * polls that back off while an environment is idle, and each environment's polls and
 * reconciliations offset by a delay of its own, so a thousand environments do not all poll on the
 * same fire of the schedule nor all reconcile at the top of the hour. Pure, but for `PollPacer`,
 * which keeps one environment's state.
 *
 * **Backoff.** An environment polls on every fire of its schedule (period S) while its polls find
 * events. A poll that finds none doubles its period, S, 2S, 4S, …, up to the longest whole number
 * of periods within the bound B (`idlePollMaxMs`; none when B < 2S); a poll that finds any, a
 * check by a replica that does not hold the lease, and a poll that fails bring it back to S; so
 * does a webhook's nudge, at once. At period kS it polls on every k-th fire — its own of the k (a
 * hash of its name), so idle environments spread evenly over the bound instead of all polling on
 * the same fire. Between two polls there are never more than k fires: an un-nudged change waits
 * at most the bound (plus the poll), where it waited at most S without the backoff.
 *
 * **Offsets.** Every fire of an environment's poll schedule reaches it `pollOffsetMs` late (its
 * hash, within S), and every fire of its reconcile schedule `reconcileOffsetMs` late (its hash,
 * within the reconcile period and at most RECONCILE_SPREAD_MAX_MS). A constant offset moves
 * every fire alike, so the gaps between polls, and between reconciliations, stay what they were.
 * The first poll, when a replica starts the environment (at its start, or taking it over), is not
 * offset: it is the one that takes the lease, and a taken-over environment is to be held again
 * within the hand-off's bounds (fleet/rebalance.ts), its webhooks heard. The budget spreads the
 * first polls' requests of many environments started at once; their statements queue for the pool.
 */
import { createHash } from 'node:crypto';

/** An idle environment's polls back off up to this, by default (docs/fleet.md). */
export const DEFAULT_IDLE_POLL_MAX_MS = 30_000;
/** Reconciliations are spread over their period, but never delayed more than this. */
export const RECONCILE_SPREAD_MAX_MS = 3_600_000;

/**
 * The backoff's bound in a fleet whose leases live `leaseTtlMs`: DEFAULT_IDLE_POLL_MAX_MS, or the
 * lease period when that is shorter — an idle environment is polled at least as often as a dead
 * replica's environments are taken over. The bound on how late a change no webhook announced is
 * seen (plus the poll).
 */
export function fleetIdlePollMaxMs(leaseTtlMs: number): number {
  return Math.min(DEFAULT_IDLE_POLL_MAX_MS, leaseTtlMs);
}

export interface PollPace {
  /** The poll schedule's period (poll-period.ts). */
  readonly scheduleMs: number;
  /** The bound of the backoff; at most the schedule's period: no backoff. */
  readonly idlePollMaxMs: number;
}

/** The longest period of the backoff: the most whole schedule periods within the bound (at least one). */
export function longestPollPeriodMs(pace: PollPace): number {
  return pace.scheduleMs * Math.max(1, Math.floor(pace.idlePollMaxMs / pace.scheduleMs));
}

/**
 * The period after a poll that found `found` events, having polled every `previousMs`: the
 * schedule's when it found any, doubled (up to the longest) when it found none. `null`: no poll
 * ran to its end (a replica that does not hold the lease checked it, or the poll failed): the
 * schedule's.
 */
export function periodAfterPoll(pace: PollPace, previousMs: number, found: number | null): number {
  if (found === null || found > 0) return pace.scheduleMs;
  return Math.min(longestPollPeriodMs(pace), Math.max(pace.scheduleMs, 2 * previousMs));
}

/**
 * Whether the environment polls on fire number `fire` (0, 1, 2, … since it started) at period
 * `periodMs`: every k-th fire, k = periodMs / S, the one of the k that its `phase` picks.
 */
export function pollsOnFire(pace: PollPace, periodMs: number, fire: number, phase: number): boolean {
  const every = Math.max(1, Math.round(periodMs / pace.scheduleMs));
  return (fire + (phase % every)) % every === 0;
}

/** A number in [0, 1) from `text`: the same in every process and on every platform. */
function unitHash(text: string): number {
  return createHash('sha256').update(text).digest().readUIntBE(0, 6) / 2 ** 48;
}

/** An environment's constant delay within `spanMs` for one kind of work, from a hash of its name. */
export function offsetMs(environment: string, work: 'poll' | 'reconcile', spanMs: number): number {
  return Math.floor(unitHash(`${work}:${environment}`) * Math.max(0, spanMs));
}

/** An environment's pick among the k fires of a period of k: a hash of its name. */
export function pollPhase(environment: string): number {
  return Math.floor(unitHash(`phase:${environment}`) * 2 ** 31);
}

/** How an environment's work is paced; all zero (the default) is the single-environment worker's: every fire, at once. */
export interface Pacing {
  /** The bound of the backoff (0: none, poll on every fire). */
  readonly idlePollMaxMs: number;
  readonly pollOffsetMs: number;
  readonly pollPhase: number;
  readonly reconcileOffsetMs: number;
}

export const UNPACED: Pacing = {
  idlePollMaxMs: 0,
  pollOffsetMs: 0,
  pollPhase: 0,
  reconcileOffsetMs: 0,
};

/** A fleet environment's pacing: its offsets and phase from its name, within its schedules' periods. */
export function environmentPacing(
  environment: string,
  periods: { readonly pollMs: number; readonly reconcileMs: number },
  idlePollMaxMs: number,
): Pacing {
  return {
    idlePollMaxMs,
    pollOffsetMs: offsetMs(environment, 'poll', periods.pollMs),
    pollPhase: pollPhase(environment),
    reconcileOffsetMs: offsetMs(
      environment,
      'reconcile',
      Math.min(periods.reconcileMs, RECONCILE_SPREAD_MAX_MS),
    ),
  };
}

/** One environment's backoff: told of each fire, each poll's outcome, and each nudge. */
export class PollPacer {
  #periodMs: number;
  #fire = 0;
  #nudged = false;

  constructor(
    private readonly pace: PollPace,
    private readonly phase: number,
  ) {
    this.#periodMs = pace.scheduleMs;
  }

  /** The period it polls at now. */
  get periodMs(): number {
    return this.#periodMs;
  }

  /** A fire of the schedule: whether to poll on it. */
  fire(): boolean {
    return pollsOnFire(this.pace, this.#periodMs, this.#fire++, this.phase);
  }

  /**
   * A poll ended, having found `found` events (null: no poll ran to its end). The first to end
   * after a nudge leaves the schedule's period, whatever it found: it is the nudge's poll, or one
   * that was running when the nudge came (which then starts the nudge's right after it), and the
   * ladder starts again only from the next.
   */
  polled(found: number | null): void {
    if (this.#nudged) {
      this.#nudged = false;
      return;
    }
    this.#periodMs = periodAfterPoll(this.pace, this.#periodMs, found);
  }

  /** A webhook said something happened: back to the schedule, at once. */
  nudged(): void {
    this.#periodMs = this.pace.scheduleMs;
    this.#nudged = true;
  }
}
