/**
 * Metrics of the fleet itself, as one replica sees it: how many replicas are live, how many
 * environments it runs and how they move. On a registry of their own, with no `environment`
 * label (serve-fleet.ts aggregates it with each environment's registry into one page), fed by the
 * fleet's ticks through `FleetObserver` (fleet.ts).
 *
 * Summed over the replicas, `environments` is the environments being run: below `declared` for
 * a tick or two while a share moves, and for good when an environment stopped (`failed`).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { FleetObserver } from './fleet.ts';

export interface FleetMetrics extends FleetObserver {
  readonly registry: Registry;
  /** An environment stopped for good on this replica (its API key rejected). */
  recordEnvironmentFailed(): void;
}

export interface FleetMetricsDeps {
  /** The environments of the file (every replica has the same list). */
  readonly declared: number;
  /** The environments this replica runs now, read at each scrape. */
  readonly running: () => number;
}

const PREFIX = 'workos_sync_fleet_';
const DIRECTIONS = ['taken', 'released'] as const;

export function createFleetMetrics(deps: FleetMetricsDeps): FleetMetrics {
  const registry = new Registry();
  const registers = [registry];

  const liveWorkers = new Gauge({
    name: `${PREFIX}live_workers`,
    help: 'Live replicas of the fleet (heartbeat younger than its TTL), this one included, as this replica read them at its last tick (0 before any).',
    registers,
  });
  new Gauge({
    name: `${PREFIX}environments`,
    help: 'Environments this replica runs now (holding their leases, or waiting for them): the only ones whose environment-labelled series are on its page.',
    registers,
    collect() {
      this.set(deps.running());
    },
  });
  new Gauge({
    name: `${PREFIX}environments_declared`,
    help: 'Environments in the environments file, shared among the live replicas.',
    registers,
  }).set(deps.declared);
  const failed = new Gauge({
    name: `${PREFIX}environments_failed`,
    help: 'Environments this replica stopped for good (their API key rejected): not run by it, so without their series on its page, until it restarts.',
    registers,
  });
  const handoffs = new Counter({
    name: `${PREFIX}handoffs_total`,
    help: 'Environments this replica started because its share moved to it (taken; its first tick takes its first share) or stopped because the share moved away (released), by direction. Its own stop is not counted.',
    labelNames: ['direction'] as const,
    registers,
  });
  const tickFailures = new Counter({
    name: `${PREFIX}tick_failures_total`,
    help: 'Fleet ticks (heartbeat, live replicas, hand-offs) that failed, the database away; the environments running go on under their leases meanwhile.',
    registers,
  });
  // Zero series up front, as in metrics.ts: rate() needs the counter before its first increment.
  for (const direction of DIRECTIONS) handoffs.inc({ direction }, 0);

  return {
    registry,
    sawLiveWorkers(count) {
      liveWorkers.set(count);
    },
    tickFailed() {
      tickFailures.inc();
    },
    handedOff(_environment, direction) {
      handoffs.inc({ direction });
    },
    recordEnvironmentFailed() {
      failed.inc();
    },
  };
}
