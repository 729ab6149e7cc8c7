/**
 * The worker as `run` and the library's `start()` serve it: the schedules (worker.ts) plus the
 * health and metrics server, started together and stopped together — the page in flight commits
 * or rolls back, the leases are given back, the server closes.
 */
import type { FatalError } from '../errors.ts';
import type { Scrub } from '../logger.ts';
import { databaseCheck, type HttpServer, startHttpServer } from './http-server.ts';
import { createMetrics } from './metrics.ts';
import { schedulePeriodMs } from './poll-period.ts';
import { startWorker, type Worker, type WorkerDeps } from './worker.ts';

export interface ServeOptions {
  readonly pollCron: string;
  readonly reconcileCron: string;
  readonly leaseTtlMs: number;
  readonly holder: string;
  /** Null: no server. Port 0 also means none (the CLI's `WORKOS_SYNC_HTTP_PORT=0`); `'ephemeral'`, a free one. */
  readonly http: { readonly host: string; readonly port: number | 'ephemeral' } | null;
  readonly onFatal: (error: FatalError) => void;
}

export interface RunningSync {
  /** Resolves once the worker runs and the server listens (with its URL, or null when there is none). */
  readonly ready: Promise<{ readonly url: string | null }>;
  /** Resolves once the worker has stopped: with the error that stopped it, or null after `stop()`. */
  readonly done: Promise<FatalError | null>;
  /** When the poll schedule last completed a tick without error (readiness). */
  lastSuccessfulTickAt(): Date | null;
  stop(): Promise<void>;
}

type ServeDeps = Omit<WorkerDeps, 'metrics'> & { readonly scrub: Scrub };

export function serveWorker(deps: Promise<ServeDeps>, options: ServeOptions): RunningSync {
  let worker: Worker | undefined;
  let server: HttpServer | undefined;
  let finish!: (error: FatalError | null) => void;
  const done = new Promise<FatalError | null>((resolve) => {
    finish = resolve;
  });
  let stopping: Promise<void> | undefined;

  const ready = (async () => {
    const { db, log, scrub, ...sources } = await deps;
    const metrics = createMetrics({ db, log });
    worker = startWorker(
      { db, log, scrub, ...sources, metrics },
      {
        pollCron: options.pollCron,
        reconcileCron: options.reconcileCron,
        holder: options.holder,
        leaseTtlMs: options.leaseTtlMs,
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
    log.info({ holder: options.holder, http: server?.url ?? 'disabled' }, 'worker started');
    return { url: server?.url ?? null };
  })();
  // A start that fails (no database, a port in use) is reported by `ready`, and ends `done`.
  ready.catch(() => finish(null));

  function stop(cause: FatalError | null = null): Promise<void> {
    stopping ??= (async () => {
      await ready.catch(() => undefined);
      await worker?.stop();
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
