/**
 * One reconciliation: snapshot List Connections (and, in the run that reaches its end, List
 * Organizations with their domains) whole, compare them with the mirror, write the difference in
 * one transaction, and record the run with its drift counts. A run that fails (a listing broke
 * off, the database went away) is recorded as failed and changes nothing; a dry run computes the
 * same drift and writes nothing at all, not even its run row.
 *
 * Two clocks, each for its own question (`versions.ts`): the versions it writes are in WorkOS's
 * clock (each listing's time, from WorkOS's `Date` header), and "was this row written after the
 * listing began" is the database's clock compared with itself.
 */
import type { Kysely } from 'kysely';
import { type DatabaseInstant, databaseNow } from '../../db/clock.ts';
import { environmentOrNull } from '../../db/environment-scope.ts';
import type { Database } from '../../db/tables.ts';
import { tracedTransaction } from '../../db/traced-transaction.ts';
import type { Logger, Scrub } from '../../logger.ts';
import { inSpan } from '../../tracing.ts';
import type { ConnectionsSource } from '../../workos/connections-source.ts';
import type { OrganizationsSource } from '../../workos/organizations-source.ts';
import { type ChangeReporting, reportingChanges } from '../changes/report.ts';
import { fetchListing } from './listing.ts';
import { fetchOrganizationListing } from './organization-listing.ts';
import { loadStoredDomains, loadStoredOrganizations, writeOrganizations } from './organization-store.ts';
import { continuePass, endPass, passUnderWay } from './pass.ts';
import { type Drift, planReconciliation, type ReconciliationCounts } from './plan.ts';
import { type EntityCounts, type OrganizationPlan, planOrganizations } from './plan-organizations.ts';
import { reconciliationNotice, rowsPlanned, runOutcome } from './run-outcome.ts';
import { failRun, finishRun, openRun } from './runs.ts';
import { loadStoredConnections, loadStoredSigningCertificates, writeReconciliation } from './store.ts';

export interface ReconcileDeps {
  readonly db: Kysely<Database>;
  readonly connections: ConnectionsSource;
  /** List Organizations; without it, a run lists connections only (`organizations: null`). */
  readonly organizations?: OrganizationsSource | undefined;
  readonly log: Logger;
  /** Takes every secret out of an error's text before it is stored (`reconciliation_runs.error`). */
  readonly scrub: Scrub;
  /** The application's hooks and the NOTIFY channel; none when absent. */
  readonly reporting?: ChangeReporting | undefined;
}

/** What a run found of organizations and their domains. */
export interface OrganizationCounts {
  readonly organizations: EntityCounts;
  readonly domains: EntityCounts;
}

export interface ReconcileReport {
  readonly runId: string | null;
  readonly dryRun: boolean;
  /** When the listing began, in the database's clock. */
  readonly startedAt: Date;
  /** The listing's time in WorkOS's clock: the version of what it wrote. */
  readonly listedAt: Date;
  readonly durationMs: number;
  readonly pages: number;
  /** False for a run bounded by `maxPages` that stopped before the listing's end (the pass goes on). */
  readonly listingComplete: boolean;
  readonly counts: ReconciliationCounts;
  /** Organizations and domains: null when this run did not list them (a bounded run short of the end). */
  readonly organizations: OrganizationCounts | null;
  /** What differs (a dry run), or what was changed (a real run: rows the poller got to first are left out). */
  readonly drift: readonly Drift[];
}

export interface ReconcileOptions {
  /** Compute the drift and write nothing, not even a run row. */
  readonly dryRun?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
  /**
   * List at most this many pages, resuming the pass under way (`pass.ts`): for runs with a time
   * limit. Deletions, and the listing of organizations, wait for the run that reaches the end.
   */
  readonly maxPages?: number | undefined;
}

/** One run, as a `workos_sync.reconcile` span: its pages and the drift it found (or, dry, would fix). */
export function reconcile(deps: ReconcileDeps, options: ReconcileOptions = {}): Promise<ReconcileReport> {
  const environment = environmentOrNull(deps.db);
  const attributes = {
    ...(environment === null ? {} : { 'workos_sync.environment': environment }),
    'workos_sync.dry_run': options.dryRun === true,
  };
  return inSpan('workos_sync.reconcile', attributes, async (span) => {
    const report = await reconcileRun(deps, options);
    const { organizations } = report;
    span.setAttributes({
      'workos_sync.pages': report.pages,
      'workos_sync.listing_complete': report.listingComplete,
      'workos_sync.connections.inserted': report.counts.inserted,
      'workos_sync.connections.updated': report.counts.updated,
      'workos_sync.connections.touched': report.counts.touched,
      'workos_sync.connections.deleted': report.counts.deleted,
      ...(organizations === null
        ? {}
        : {
            'workos_sync.organizations.inserted': organizations.organizations.inserted,
            'workos_sync.organizations.updated': organizations.organizations.updated,
            'workos_sync.organizations.deleted': organizations.organizations.deleted,
            'workos_sync.domains.inserted': organizations.domains.inserted,
            'workos_sync.domains.updated': organizations.domains.updated,
            'workos_sync.domains.deleted': organizations.domains.deleted,
          }),
    });
    return report;
  });
}

