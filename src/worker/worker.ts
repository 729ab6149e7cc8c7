import cron, { type ScheduledTask } from 'node-cron';
import { type CursorRejectedError, FatalError, type RetryableError } from '../errors.ts';
import { isNewMirror } from '../sync/backfill.ts';
import type { BackoffPolicy } from '../sync/backoff.ts';
import { poll, type SyncDeps } from '../sync/poll.ts';
import { reconcile } from '../sync/reconcile/reconcile.ts';
import { organizationsEverListed } from '../sync/reconcile/runs.ts';
import { recoverRejectedCursor } from '../sync/recover-cursor.ts';
import { sleep } from '../time.ts';
import { LeaseKeeper } from './lease-keeper.ts';
import type { SyncMetrics } from './metrics.ts';
import { type Nudge, Nudges } from './webhooks/nudges.ts';

export interface WorkerDeps extends SyncDeps {
  readonly metrics: SyncMetrics;
}

export interface WorkerOptions {
  readonly pollCron: string;
  readonly reconcileCron: string;
  readonly holder: string;
  readonly leaseTtlMs: number;
  readonly backoff?: BackoffPolicy | undefined;
  /** How long a webhook's nudge keeps polling for the event it named (nudges.ts). */
  readonly lookForMs?: number | undefined;
  /** Called when the worker cannot go on (a rejected API key): whoever started it stops it. */
  readonly onFatal: (error: FatalError) => void;
}

export interface Worker {
  lastSuccessfulTickAt(): Date | null;
  /**
   * A webhook said WorkOS has this event: poll now (nudges.ts). Only the events lease holder
   * acts on it; a standby's nudge reaches the holder another way (nudge-bus.ts), or waits for
   * the schedule.
   */
  nudge(delivery: Nudge): void;
  /** Stop scheduling, let the page in flight commit or roll back, give the leases back. */
  stop(): Promise<void>;
}

/** A reconciliation's lease lives long enough for a slow listing of many connections. */
const RECONCILE_LEASE_MIN_MS = 60_000;

