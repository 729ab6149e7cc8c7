/**
 * The worker as `run` and the library's `start()` serve it: the schedules (worker.ts), the health
 * and metrics server, and with webhooks the receiver and the nudge bus between replicas, started
 * together and stopped together — the page in flight commits or rolls back, the leases are given
 * back, the servers and the bus close.
 */

import type { Kysely } from 'kysely';
import { DEFAULT_ENVIRONMENT } from '../db/environment-scope.ts';
import type { DedicatedSession } from '../db/listen.ts';
import type { Database } from '../db/tables.ts';
import type { FatalError } from '../errors.ts';
import type { Logger, Scrub } from '../logger.ts';
import type { EventsRetention } from '../sync/events/retention.ts';
import { packageVersion } from '../version.ts';
import { heartbeat, leaveFleet } from './fleet/heartbeat.ts';
import { databaseCheck, type HttpServer, type HttpServerOptions, startHttpServer } from './http-server.ts';
import { createMetrics } from './metrics.ts';
import { schedulePeriodMs } from './poll-period.ts';
import { type NudgeBus, startNudgeBus } from './webhooks/nudge-bus.ts';
import { startWebhookReceiver, type WebhookReceiver } from './webhooks/receiver.ts';
import type { WebhookVerifier } from './webhooks/verify.ts';
import { startWorker, type Worker, type WorkerDeps } from './worker.ts';

export interface WebhookSettings {
  /** The endpoint's signing secret, from the WorkOS dashboard. */
  readonly secret: string;
  /** The receiver's address (`WORKOS_SYNC_WEBHOOK_HOST` and `_PORT`). */
  readonly host: string;
  readonly port: number;
  /** How long the poller keeps looking for an event a webhook named and the Events API does not list yet. */
  readonly lookForMs: number;
}

export interface ServeOptions {
  readonly pollCron: string;
  readonly reconcileCron: string;
  readonly leaseTtlMs: number;
  readonly holder: string;
  /** How long the event log keeps events; default 400 days. */
  readonly eventsRetention?: EventsRetention | undefined;
  /** Null: no server. Port 0 also means none (the CLI's `WORKOS_SYNC_HTTP_PORT=0`); `'ephemeral'`, a free one. */
  readonly http: Pick<HttpServerOptions, 'host' | 'port' | 'basicAuth'> | null;
  readonly onFatal: (error: FatalError) => void;
  /** The webhook receiver, and where its nudges are passed on to the other replicas. */
  readonly webhooks: {
    readonly settings: WebhookSettings;
    readonly verifier: WebhookVerifier;
    readonly channel: string;
  } | null;
}

export interface RunningSync {
  /**
   * Resolves once the worker runs and the servers listen: the health server's URL, and the
   * webhook endpoint (to register with WorkOS), each null when there is none. With an
   * environments file, `webhookUrl` is the endpoints' prefix, `http://host:port/webhooks`: an
   * environment's endpoint is `<webhookUrl>/<environment>`.
   */
  readonly ready: Promise<{ readonly url: string | null; readonly webhookUrl: string | null }>;
  /** Resolves once the worker has stopped: with the error that stopped it, or null after `stop()`. */
  readonly done: Promise<FatalError | null>;
  /** When the poll schedule last completed a tick without error (readiness). */
  lastSuccessfulTickAt(): Date | null;
  stop(): Promise<void>;
}

type ServeDeps = Omit<WorkerDeps, 'metrics'> & {
  readonly scrub: Scrub;
  readonly dedicatedSession?: (() => Promise<DedicatedSession>) | undefined;
};