async function reconcileRun(deps: ReconcileDeps, options: ReconcileOptions): Promise<ReconcileReport> {
  const dryRun = options.dryRun === true;
  const started = performance.now();
  const runBegan = await databaseNow(deps.db);
  const bounded = options.maxPages !== undefined;
  // An unbounded run is a pass of its own (and ends one under way); a bounded one goes on with it.
  const continuing = bounded ? await passUnderWay(deps.db) : null;
  const began = continuing?.began ?? runBegan;
  const runId = dryRun ? null : await openRun(deps.db, runBegan);

  try {
    const listing = await fetchListing(deps.connections, {
      signal: options.signal,
      after: continuing?.after,
      maxPages: options.maxPages,
    });
    const reachedEnd = listing.next === null;
    const listedAt = listing.listedAt ?? (await fallbackListingTime(deps, 'List Connections'));
    const organizations =
      reachedEnd && deps.organizations
        ? await planOrganizationListing(deps, deps.organizations, began, options)
        : null;
    // Read and plan before the transaction opens: planning is JS (about 1 s per 50,000
    // connections), and Postgres ends a transaction left idle for a lease period as abandoned
    // (db/session-limits.ts). Reading inside it would be no more consistent (read committed:
    // each statement sees its own snapshot), and the writes keep their guards in SQL.
    const stored = await loadStoredConnections(deps.db, began);
    const certificates = await loadStoredSigningCertificates(deps.db);
    const plan = planReconciliation(listing, stored, certificates, listedAt, {
      reachedEnd,
      listedEarlier: continuing?.listed ?? new Set(),
    });
    const drift = [...(organizations?.plan.drift ?? []), ...plan.drift];
    const report = dryRun
      ? { counts: plan.counts, organizations: organizations?.plan.counts ?? null, drift }
      : await tracedTransaction(deps.db, async (trx) => {
          const source = { kind: 'listing', runId: runId! } as const;
          // What really changed may be less than planned when the poller got there first.
          const { written, writtenOrganizations } = await reportingChanges(
            trx,
            deps.reporting,
            () => ({ keys: rowsPlanned(plan, organizations?.plan) }),
            async () => {
              const written = await writeReconciliation(trx, plan, { began, at: listedAt });
              const writtenOrganizations = organizations
                ? await writeOrganizations(trx, organizations.plan, { began, at: organizations.listedAt })
                : null;
              return {
                result: { written, writtenOrganizations },
                sourceOf: () => source,
                notice: reconciliationNotice(runId!, written, writtenOrganizations),
              };
            },
          );
          if (!reachedEnd) {
            const listed = [...listing.connections.map((c) => c.connection.id), ...listing.invalidIds];
            await continuePass(trx, { next: listing.next!, began, listed });
          } else await endPass(trx);
          const outcome = runOutcome(plan, written, organizations?.plan ?? null, writtenOrganizations, drift);
          await finishRun(trx, runId!, {
            counts: outcome.counts,
            listingComplete: reachedEnd,
            listedWholeAt: reachedEnd && !continuing ? listedAt : null,
            organizations: outcome.organizations,
          });
          return outcome;
        });
    const durationMs = performance.now() - started;
    deps.log.info(
      {
        runId,
        dryRun,
        ...report.counts,
        organizations: report.organizations,
        durationMs: Math.round(durationMs),
      },
      'reconciliation finished',
    );
    return {
      runId,
      dryRun,
      startedAt: new Date(runBegan),
      listedAt,
      durationMs,
      pages: listing.pages,
      listingComplete: reachedEnd,
      ...report,
    };
  } catch (error) {
    if (runId !== null) await failRun(deps, runId, error);
    throw error;
  }
}

/** List Organizations whole, then its plan against the stored organizations and domains. */
async function planOrganizationListing(
  deps: ReconcileDeps,
  source: OrganizationsSource,
  began: DatabaseInstant,
  options: ReconcileOptions,
): Promise<{ readonly plan: OrganizationPlan; readonly listedAt: Date }> {
  const listing = await fetchOrganizationListing(source, { signal: options.signal });
  const listedAt = listing.listedAt ?? (await fallbackListingTime(deps, 'List Organizations'));
  const plan = planOrganizations(
    listing,
    await loadStoredOrganizations(deps.db, began),
    await loadStoredDomains(deps.db, began),
    listedAt,
  );
  return { plan, listedAt };
}

/**
 * WorkOS always sends a `Date` header; a proxy that strips it leaves only the database's clock
 * to version the listing with, which brings back the skew `versions.ts` keeps out: say so.
 */
async function fallbackListingTime(deps: ReconcileDeps, what: string): Promise<Date> {
  deps.log.warn(
    `${what} answered without a Date header: versioning this listing in the database clock instead of WorkOS\`s`,
  );
  return new Date(await databaseNow(deps.db));
}
