/**
 * The fleet: one process serving its share of many WorkOS environments. Every tick it heartbeats
 * (heartbeat.ts), reads the live replicas, works out its share (rebalance.ts), stops the
 * environments no longer its own (their page in flight commits or rolls back, their leases are
 * released) and starts those newly its own. Each environment runs as the single-environment
 * worker does (worker.ts: its poll and reconcile jobs under its own leases, its fenced cursor), on
 * the environment's handle of the one shared pool (db/environment-scope.ts), with the sources of
 * its own API key. The share decides where work should go; the leases still decide who works.
 *
 * A tick that fails (the database away) is logged once per change of state and tried at the next
 * tick; the environments running go on meanwhile, under their leases. A rejected API key stops
 * that environment only, and is reported; the others go on.
 *
 * So that many environments on one replica stay cheap (docs/fleet.md#many-environments-on-one-replica),
 * each environment's work is paced (worker/pacing.ts): an idle one's polls back off up to
 * `idlePollMaxMs`, and its polls and reconciliations are offset by a delay of its own, so they do
 * not all fall on the same fire. Their events leases are renewed together, one statement per 500
 * environments every third of the lease period (lease-renewals.ts), not each on its own timer.
 *
 * What a tick sees and does is told to an optional observer (`FleetObserver`: the fleet's metrics,
 * fleet-metrics.ts), so this loop knows nothing of how it is exported.
 */