export function serveWorker(deps: Promise<ServeDeps>, options: ServeOptions): RunningSync {
  let worker: Worker | undefined;
  let server: HttpServer | undefined;
  let receiver: WebhookReceiver | undefined;
  let bus: NudgeBus | undefined;
  let registration: { leave(): Promise<void> } | undefined;
  let finish!: (error: FatalError | null) => void;
  const done = new Promise<FatalError | null>((resolve) => {
    finish = resolve;
  });
  let stopping: Promise<void> | undefined;

  const ready = (async () => {
    const { db, log, scrub, dedicatedSession, ...sources } = await deps;
    const metrics = createMetrics({ db, log });
    // Registered before it can take a lease (see `registered`).
    registration = await registered(db, log, options);
    worker = startWorker(
      { db, log, scrub, ...sources, metrics },
      {
        pollCron: options.pollCron,
        reconcileCron: options.reconcileCron,
        holder: options.holder,
        leaseTtlMs: options.leaseTtlMs,
        lookForMs: options.webhooks?.settings.lookForMs,
        eventsRetention: options.eventsRetention,
        onFatal(error) {
          void stop(error).then(() => options.onFatal(error));
        },
      },
    );
    const running = worker;
    server = options.http
      ? await startHttpServer(
          {
            metrics,
            log,
            scrub,
            health: {
              startedAt: new Date(),
              pollPeriodMs: schedulePeriodMs(options.pollCron),
              lastSuccessfulTickAt: () => running.lastSuccessfulTickAt(),
              checkDatabase: databaseCheck(db),
            },
          },
          options.http,
        )
      : undefined;
    if (options.webhooks) {
      const { settings, verifier, channel } = options.webhooks;
      // This worker runs `default` alone: another environment's nudge is for a fleet's replica.
      bus = startNudgeBus({ db, log, dedicatedSession }, channel, ({ environment, ...nudge }) => {
        if (environment === DEFAULT_ENVIRONMENT) running.nudge(nudge);
      });
      await bus.ready;
      const nudges = bus;
      receiver = await startWebhookReceiver(
        {
          webhooks: verifier,
          metrics,
          log,
          onDelivery: ({ eventId, receivedAt, span }) =>
            nudges.send({ environment: DEFAULT_ENVIRONMENT, eventId, receivedAt, span }),
        },
        { host: settings.host, port: settings.port, secret: settings.secret },
      );
    }
    log.info(
      { holder: options.holder, http: server?.url ?? 'disabled', webhooks: receiver?.url ?? 'disabled' },
      'worker started',
    );
    return { url: server?.url ?? null, webhookUrl: receiver?.url ?? null };
  })();
  // A start that fails (no database, a port in use) is reported by `ready`, and ends `done`.
  ready.catch(() => finish(null));

  function stop(cause: FatalError | null = null): Promise<void> {
    stopping ??= (async () => {
      await ready.catch(() => undefined);
      await receiver?.close();
      await worker?.stop();
      await registration?.leave();
      await bus?.close();
      await server?.close();
      finish(cause);
    })();
    return stopping;
  }

  return {
    ready,
    done,
    lastSuccessfulTickAt: () => worker?.lastSuccessfulTickAt() ?? null,
    stop: () => stop(),
  };
}

/**
 * A worker of one environment is a member of the fleet too: its heartbeat in `workers` is how
 * `migrate --finalize` tells this release's lease holders from the previous release's
 * (migrations/0007). Every third of a lease period; a failed beat is retried at the next.
 */
async function registered(
  db: Kysely<Database>,
  log: Logger,
  options: ServeOptions,
): Promise<{ leave(): Promise<void> }> {
  const beat = () =>
    heartbeat(db, { id: options.holder, release: packageVersion(), environments: 1 }).catch(
      (error: unknown) => log.debug({ err: error }, 'heartbeat failed; trying again at the next'),
    );
  await beat();
  const timer = setInterval(() => void beat(), Math.max(1_000, Math.floor(options.leaseTtlMs / 3)));
  timer.unref();
  return {
    async leave() {
      clearInterval(timer);
      await leaveFleet(db, options.holder).catch((error: unknown) =>
        log.warn({ err: error }, 'could not leave the fleet; the others will find this replica gone'),
      );
    },
  };
}
