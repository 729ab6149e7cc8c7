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
import type { OrganizationsSource } from '../workos/organizations-source.ts';
import type { ChangeReporting } from './changes/report.ts';
import { readCursor } from './events/cursor.ts';
import type { DrainDeps, DrainTotals } from './events/poll-once.ts';
import { type CatchUpOptions, catchUp } from './poll.ts';
import { type ReconcileDeps, type ReconcileReport, reconcile } from './reconcile/reconcile.ts';
import { everReconciled, organizationsEverListed } from './reconcile/runs.ts';
import { recoverRejectedCursor } from './recover-cursor.ts';
import { retrying } from './retry.ts';

export interface BackfillDeps {
  readonly db: Kysely<Database>;
  readonly events: EventsSource;
  readonly connections: ConnectionsSource;
  /** List Organizations, for reconciliations (without it, they list connections only). */
  readonly organizations?: OrganizationsSource | undefined;
  readonly log: Logger;
  readonly scrub: Scrub;
  readonly reporting?: ChangeReporting | undefined;
}

export type BackfillOptions = Pick<
  CatchUpOptions,
  'since' | 'signal' | 'onPage' | 'backoff' | 'maxPages' | 'hookAttempts'
>;

export interface BackfillResult {
  /** The reconciliation the backfill started with (`reconciledFor` says why); null when none was needed. */
  readonly reconciliation: ReconcileReport | null;
  /**
   * `new_mirror`: nothing was synced yet; `organizations`: the mirror predates organizations
   * (upgraded from a release that did not mirror them), and this was its first listing of them.
   */
  readonly reconciledFor: 'new_mirror' | 'organizations' | null;
  readonly totals: DrainTotals;
}

/**
 * Whether the mirror is new: no cursor, and never reconciled. Events cannot tell of drafts,
 * renames or anything older than retention, so a new mirror starts from the listing (`backfill`,
 * and `run` on its first tick); a backfill stopped between its reconciliation and its first page
 * does not reconcile again.
 */
export async function isNewMirror(db: Kysely<Database>): Promise<boolean> {
  return (await readCursor(db)) === null && !(await everReconciled(db));
}

/**
 * Why a backfill lists first: a new mirror (as above), or one upgraded from a release that did not
 * mirror organizations — its first reconciliation since brings them, with no new backfill.
 */
async function reconcileFirstFor(deps: BackfillDeps): Promise<BackfillResult['reconciledFor']> {
  if (await isNewMirror(deps.db)) return 'new_mirror';
  if (deps.organizations && !(await organizationsEverListed(deps.db))) return 'organizations';
  return null;
}

export async function backfill(deps: BackfillDeps, options: BackfillOptions = {}): Promise<BackfillResult> {
  const reconciledFor = await reconcileFirstFor(deps);
  if (reconciledFor === 'organizations')
    deps.log.info('this mirror has never listed organizations (it predates them): reconciling first');
  const reconciliation = reconciledFor
    ? await retrying({ log: deps.log }, 'reconciliation', () => reconcileWith(deps), {
        backoff: options.backoff,
        signal: options.signal,
        hookAttempts: options.hookAttempts,
      })
    : null;
  return { reconciliation, reconciledFor, totals: await poll(deps, options) };
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
export function eventsDeps({ db, events, connections, log, scrub, reporting }: BackfillDeps): DrainDeps {
  return { db, source: events, connections, log, scrub, reporting };
}

/** What a reconciliation needs of these. */
export function listingDeps({
  db,
  connections,
  organizations,
  log,
  scrub,
  reporting,
}: BackfillDeps): ReconcileDeps {
  return { db, source: connections, organizations, log, scrub, reporting };
}
