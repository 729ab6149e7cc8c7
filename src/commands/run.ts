/**
 * `run`: the long-running worker with its health and metrics server, until SIGTERM/SIGINT.
 * Shutdown: stop scheduling, let the page in flight commit or roll back, give the leases back,
 * close the server and the pool — bounded, so a stuck dependency cannot hold a deploy.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type Config, secretsOf } from '../config.ts';
import type { FatalError } from '../errors.ts';
import { secretScrubber } from '../logger.ts';
import { openRuntime, workosFor } from '../runtime.ts';
import { databaseCheck, startHttpServer } from '../worker/http-server.ts';
import { createMetrics } from '../worker/metrics.ts';
import { schedulePeriodMs } from '../worker/poll-period.ts';
import { startWorker } from '../worker/worker.ts';
import { workosConnectionsSource } from '../workos/connections-source.ts';
import { workosEventsSource } from '../workos/events-source.ts';

const SHUTDOWN_DEADLINE_MS = 15_000;

export async function runCommand(config: Config, options: { readonly migrate: boolean }): Promise<void> {
  const workos = workosFor(config);
  const runtime = await openRuntime(config, { migrate: options.migrate });
  const { log, database } = runtime;
  const db = database.db;
  const holder = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const metrics = createMetrics({ db, log });
  let fatal: FatalError | undefined;
  let wake: () => void = () => {};
  const stopped = new Promise<NodeJS.Signals | 'fatal'>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => resolve(signal);
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    wake = () => resolve('fatal');
  });

  const worker = startWorker(
    {
      db,
      events: workosEventsSource(workos),
      connections: workosConnectionsSource(workos),
      log,
      scrub: runtime.scrub,
      metrics,
    },
    {
      pollCron: config.pollCron,
      reconcileCron: config.reconcileCron,
      holder,
      leaseTtlMs: config.leaseTtlMs,
      onFatal(error) {
        fatal = error;
        wake();
      },
    },
  );
  const server = await startHttpServer(
    {
      metrics,
      log,
      scrub: secretScrubber(secretsOf(config)),
      health: {
        startedAt: new Date(),
        pollPeriodMs: schedulePeriodMs(config.pollCron),
        lastSuccessfulTickAt: () => worker.lastSuccessfulTickAt(),
        checkDatabase: databaseCheck(db),
      },
    },
    { host: config.http.host, port: config.http.port },
  );
  log.info({ database: database.description, holder, http: server?.url ?? 'disabled' }, 'worker started');

  const reason = await stopped;
  log.info({ reason }, 'shutting down');
  const deadline = setTimeout(() => {
    log.error('shutdown did not finish in time; exiting anyway');
    process.exit(fatal ? 1 : 0);
  }, SHUTDOWN_DEADLINE_MS);
  deadline.unref();
  await worker.stop();
  await server?.close();
  await runtime.close();
  clearTimeout(deadline);
  log.info('worker stopped');
  if (fatal) throw fatal;
}
