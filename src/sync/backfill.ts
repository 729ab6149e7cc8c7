/**
 * The one-shot runs. `poll`: catch up from the stored cursor, recovering a cursor the API refuses
 * (a reconciliation, then the oldest retained events). `backfill`: the same, except that a new
 * mirror starts from the listing first (its transient failures waited out like the stream's),
 * and then applies every retained event, or those from `since`.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/tables.ts';
import type { Logger, Scrub } from '../logger.ts';
import type { ConnectionsSource } from '../workos/connections-source.ts';
import type { EventsSource } from '../workos/events-source.ts';
import { type CatchUpOptions, catchUp } from './catch-up.ts';
import type { ChangeReporting } from './change-report.ts';
import { readCursor } from './cursor.ts';
import type { DrainDeps, DrainTotals } from './drain.ts';
import { type ReconcileDeps, type ReconcileReport, reconcile } from './reconcile/reconcile.ts';
import { recoverRejectedCursor } from './recover-cursor.ts';
import { retrying } from './retry.ts';

export interface BackfillDeps {
  readonly db: Kysely<Database>;
  readonly events: EventsSource;
  readonly connections: ConnectionsSource;
  readonly log: Logger;
  readonly scrub: Scrub;
  readonly reporting?: ChangeReporting | undefined;
}

export type BackfillOptions = Pick<
  CatchUpOptions,
  'since' | 'signal' | 'onPage' | 'backoff' | 'maxPages' | 'hookAttempts'
>;

export interface BackfillResult {
  /** The reconciliation a new mirror started from; null when the mirror was not new. */
  readonly reconciliation: ReconcileReport | null;
  readonly totals: DrainTotals;
}

/**
 * Whether the mirror is new: no cursor, and never reconciled. Events cannot tell of drafts,
 * renames or anything older than retention, so a new mirror starts from the listing (`backfill`,
 * and `run` on its first tick); a backfill stopped between its reconciliation and its first page
 * does not reconcile again.
 */
export async function isNewMirror(db: Kysely<Database>): Promise<boolean> {
  if ((await readCursor(db)) !== null) return false;
  const run = await db
    .selectFrom('reconciliation_runs')
    .select('id')
    .where('status', '=', 'succeeded')
    .where('dry_run', '=', false)
    .limit(1)
    .executeTakeFirst();
  return run === undefined;
}

export async function backfill(deps: BackfillDeps, options: BackfillOptions = {}): Promise<BackfillResult> {
  const reconciliation = (await isNewMirror(deps.db))
    ? await retrying({ log: deps.log }, 'reconciliation', () => reconcileWith(deps), {
        backoff: options.backoff,
        signal: options.signal,
        hookAttempts: options.hookAttempts,
      })
    : null;
  return { reconciliation, totals: await poll(deps, options) };
}

/** `since` only applies to a mirror with no cursor yet (see drain.ts). */
export function poll(deps: BackfillDeps, options: BackfillOptions = {}): Promise<DrainTotals> {
  return catchUp(eventsDeps(deps), {
    ...options,
    recover: (error) =>
      recoverRejectedCursor({ db: deps.db, log: deps.log, reconcile: () => reconcileWith(deps) }, error),
  });
}

function reconcileWith(deps: BackfillDeps): Promise<ReconcileReport> {
  return reconcile(listingDeps(deps));
}

/** What the events path needs of these. */
export function eventsDeps({ db, events, log, scrub, reporting }: BackfillDeps): DrainDeps {
  return { db, source: events, log, scrub, reporting };
}

/** What a reconciliation needs of these. */
export function listingDeps({ db, connections, log, scrub, reporting }: BackfillDeps): ReconcileDeps {
  return { db, source: connections, log, scrub, reporting };
}
