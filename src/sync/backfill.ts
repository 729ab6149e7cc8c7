/**
 * A backfill: a poll (recovering a cursor the API refuses: `cursorRecovery`), except that a new
 * mirror starts from the listing first (its transient failures waited out like the stream's), and
 * then applies every retained event, or those from `since`.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/tables.ts';
import { readCursor } from './events/cursor.ts';
import type { PollTotals } from './events/poll-once.ts';
import { type PollOptions, poll, type SyncDeps } from './poll.ts';
import { type ReconcileReport, reconcile } from './reconcile/reconcile.ts';
import { everReconciled, organizationsEverListed } from './reconcile/runs.ts';
import { cursorRecovery } from './recover-cursor.ts';
import { retrying } from './retry.ts';

export interface BackfillResult {
  /** The reconciliation the backfill started with (`reconciledFor` says why); null when none was needed. */
  readonly reconciliation: ReconcileReport | null;
  /**
   * `new_mirror`: nothing was synced yet; `organizations`: the mirror predates organizations
   * (upgraded from a release that did not mirror them), and this was its first listing of them.
   */
  readonly reconciledFor: 'new_mirror' | 'organizations' | null;
  readonly totals: PollTotals;
}

export async function isNewMirror(db: Kysely<Database>): Promise<boolean> {
  return (await readCursor(db)) === null && !(await everReconciled(db));
}

async function reconcileFirstFor(deps: SyncDeps): Promise<BackfillResult['reconciledFor']> {
  if (await isNewMirror(deps.db)) return 'new_mirror';
  if (deps.organizations && !(await organizationsEverListed(deps.db))) return 'organizations';
  return null;
}

export async function backfill(deps: SyncDeps, options: PollOptions = {}): Promise<BackfillResult> {
  const reconciledFor = await reconcileFirstFor(deps);
  if (reconciledFor === 'organizations')
    deps.log.info('this mirror has never listed organizations (it predates them): reconciling first');
  const reconciliation = reconciledFor
    ? await retrying({ log: deps.log }, 'reconciliation', () => reconcile(deps), {
        backoff: options.backoff,
        signal: options.signal,
        hookAttempts: options.hookAttempts,
      })
    : null;
  return {
    reconciliation,
    reconciledFor,
    totals: await poll(deps, { ...options, recover: cursorRecovery(deps) }),
  };
}
