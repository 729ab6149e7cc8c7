/**
 * `start()` with an environments file: every environment of the file, each with a WorkOS client
 * of its own API key (all behind the process's one request gate), served as a fleet
 * (worker/fleet/) on the one database handle. An environment other than `default` needs the keys
 * led by the environment (migrations/0007): until `migrate --finalize`, the fleet refuses to start.
 * The environments with a webhook secret are received on one listener (`WORKOS_SYNC_WEBHOOK_HOST`
 * and `_PORT`), each at `/webhooks/<environment>`.
 */
import type { WorkOS } from '@workos-inc/node';
import type { Config } from '../config.ts';
import type { DatabaseHandle } from '../db/connect.ts';
import { requireEnvironmentKeys } from '../db/migrate.ts';
import { ConfigError, type FatalError } from '../errors.ts';
import type { Logger, Scrub } from '../logger.ts';
import type { ChangeReporting } from '../sync/changes/report.ts';
import { packageVersion } from '../version.ts';
import { serveFleet } from '../worker/fleet/serve-fleet.ts';
import type { HttpServerOptions } from '../worker/http-server.ts';
import type { RunningSync } from '../worker/serve.ts';
import { nudgeChannel } from '../worker/webhooks/nudge-bus.ts';
import { createWorkosClient, type RequestGate } from '../workos/client.ts';
import { workosConnectionsSource } from '../workos/connections-source.ts';
import { workosEventsSource } from '../workos/events-source.ts';
import { workosOrganizationsSource } from '../workos/organizations-source.ts';

export interface FleetFromDeps {
  readonly config: Config;
  readonly database: () => Promise<DatabaseHandle>;
  readonly log: Logger;
  readonly scrub: Scrub;
  readonly reporting: ChangeReporting;
  readonly gate: RequestGate;
}

export interface FleetFromOptions {
  readonly holder: string;
  readonly http: Pick<HttpServerOptions, 'host' | 'port' | 'basicAuth'> | null;
  readonly onFatal?: ((error: FatalError) => void) | undefined;
}

/**
 * The fleet's tick is a sixth of the lease period and a replica counts as gone after three missed
 * beats: a killed replica's environments are taken within a lease period and a tick
 * (worker/fleet/rebalance.ts, `handOffBounds`).
 */
export function fleetTimings(leaseTtlMs: number) {
  const tickMs = Math.max(1_000, Math.floor(leaseTtlMs / 6));
  return { tickMs, heartbeatTtlMs: 3 * tickMs, leaseTtlMs };
}

export function serveFleetFrom(deps: FleetFromDeps, options: FleetFromOptions): RunningSync {
  const { config, log, scrub, reporting } = deps;
  const clients = new Map<string, WorkOS>();
  const clientOf = (name: string): WorkOS => {
    let client = clients.get(name);
    if (!client) {
      const environment = config.environments.find((e) => e.name === name);
      if (!environment?.apiKey) throw new ConfigError(`environment "${name}" has no API key`);
      client = createWorkosClient({
        apiKey: environment.apiKey,
        apiUrl: config.workos.apiUrl,
        timeoutMs: config.requestTimeoutMs,
        gate: deps.gate,
      });
      clients.set(name, client);
    }
    return client;
  };
  const opened = deps.database().then(async (handle) => {
    for (const environment of config.environments)
      await requireEnvironmentKeys(handle.db, config.database.schema, environment.name);
    const withSecrets = config.environments.flatMap((e) =>
      e.webhookSecret ? [{ name: e.name, secret: e.webhookSecret }] : [],
    );
    return serveFleet(
      {
        db: handle.db,
        dedicatedSession: handle.dedicatedSession,
        schema: config.database.schema,
        log,
        scrub,
        environmentDeps: (name) => ({
          events: workosEventsSource(clientOf(name), { phase: 'poll' }),
          connections: workosConnectionsSource(clientOf(name)),
          organizations: workosOrganizationsSource(clientOf(name)),
          log,
          scrub,
          reporting,
        }),
      },
      {
        environments: config.environments.map((e) => ({
          name: e.name,
          pollCron: e.schedules.pollCron,
          reconcileCron: e.schedules.reconcileCron,
        })),
        holder: options.holder,
        release: packageVersion(),
        timings: fleetTimings(config.leaseTtlMs),
        idlePollMaxMs: config.idlePollMaxMs ?? undefined,
        lookForMs: config.webhookReceiver.lookForMs,
        eventsRetention: config.eventsRetention,
        http: options.http,
        webhooks:
          withSecrets.length === 0
            ? null
            : {
                host: config.webhookReceiver.host,
                port: config.webhookReceiver.port,
                environments: withSecrets,
                // The SDK's check needs no key: any environment's client verifies with the secret given.
                verifier: clientOf(withSecrets[0]!.name).webhooks,
                channel: nudgeChannel(config.database.schema),
              },
        onEnvironmentFatal: (environment, error) => {
          log.error({ err: error, environment }, 'an environment stopped; the others go on');
          options.onFatal?.(error);
        },
      },
    );
  });
  let fleet: RunningSync | undefined;
  void opened.then(
    (f) => {
      fleet = f;
    },
    () => undefined,
  );
  return {
    ready: opened.then((f) => f.ready),
    done: opened.then(
      (f) => f.done,
      () => null,
    ),
    lastSuccessfulTickAt: () => fleet?.lastSuccessfulTickAt() ?? null,
    async stop() {
      await (await opened.catch(() => undefined))?.stop();
    },
  };
}
