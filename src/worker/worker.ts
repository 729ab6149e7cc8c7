/**
 * The worker: the poll and reconcile jobs on their schedules, under their leases, until stopped.
 * What one tick decides is in poll-job.ts and reconcile-job.ts; the guard against overlapping
 * runs in job.ts. Alone, it polls on every fire of its schedule and reconciles on every fire of
 * the other, at once; in a fleet (fleet/fleet.ts) each environment's worker is paced (pacing.ts:
 * idle polls back off, every fire reaches it by a delay of its own) and its events lease renewed
 * with the others' (fleet/lease-renewals.ts).
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { FatalError } from '../errors.ts';
import type { BackoffPolicy } from '../sync/backoff.ts';
import { DEFAULT_EVENTS_RETENTION, type EventsRetention } from '../sync/events/retention.ts';
import type { LeaseName } from '../sync/lease.ts';
import type { SyncDeps } from '../sync/poll.ts';
import { urgentWhile } from '../workos/client.ts';
import { job } from './job.ts';
import { LeaseKeeper, type RenewalBatch } from './lease-keeper.ts';
import type { SyncMetrics } from './metrics.ts';
import { type Pacing, PollPacer, UNPACED } from './pacing.ts';
import { pollTick } from './poll-job.ts';
import { schedulePeriodMs } from './poll-period.ts';
import { pruneTick } from './prune-job.ts';
import { organizationsOwed, reconcileUnderLease } from './reconcile-job.ts';
import { type Nudge, Nudges } from './webhooks/nudges.ts';

export interface WorkerDeps extends SyncDeps {
  readonly metrics: SyncMetrics;
}

export interface WorkerOptions {
  readonly pollCron: string;
  readonly reconcileCron: string;
  readonly holder: string;
  readonly leaseTtlMs: number;
  /** How long the event log keeps events: pruned after each fire of the reconcile schedule. Default 400 days. */
  readonly eventsRetention?: EventsRetention | undefined;
  readonly backoff?: BackoffPolicy | undefined;
  /** How long a webhook's nudge keeps polling for the event it named (nudges.ts). */
  readonly lookForMs?: number | undefined;
  /** Called when the worker cannot go on (a rejected API key): whoever started it stops it. */
  readonly onFatal: (error: FatalError) => void;
  /**
   * How its work is paced (pacing.ts). Default UNPACED, the single-environment worker's: a poll on
   * every fire of the poll schedule, a reconciliation on every fire of the other, at once.
   */
  readonly pacing?: Pacing | undefined;
  /** Renews the events lease with other environments' (fleet mode); default: on its own timer. */
  readonly eventsLeaseRenewals?: RenewalBatch | undefined;
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
  let lastOk: Date | null = null;

  const keeperDeps = {
    ...deps,
    onChange: (name: LeaseName, held: boolean) => deps.metrics.setLeaseHeld(name, held),
  };
  const eventsLease = new LeaseKeeper(
    { ...keeperDeps, renewals: options.eventsLeaseRenewals },
    'events',
    options.holder,
    options.leaseTtlMs,
  );
  const reconcileTtl = Math.max(options.leaseTtlMs, RECONCILE_LEASE_MIN_MS);
  const reconcileLease = new LeaseKeeper(keeperDeps, 'reconcile', options.holder, reconcileTtl);
  // The prune lease's holder is not a gauge: nothing waits on it.
  const pruneLease = new LeaseKeeper(deps, 'prune', options.holder, reconcileTtl);
  const reconcileDeps = { ...deps, reconcileLease, leaseTtlMs: options.leaseTtlMs };
  const jobDeps = { log: deps.log, stopped: shutdown.signal, onFatal: options.onFatal };

  const pacing = options.pacing ?? UNPACED;
  const pacer =
    pacing.idlePollMaxMs > 0
      ? new PollPacer(
          { scheduleMs: schedulePeriodMs(options.pollCron), idlePollMaxMs: pacing.idlePollMaxMs },
          pacing.pollPhase,
        )
      : undefined;
  // A fire reaches this worker that much later (its offset, pacing.ts); none pending once stopped.
  const pending = new Set<NodeJS.Timeout>();
  const later = (delayMs: number, run: () => void): void => {
    if (delayMs <= 0) {
      run();
      return;
    }
    const timer = setTimeout(() => {
      pending.delete(timer);
      run();
    }, delayMs);
    timer.unref();
    pending.add(timer);
  };

  const nudges = new Nudges(
    { db: deps.db, log: deps.log, metrics: deps.metrics, pollSoon: () => pollJob.soon() },
    options.lookForMs ?? 30_000,
  );

  const pollBody = pollTick({
    ...reconcileDeps,
    eventsLease,
    stopped: shutdown.signal,
    backoff: options.backoff,
    nudges,
    succeeded: () => {
      lastOk = new Date();
    },
    polled: (found) => pacer?.polled(found),
  });
  const pollJob = job(jobDeps, {
    name: 'poll',
    // While a webhook's event is looked for, the poll's requests go ahead of routine ones at the
    // request budget (sync/request-budget.ts): someone waits for that change. Asked while they
    // wait, so a poll already waiting when the webhook comes goes ahead too: it is the one that
    // will list the event.
    body: () => urgentWhile(() => nudges.awaiting(), pollBody),
    after: (startedAt) => nudges.afterPoll(startedAt),
    onSoon: () => deps.metrics.recordNudgedPoll(),
  });

  const reconcileJob = job(jobDeps, {
    name: 'reconcile',
    body: async () => {
      await reconcileUnderLease(reconcileDeps, shutdown.signal, false);
    },
  });

  const pruneJob = job(jobDeps, {
    name: 'prune',
    body: pruneTick(
      { ...deps, retention: options.eventsRetention ?? DEFAULT_EVENTS_RETENTION, pruneLease },
      shutdown.signal,
    ),
  });

  // Ticks missed while the process was stopped or busy are not worth a line each (node-cron
  // writes one to the console per tick): the next tick does their work, and a stop long enough
  // to matter is reported once, by the lease it cost.
  const schedule = { timezone: 'UTC', suppressMissedWarning: true };
  const pollFire = () =>
    later(pacing.pollOffsetMs, () => {
      if (!pacer || pacer.fire()) pollJob.tick();
    });
  const reconcileFire = () =>
    later(pacing.reconcileOffsetMs, () => {
      reconcileJob.tick();
      pruneJob.tick();
    });
  const tasks: ScheduledTask[] = [
    cron.schedule(options.pollCron, pollFire, { name: 'workos-sync poll', ...schedule }),
    cron.schedule(options.reconcileCron, reconcileFire, { name: 'workos-sync reconcile', ...schedule }),
  ];
  // Start working now rather than at the first tick, whatever the offsets (pacing.ts): the first
  // poll takes the lease, and a new mirror's first poll is its first reconciliation.
  pollJob.tick();
  void organizationsOwed(deps.db)
    .then((owed) => {
      if (owed) reconcileJob.tick();
    })
    .catch((error: unknown) =>
      deps.log.warn({ err: error }, 'could not tell whether organizations were ever listed'),
    );

  return {
    lastSuccessfulTickAt: () => lastOk,
    nudge(delivery) {
      if (shutdown.signal.aborted || !eventsLease.holds()) return;
      pacer?.nudged();
      nudges.nudge(delivery);
    },
    async stop() {
      shutdown.abort();
      nudges.clear();
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
      for (const task of tasks) {
        await task.stop();
        await task.destroy();
      }
      await Promise.allSettled([pollJob.settled(), reconcileJob.settled(), pruneJob.settled()]);
      // A standby should find the leases free at once, not after they expire.
      await eventsLease.release();
      await reconcileLease.release();
      await pruneLease.release();
    },
  };
}