import type { Kysely } from 'kysely';
import { scopedToEnvironment } from '../../db/environment-scope.ts';
import type { Database } from '../../db/tables.ts';
import type { FatalError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { EventsRetention } from '../../sync/events/retention.ts';
import type { SyncDeps } from '../../sync/poll.ts';
import type { SyncMetrics } from '../metrics.ts';
import { environmentPacing, fleetIdlePollMaxMs } from '../pacing.ts';
import { schedulePeriodMs } from '../poll-period.ts';
import { startWorker, type Worker } from '../worker.ts';
import { heartbeat, leaveFleet, liveWorkers } from './heartbeat.ts';
import { heldByOthers } from './lease-batch.ts';
import { LeaseRenewals } from './lease-renewals.ts';
import { decideRebalance, type FleetTimings, handOffBounds } from './rebalance.ts';

/** One environment as the fleet serves it. */
export interface FleetEnvironment {
  readonly name: string;
  readonly pollCron: string;
  readonly reconcileCron: string;
}

export interface FleetDeps {
  /** The whole database (every environment's rows): each environment gets its own handle of it. */
  readonly db: Kysely<Database>;
  readonly schema: string;
  readonly log: Logger;
  /** An environment's WorkOS sources and what else its sync needs, on its own handle `db`. */
  readonly environmentDeps: (name: string, db: Kysely<Database>) => Omit<SyncDeps, 'db'>;
  readonly metricsOf: (name: string, db: Kysely<Database>) => SyncMetrics;
  readonly observer?: FleetObserver | undefined;
}

/**
 * What the ticks tell whoever watches the fleet, as it happens. Its calls are synchronous and
 * must not throw: one that did would count as the tick's failure.
 */
export interface FleetObserver {
  /** A tick read the live replicas: this many (this one among them while its heartbeat is fresh). */
  sawLiveWorkers(count: number): void;
  /** A tick failed (the database away); the next is a tick later. */
  tickFailed(): void;
  /**
   * A tick started an environment, its share having moved here (`taken`: the first tick's whole
   * share too), or stopped one, its share having moved away (`released`: called once its work on
   * it has stopped). Neither a fatal stop (`onEnvironmentFatal`) nor this replica's own stop.
   */
  handedOff(environment: string, direction: 'taken' | 'released'): void;
}

export interface FleetOptions {
  readonly environments: readonly FleetEnvironment[];
  /** This replica's id: its `workers` row, and the holder its leases name. */
  readonly holder: string;
  readonly release: string;
  readonly timings: FleetTimings;
  readonly lookForMs?: number | undefined;
  /** How long the event log keeps events (the same for every environment). */
  readonly eventsRetention?: EventsRetention | undefined;
  /**
   * The longest an idle environment goes between polls (worker/pacing.ts): the bound on how late
   * a change no webhook announced is seen. Default `fleetIdlePollMaxMs` of the lease period: 30 s,
   * or the lease period when that is shorter. At most a poll schedule's period: no backoff.
   */
  readonly idlePollMaxMs?: number | undefined;
  /** An environment stopped for good (its API key rejected): the others go on. */
  readonly onEnvironmentFatal: (environment: string, error: FatalError) => void;
}

export interface Fleet {
  /** The environments this replica runs now (holding their leases, or waiting for them). */
  running(): readonly string[];
  /** The environment's worker, when this replica runs it. */
  worker(environment: string): Worker | undefined;
  /** When a tick last went through (readiness). */
  lastTickAt(): Date | null;
  /** Resolves after the first tick, whether it went through or not. */
  readonly started: Promise<void>;
  stop(): Promise<void>;
}

export function startFleet(deps: FleetDeps, options: FleetOptions): Fleet {
  handOffBounds(options.timings); // refuses timings that would flap
  const byName = new Map(options.environments.map((e) => [e.name, e]));
  const workers = new Map<string, Worker>();
  const failed = new Set<string>();
  let lastTick: Date | null = null;
  let lastError: string | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const idlePollMaxMs = options.idlePollMaxMs ?? fleetIdlePollMaxMs(options.timings.leaseTtlMs);
  const renewals = new LeaseRenewals(deps.db, 'events', options.holder, options.timings.leaseTtlMs);

  /** Whether it started the environment (not when it runs it already, or it stopped for good). */
  const start = (name: string): boolean => {
    const environment = byName.get(name);
    if (!environment || workers.has(name) || failed.has(name)) return false;
    const db = scopedToEnvironment(deps.db, deps.schema, name);
    const log = deps.log.child({ environment: name });
    const worker = startWorker(
      { ...deps.environmentDeps(name, db), db, log, metrics: deps.metricsOf(name, db) },
      {
        pollCron: environment.pollCron,
        reconcileCron: environment.reconcileCron,
        holder: options.holder,
        leaseTtlMs: options.timings.leaseTtlMs,
        lookForMs: options.lookForMs,
        eventsRetention: options.eventsRetention,
        pacing: environmentPacing(
          name,
          {
            pollMs: schedulePeriodMs(environment.pollCron),
            reconcileMs: schedulePeriodMs(environment.reconcileCron),
          },
          idlePollMaxMs,
        ),
        eventsLeaseRenewals: renewals,
        onFatal(error) {
          failed.add(name);
          void stopEnvironment(name).then(() => options.onEnvironmentFatal(name, error));
        },
      },
    );
    workers.set(name, worker);
    return true;
  };

  /** Whether this call stopped it: a fatal error's stop and a release may meet. */
  const stopEnvironment = async (name: string): Promise<boolean> => {
    const worker = workers.get(name);
    workers.delete(name);
    await worker?.stop();
    return worker !== undefined;
  };

  const tick = async () => {
    try {
      await heartbeat(
        deps.db,
        { id: options.holder, release: options.release, environments: workers.size },
        { ttlMs: options.timings.heartbeatTtlMs },
      );
      const live = await liveWorkers(deps.db, options.timings.heartbeatTtlMs);
      deps.observer?.sawLiveWorkers(live.length);
      if (stopped) return;
      const decision = decideRebalance({
        self: options.holder,
        live,
        environments: [...byName.keys()],
        held: [...workers.keys()],
      });
      // Released first, so the new owner finds them free at its next tick.
      await Promise.all(
        decision.release.map(async (name) => {
          if (await stopEnvironment(name)) deps.observer?.handedOff(name, 'released');
        }),
      );
      if (stopped) return;
      // Started once its lease is free: a worker tries a lease at its polls, minutes apart on a
      // slow schedule, so one still held by the previous owner is tried again at the next tick.
      const busy = await heldByOthers(deps.db, 'events', options.holder, decision.take);
      if (stopped) return;
      for (const name of decision.take)
        if (!busy.has(name) && start(name)) deps.observer?.handedOff(name, 'taken');
      lastTick = new Date();
      if (lastError !== null) deps.log.info('fleet tick recovered');
      lastError = null;
    } catch (error) {
      deps.observer?.tickFailed();
      const message = error instanceof Error ? error.message : String(error);
      if (message !== lastError) deps.log.warn({ err: error }, 'fleet tick failed; trying again next tick');
      lastError = message;
    }
  };

  const loop = async () => {
    await tick();
    if (!stopped) timer = setTimeout(() => void loop(), options.timings.tickMs);
  };
  const started = loop();

  return {
    running: () => [...workers.keys()],
    worker: (environment) => workers.get(environment),
    lastTickAt: () => lastTick,
    started,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await started;
      await Promise.all([...workers.keys()].map(stopEnvironment));
      renewals.close();
      // The others take this replica's environments at their next tick, not after its heartbeat ages.
      await leaveFleet(deps.db, options.holder).catch((error: unknown) =>
        deps.log.warn({ err: error }, 'could not leave the fleet; the others will find this replica gone'),
      );
    },
  };
}