export function startWorker(deps: WorkerDeps, options: WorkerOptions): Worker {
  const shutdown = new AbortController();
  const running = new Set<Promise<void>>();
  let lastOk: Date | null = null;
  let mirrorMayBeNew = true;

  const keeperDeps = {
    ...deps,
    onChange: (name: 'events' | 'reconcile', held: boolean) => deps.metrics.setLeaseHeld(name, held),
  };
  const eventsLease = new LeaseKeeper(keeperDeps, 'events', options.holder, options.leaseTtlMs);
  const reconcileTtl = Math.max(options.leaseTtlMs, RECONCILE_LEASE_MIN_MS);
  const reconcileLease = new LeaseKeeper(keeperDeps, 'reconcile', options.holder, reconcileTtl);

  /**
   * Our own overlap guard: node-cron's warns on every skipped tick, and long drains skip many. A
   * tick that finds the job running is skipped; `soon()` (a nudge) runs it once more afterwards,
   * so any number of nudges during one run are one more run.
   */
  function job(
    name: string,
    body: () => Promise<void>,
    after?: (startedAt: number) => Promise<void>,
    onSoon?: () => void,
  ) {
    let busy = false;
    let again = false;
    const tick = (nudged = false): void => {
      if (busy || shutdown.signal.aborted) return;
      busy = true;
      if (nudged) onSoon?.();
      const startedAt = Date.now();
      const run = body()
        .then(() => after?.(startedAt))
        .catch((error: unknown) => {
          if (error instanceof FatalError) options.onFatal(error);
          else deps.log.error({ err: error, job: name }, `${name} failed; will try again on the next tick`);
        })
        .finally(() => {
          busy = false;
          running.delete(run);
          if (again) {
            again = false;
            tick(true);
          }
        });
      running.add(run);
    };
    const soon = (): void => {
      if (busy) again = true;
      else tick(true);
    };
    return { tick: () => tick(), soon };
  }

  /** Every reconciliation this worker runs, counted in the metrics whatever triggered it. */
  async function reconcileCounted(signal: AbortSignal): Promise<void> {
    const started = performance.now();
    try {
      const report = await reconcile(deps, { signal });
      deps.metrics.recordReconciliation({
        durationSeconds: report.durationMs / 1000,
        ok: true,
        dryRun: false,
        ...report.counts,
        organizations: report.organizations,
      });
    } catch (error) {
      const none = {
        inserted: 0,
        updated: 0,
        touched: 0,
        deleted: 0,
        unchanged: 0,
        certificatesUnparsable: 0,
      };
      deps.metrics.recordReconciliation({
        durationSeconds: (performance.now() - started) / 1000,
        ok: false,
        dryRun: false,
        ...none,
      });
      throw error;
    }
  }

  /**
   * A reconciliation under the `reconcile` lease. When another replica holds it: false at once,
   * or with `wait`, once it is ours (checking every third of a lease period); false on abort.
   */
  async function reconcileUnderLease(signal: AbortSignal, wait: boolean): Promise<boolean> {
    let held = await reconcileLease.ensure();
    if (!held && wait) deps.log.info('waiting for the reconcile lease another replica holds');
    while (!held && wait && !signal.aborted) {
      await sleep(Math.max(50, options.leaseTtlMs / 3), signal);
      if (!signal.aborted) held = await reconcileLease.ensure();
    }
    if (!held) return false;
    try {
      await reconcileCounted(AbortSignal.any([signal, held]));
      return true;
    } finally {
      await reconcileLease.release();
    }
  }

  /** Cursor recovery; the caller ends its pass when `signal` aborted meanwhile. */
  function recoverWithin(signal: AbortSignal) {
    return async (error: CursorRejectedError): Promise<void> => {
      deps.metrics.recordApiError('cursor_rejected');
      deps.metrics.recordCursorRecovery();
      await recoverRejectedCursor(
        {
          db: deps.db,
          log: deps.log,
          reconcile: async () => {
            if (!(await reconcileUnderLease(signal, true))) throw new Error('stopped before the recovery');
          },
        },
        error,
      );
    };
  }

  const nudges = new Nudges(
    { db: deps.db, log: deps.log, metrics: deps.metrics, pollSoon: () => pollJob.soon() },
    options.lookForMs ?? 30_000,
  );

  const pollJob = job(
    'poll',
    async () => {
      const leaseSignal = await eventsLease.ensure();
      if (!leaseSignal) {
        // A standby's tick: it checked the lease, which is all it has to do.
        nudges.clear();
        lastOk = new Date();
        return;
      }
      const started = performance.now();
      const signal = AbortSignal.any([shutdown.signal, leaseSignal]);
      const seconds = () => (performance.now() - started) / 1000;
      try {
        // A new mirror starts from the listing, as backfill does. While another replica runs that
        // listing (it holds the reconcile lease), this tick waits for the next one.
        // Once not new, never new again (nothing removes a succeeded run): asked until then only.
        if (mirrorMayBeNew) mirrorMayBeNew = await isNewMirror(deps.db);
        if (mirrorMayBeNew && !(await reconcileUnderLease(signal, false))) {
          deps.log.debug('a new mirror: waiting for the reconciliation another replica is running');
          return;
        }
        const totals = await poll(deps, {
          signal,
          backoff: options.backoff,
          recover: recoverWithin(signal),
          onPage: (_totals, page) => deps.metrics.recordEvents(page.outcomes),
          onRetry: (error: RetryableError) => deps.metrics.recordApiError(error.kind),
          confirmLease: (cause) => eventsLease.recheck(cause),
          // Running for good, the worker waits for a failing hook as for an outage.
          hookAttempts: Number.POSITIVE_INFINITY,
        });
        if (totals.caughtUp) lastOk = new Date();
        if (totals.events > 0)
          deps.log.info({ ...totals, durationMs: Math.round(seconds() * 1000) }, 'poll applied events');
        deps.metrics.recordPoll({
          durationSeconds: seconds(),
          pages: totals.pages,
          ok: totals.caughtUp,
          refreshes: totals.refreshes,
        });
      } catch (error) {
        deps.metrics.recordPoll({ durationSeconds: seconds(), pages: 0, ok: false });
        if (error instanceof FatalError && error.kind) deps.metrics.recordApiError(error.kind);
        throw error;
      }
    },
    (startedAt) => nudges.afterPoll(startedAt),
    () => deps.metrics.recordNudgedPoll(),
  );

  const reconcileJob = job('reconcile', async () => {
    await reconcileUnderLease(shutdown.signal, false);
  });

  // Ticks missed while the process was stopped or busy are not worth a line each (node-cron
  // writes one to the console per tick): the next tick does their work, and a stop long enough
  // to matter is reported once, by the lease it cost.
  const schedule = { timezone: 'UTC', suppressMissedWarning: true };
  const tasks: ScheduledTask[] = [
    cron.schedule(options.pollCron, pollJob.tick, { name: 'workos-sync poll', ...schedule }),
    cron.schedule(options.reconcileCron, reconcileJob.tick, { name: 'workos-sync reconcile', ...schedule }),
  ];
  // Start working now rather than at the first tick.
  pollJob.tick();
  // A mirror upgraded from a release that did not mirror organizations lists them now rather than
  // at the schedule's next run (a new mirror's first poll lists them anyway).
  void (async () => {
    if (!(await isNewMirror(deps.db)) && !(await organizationsEverListed(deps.db))) reconcileJob.tick();
  })().catch((error: unknown) =>
    deps.log.warn({ err: error }, 'could not tell whether organizations were ever listed'),
  );

  return {
    lastSuccessfulTickAt: () => lastOk,
    nudge(delivery) {
      if (shutdown.signal.aborted || !eventsLease.holds()) return;
      nudges.nudge(delivery);
    },
    async stop() {
      shutdown.abort();
      nudges.clear();
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
