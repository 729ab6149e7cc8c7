/**
 * The long-running worker: node-cron ticks that poll and reconcile, one replica at a time per
 * job (leases), each tick reporting and carrying on — never hot-looping, never overlapping.
 *
 * A poll tick: take or renew the `events` lease (a standby replica's tick ends there), then
 * drain every available page, waiting out transient failures with backoff (logged once per
 * change), recovering a rejected cursor, and stopping at a page boundary when the lease is lost
 * or shutdown begins. A reconcile tick: the same under the `reconcile` lease.
 */

import type { Kysely } from 'kysely';
import cron, { type ScheduledTask } from 'node-cron';
import type { Database } from '../db/tables.ts';
import { FatalError, type RetryableError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { BackoffPolicy } from '../sync/backoff.ts';
import { catchUp } from '../sync/catch-up.ts';
import { readCursor } from '../sync/cursor.ts';
import { reconcile } from '../sync/reconcile/reconcile.ts';
import { recoverRejectedCursor } from '../sync/recover-cursor.ts';
import type { ConnectionsSource } from '../workos/connections-source.ts';
import type { EventsSource } from '../workos/events-source.ts';
import { LeaseKeeper } from './lease-keeper.ts';
import type { SyncMetrics } from './metrics.ts';

export interface WorkerDeps {
  readonly db: Kysely<Database>;
  readonly events: EventsSource;
  readonly connections: ConnectionsSource;
  readonly log: Logger;
  readonly metrics: SyncMetrics;
}

export interface WorkerOptions {
  readonly pollCron: string;
  readonly reconcileCron: string;
  readonly holder: string;
  readonly leaseTtlMs: number;
  readonly backoff?: BackoffPolicy | undefined;
  /** Called when the worker cannot go on (a rejected API key): the process should exit non-zero. */
  readonly onFatal: (error: FatalError) => void;
}

export interface Worker {
  lastSuccessfulTickAt(): Date | null;
  /** Stop scheduling, let the page in flight commit or roll back, give the leases back. */
  stop(): Promise<void>;
}

async function hasReconciled(db: Kysely<Database>): Promise<boolean> {
  const run = await db
    .selectFrom('reconciliation_runs')
    .select('id')
    .where('status', '=', 'succeeded')
    .limit(1)
    .executeTakeFirst();
  return run !== undefined;
}

export function startWorker(deps: WorkerDeps, options: WorkerOptions): Worker {
  const shutdown = new AbortController();
  let lastOk: Date | null = null;
  const running = new Set<Promise<void>>();

  /** Our own overlap guard: node-cron's warns on every skipped tick, and long drains skip many. */
  function job(name: string, body: () => Promise<void>): () => void {
    let busy = false;
    return () => {
      if (busy || shutdown.signal.aborted) return;
      busy = true;
      const run = body()
        .catch((error: unknown) => {
          if (error instanceof FatalError) options.onFatal(error);
          else deps.log.error({ err: error, job: name }, `${name} failed; will try again on the next tick`);
        })
        .finally(() => {
          busy = false;
          running.delete(run);
        });
      running.add(run);
    };
  }

  const onLease = (name: 'events' | 'reconcile', held: boolean) => {
    deps.metrics.setLeaseHeld(name, held);
    deps.log.info({ lease: name, holder: options.holder }, held ? 'lease acquired' : 'lease released');
  };
  const keeper = { ...deps, onChange: onLease };
  const eventsLease = new LeaseKeeper(keeper, 'events', options.holder, options.leaseTtlMs);
  // A reconciliation may take a while; its lease lives long enough for a slow listing.
  const reconcileLease = new LeaseKeeper(
    keeper,
    'reconcile',
    options.holder,
    Math.max(options.leaseTtlMs, 60_000),
  );
  const recover = async (error: Parameters<typeof recoverRejectedCursor>[1]) => {
    deps.metrics.recordApiError('cursor_rejected');
    deps.metrics.recordCursorRecovery();
    await recoverRejectedCursor({ db: deps.db, connections: deps.connections, log: deps.log }, error);
  };

  const poll = job('poll', async () => {
    const leaseSignal = await eventsLease.ensure();
    if (!leaseSignal) {
      // A standby's tick: it checked the lease, which is all it has to do.
      lastOk = new Date();
      return;
    }
    const started = performance.now();
    const signal = AbortSignal.any([shutdown.signal, leaseSignal]);
    let ok = false;
    try {
      // A new mirror starts from the listing, as backfill does: events cannot tell of drafts,
      // renames or anything older than retention.
      if ((await readCursor(deps.db)) === null && !(await hasReconciled(deps.db))) {
        await reconcile({ db: deps.db, source: deps.connections, log: deps.log }, { signal });
      }
      const totals = await catchUp(
        { db: deps.db, source: deps.events, log: deps.log },
        {
          signal,
          backoff: options.backoff,
          recover,
          onPage: (_totals, page) => deps.metrics.recordEvents(page.outcomes),
          onRetry: (error: RetryableError) => deps.metrics.recordApiError(error.kind),
        },
      );
      ok = totals.caughtUp;
      if (ok) lastOk = new Date();
      if (totals.events > 0) {
        deps.log.info(
          { ...totals, durationMs: Math.round(performance.now() - started) },
          'poll applied events',
        );
      }
      deps.metrics.recordPoll({
        durationSeconds: (performance.now() - started) / 1000,
        pages: totals.pages,
        ok,
      });
    } catch (error) {
      deps.metrics.recordPoll({ durationSeconds: (performance.now() - started) / 1000, pages: 0, ok: false });
      if (error instanceof FatalError) deps.metrics.recordApiError('unauthorized');
      throw error;
    }
  });

  const reconcileJob = job('reconcile', async () => {
    const leaseSignal = await reconcileLease.ensure();
    if (!leaseSignal) return;
    const started = performance.now();
    try {
      const report = await reconcile(
        { db: deps.db, source: deps.connections, log: deps.log },
        { signal: AbortSignal.any([shutdown.signal, leaseSignal]) },
      );
      deps.metrics.recordReconciliation({
        durationSeconds: report.durationMs / 1000,
        ok: true,
        dryRun: false,
        ...report.counts,
      });
    } catch (error) {
      const zero = { inserted: 0, updated: 0, deleted: 0, unchanged: 0, certificatesUnparsable: 0 };
      deps.metrics.recordReconciliation({
        durationSeconds: (performance.now() - started) / 1000,
        ok: false,
        dryRun: false,
        ...zero,
      });
      throw error;
    } finally {
      await reconcileLease.release();
    }
  });

  const tasks: ScheduledTask[] = [
    cron.schedule(options.pollCron, poll, { name: 'workos-sync poll', timezone: 'UTC' }),
    cron.schedule(options.reconcileCron, reconcileJob, { name: 'workos-sync reconcile', timezone: 'UTC' }),
  ];
  // Start working now rather than at the first tick.
  poll();

  return {
    lastSuccessfulTickAt: () => lastOk,
    async stop() {
      shutdown.abort();
      for (const task of tasks) {
        await task.stop();
        await task.destroy();
      }
      await Promise.allSettled([...running]);
      // A standby should find the leases free at once, not after they expire.
      await eventsLease.release();
      await reconcileLease.release();
    },
  };
}
