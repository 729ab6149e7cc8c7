/**
 * The fleet as `run` serves it with an environments file: the fleet (fleet.ts), the health and
 * metrics server and, when an environment has a webhook secret, the webhook receiver and the nudge
 * bus, started together and stopped together. Each environment this replica runs keeps its own
 * metrics, labelled `environment`, and a scrape gives them all as one page with the fleet's own
 * (fleet-metrics.ts) and the receiver's (prom-client's aggregation of registries: one family per
 * metric, one series per environment and label set). Readiness follows
 * the fleet's tick, not any one environment's poll: an environment waiting for another replica's
 * lease is not a fault of this one.
 *
 * Webhooks: one receiver for the process, `POST /webhooks/<environment>` for each environment with
 * a secret, verified with that secret (webhooks/receiver.ts). A verified delivery is announced on
 * the nudge bus with its environment, whichever replica received it; every replica hears it and
 * passes it to its own worker of that environment, if it runs it (which acts on it while it holds
 * the environment's lease). A replica that does not run the environment ignores it.
 */
import type { Kysely } from 'kysely';
import { AggregatorRegistry, prometheusContentType, type Registry } from 'prom-client';
import type { DedicatedSession } from '../../db/listen.ts';
import type { Database } from '../../db/tables.ts';
import type { FatalError } from '../../errors.ts';
import type { Scrub } from '../../logger.ts';
import type { MetricsPage } from '../http-server.ts';
import { databaseCheck, type HttpServer, type HttpServerOptions, startHttpServer } from '../http-server.ts';
import { createMetrics, createWebhookReceiverMetrics, type SyncMetrics } from '../metrics.ts';
import type { RunningSync } from '../serve.ts';
import { type NudgeBus, startNudgeBus } from '../webhooks/nudge-bus.ts';
import { type EnvironmentsWebhookReceiver, startEnvironmentsWebhookReceiver } from '../webhooks/receiver.ts';
import type { WebhookVerifier } from '../webhooks/verify.ts';
import { type FleetDeps, type FleetOptions, startFleet } from './fleet.ts';
import { createFleetMetrics } from './fleet-metrics.ts';
import { fleetStatusReader } from './fleet-status.ts';

export interface ServeFleetOptions extends Omit<FleetOptions, 'onEnvironmentFatal'> {
  readonly http: Pick<HttpServerOptions, 'host' | 'port' | 'basicAuth'> | null;
  readonly onEnvironmentFatal: (environment: string, error: FatalError) => void;
  /** The webhook receiver of the environments with a secret (at least one), and the nudge bus's channel. */
  readonly webhooks: {
    readonly host: string;
    readonly port: number;
    readonly environments: readonly { readonly name: string; readonly secret: string }[];
    readonly verifier: WebhookVerifier;
    readonly channel: string;
  } | null;
}

type ServeFleetDeps = Omit<FleetDeps, 'metricsOf' | 'observer'> & {
  readonly scrub: Scrub;
  /** A session of its own to LISTEN on; without one (embedded), nudges reach this process's workers only. */
  readonly dedicatedSession?: (() => Promise<DedicatedSession>) | undefined;
};

export function serveFleet(deps: ServeFleetDeps, options: ServeFleetOptions): RunningSync {
  // The metrics of the environments this replica runs, and only those: made as one starts,
  // dropped once it is released or stopped for good, so that a page never holds the series of an
  // environment another replica runs (its status gauges would repeat the holder's, its counters
  // would freeze). The receiver's count of the deliveries this replica received stays: it is this
  // replica's, whichever runs the environment.
  // Dropping the entry is all it takes: a registry holds no timer (the status read's own ends with
  // the read) and no connection (its handle is a view of the shared pool), and a scrape in flight
  // keeps what it reads. Taken again, an environment gets new registries and its counters start
  // again from zero: Prometheus' rate() and increase() read that as a counter reset, as after a
  // restart, and lose nothing.
  const metrics = new Map<string, SyncMetrics>();
  // One read of every environment's status per scrape, not one per environment.
  const statuses = fleetStatusReader(deps.db);
  const metricsOf = (name: string, db: Kysely<Database>): SyncMetrics => {
    const made = createMetrics({
      db,
      log: deps.log.child({ environment: name }),
      readStatus: (at) => statuses.readStatus(name, at),
    });
    made.registry.setDefaultLabels({ environment: name });
    metrics.set(name, made);
    return made;
  };
  const fleetMetrics = createFleetMetrics({
    declared: options.environments.length,
    running: () => fleet.running().length,
  });
  const fleet = startFleet(
    {
      ...deps,
      metricsOf,
      observer: {
        sawLiveWorkers: (count) => fleetMetrics.sawLiveWorkers(count),
        tickFailed: () => fleetMetrics.tickFailed(),
        handedOff(environment, direction) {
          fleetMetrics.handedOff(environment, direction);
          if (direction === 'released') metrics.delete(environment);
        },
      },
    },
    {
      ...options,
      onEnvironmentFatal(environment, error) {
        metrics.delete(environment);
        fleetMetrics.recordEnvironmentFailed();
        options.onEnvironmentFatal(environment, error);
      },
    },
  );
  const receiverMetrics = options.webhooks
    ? createWebhookReceiverMetrics(options.webhooks.environments.map((e) => e.name))
    : undefined;
  let server: HttpServer | undefined;
  let receiver: EnvironmentsWebhookReceiver | undefined;
  let bus: NudgeBus | undefined;
  let finish!: (error: FatalError | null) => void;
  const done = new Promise<FatalError | null>((resolve) => {
    finish = resolve;
  });

  const ready = (async () => {
    await fleet.started;
    server = options.http
      ? await startHttpServer(
          {
            metrics: {
              registry: fleetRegistry(() => [
                fleetMetrics.registry,
                ...(receiverMetrics ? [receiverMetrics.registry] : []),
                ...[...metrics.values()].map((m) => m.registry),
              ]),
            },
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
    if (options.webhooks && receiverMetrics) {
      const { verifier, channel, host, port, environments } = options.webhooks;
      // Each replica passes a nudge only to its own worker of the nudge's environment.
      bus = startNudgeBus(
        { db: deps.db, log: deps.log, dedicatedSession: deps.dedicatedSession },
        channel,
        ({ environment, ...nudge }) => fleet.worker(environment)?.nudge(nudge),
      );
      await bus.ready;
      const nudges = bus;
      receiver = await startEnvironmentsWebhookReceiver(
        {
          webhooks: verifier,
          metrics: receiverMetrics,
          log: deps.log,
          onDelivery: ({ environment, eventId, receivedAt, span }) =>
            nudges.send({ environment, eventId, receivedAt, span }),
        },
        { host, port, environments },
      );
    }
    deps.log.info(
      {
        holder: options.holder,
        environments: options.environments.length,
        http: server?.url ?? 'disabled',
        webhooks: receiver?.url ?? 'disabled',
      },
      'fleet worker started',
    );
    return { url: server?.url ?? null, webhookUrl: receiver?.url ?? null };
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
        await receiver?.close();
        await fleet.stop();
        await bus?.close();
        await server?.close();
        finish(null);
      })();
      return stopping;
    },
  };
}

/** A registry-like view of the registries (the fleet's, every environment's), aggregated at each scrape. */
function fleetRegistry(registries: () => readonly Registry[]): MetricsPage {
  return {
    contentType: prometheusContentType,
    async metrics() {
      const json = await Promise.all(registries().map((r) => r.getMetricsAsJSON()));
      return AggregatorRegistry.aggregate(json).metrics();
    },
  };
}
