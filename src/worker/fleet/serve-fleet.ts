/**
 * The fleet as `run` serves it with an environments file: the fleet (fleet.ts) and the health and
 * metrics server, started together and stopped together. Each environment keeps its own metrics,
 * labelled `environment`, and a scrape gives them all as one page (prom-client's aggregation of
 * registries: one family per metric, one series per environment and label set). Readiness follows
 * the fleet's tick, not any one environment's poll: an environment waiting for another replica's
 * lease is not a fault of this one.
 */
import type { Kysely } from 'kysely';
import { AggregatorRegistry, prometheusContentType, type Registry } from 'prom-client';
import type { Database } from '../../db/tables.ts';
import type { FatalError } from '../../errors.ts';
import type { Scrub } from '../../logger.ts';
import type { MetricsPage } from '../http-server.ts';
import { databaseCheck, type HttpServer, startHttpServer } from '../http-server.ts';
import { createMetrics, type SyncMetrics } from '../metrics.ts';
import type { RunningSync } from '../serve.ts';
import { type FleetDeps, type FleetOptions, startFleet } from './fleet.ts';

export interface ServeFleetOptions extends Omit<FleetOptions, 'onEnvironmentFatal'> {
  readonly http: { readonly host: string; readonly port: number | 'ephemeral' } | null;
  readonly onEnvironmentFatal: (environment: string, error: FatalError) => void;
}

type ServeFleetDeps = Omit<FleetDeps, 'metricsOf'> & { readonly scrub: Scrub };

export function serveFleet(deps: ServeFleetDeps, options: ServeFleetOptions): RunningSync {
  const metrics = new Map<string, SyncMetrics>();
  const metricsOf = (name: string, db: Kysely<Database>): SyncMetrics => {
    let kept = metrics.get(name);
    if (!kept) {
      kept = createMetrics({ db, log: deps.log.child({ environment: name }) });
      kept.registry.setDefaultLabels({ environment: name });
      metrics.set(name, kept);
    }
    return kept;
  };
  const fleet = startFleet({ ...deps, metricsOf }, options);
  let server: HttpServer | undefined;
  let finish!: (error: FatalError | null) => void;
  const done = new Promise<FatalError | null>((resolve) => {
    finish = resolve;
  });

  const ready = (async () => {
    await fleet.started;
    server = options.http
      ? await startHttpServer(
          {
            metrics: { registry: fleetRegistry(() => [...metrics.values()].map((m) => m.registry)) },
            log: deps.log,
            scrub: deps.scrub,
            health: {
              startedAt: new Date(),
              pollPeriodMs: options.timings.tickMs,
              lastSuccessfulTickAt: () => fleet.lastTickAt(),
              checkDatabase: databaseCheck(deps.db),
            },
          },
          options.http,
        )
      : undefined;
    deps.log.info(
      { holder: options.holder, environments: options.environments.length, http: server?.url ?? 'disabled' },
      'fleet worker started',
    );
    return { url: server?.url ?? null, webhookUrl: null };
  })();
  ready.catch(() => finish(null));

  let stopping: Promise<void> | undefined;
  return {
    ready,
    done,
    lastSuccessfulTickAt: () => fleet.lastTickAt(),
    stop() {
      stopping ??= (async () => {
        await ready.catch(() => undefined);
        await fleet.stop();
        await server?.close();
        finish(null);
      })();
      return stopping;
    },
  };
}

/** A registry-like view of every environment's registry, aggregated at each scrape. */
function fleetRegistry(registries: () => readonly Registry[]): MetricsPage {
  return {
    contentType: prometheusContentType,
    async metrics() {
      const json = await Promise.all(registries().map((r) => r.getMetricsAsJSON()));
      return AggregatorRegistry.aggregate(json).metrics();
    },
  };
}
