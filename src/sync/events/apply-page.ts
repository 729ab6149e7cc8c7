/**
 * Pages of events → one transaction: lock the cursor (fencing), load and lock the touched rows,
 * plan (pure), write, record every event with its outcome, advance the cursor. All of it commits
 * or none of it does, so a crash at any instant loses nothing and repeats nothing. The poll loop
 * hands over every consecutive page it already holds (a few at most): one transaction and one
 * statement per table for all of them costs a fraction of one per page, and folding them as one
 * sequence decides exactly what applying them page by page would.
 *
 * The batch's domain events bring listings of their organizations' connections, read before
 * the transaction (`organization-refresh.ts`); they apply after the events, in the same
 * transaction, so a domain change and the connection domains it implies commit together.
 *
 * If Postgres refuses the page's data (a value it cannot store), the page is applied again event
 * by event inside one transaction, each behind a savepoint: the event it refuses is recorded as
 * quarantined with the database's error, and the stream goes on instead of wedging on it.
 */
import type { Attributes } from '@opentelemetry/api';
import { type Kysely, sql, type Transaction } from 'kysely';
import { environmentOrNull } from '../../db/environment-scope.ts';
import type { Database } from '../../db/tables.ts';
import { tracedTransaction } from '../../db/traced-transaction.ts';
import type { Logger } from '../../logger.ts';
import { inSpan } from '../../tracing.ts';
import { type CaptureScope, captureRows, mergeCaptured, type RowsCaptured } from '../changes/capture.ts';
import { type ChangeReporting, reportingChanges } from '../changes/report.ts';
import { replaceDomains } from '../mirror/connection-row.ts';
import type { MirrorSnapshot, RowKeys } from '../mirror/rows.ts';
import { applyRefreshes, type OrganizationRefresh, refreshScope } from '../reconcile/organization-refresh.ts';
import { advanceCursor, lockCursor } from './cursor.ts';
import { eventNotice, eventSourceOf, inEventOrder } from './page-changes.ts';
import { type PageSummary, reportOutcomes, summarise } from './page-summary.ts';
import { type ParsedItem, parseEvent } from './parse-event.ts';
import { type PagePlan, planFor, planPage } from './plan-page.ts';
import { loadSeenEvents, loadSnapshot, rowsTouched } from './snapshot.ts';
import { recordEvents, writeVersions } from './store.ts';

export interface PagesToApply {
  /** The cursor the first page was fetched after; the commit is refused if it has moved since. */
  readonly expectedCursor: string | null;
  /** Where the cursor goes once the pages are applied: the last page's. */
  readonly nextCursor: string;
  /** Consecutive pages, oldest first, parsed (`parseEvent`). */
  readonly pages: readonly (readonly ParsedItem[])[];
  /** The listings of the organizations the batch's domain events name (`fetchRefreshes`). */
  readonly refreshes?: readonly OrganizationRefresh[] | undefined;
}

export interface PageToApply {
  /** The cursor the page was fetched after; the commit is refused if it has moved since. */
  readonly expectedCursor: string | null;
  /** Where the cursor goes once the page is applied. */
  readonly nextCursor: string;
  readonly events: readonly unknown[];
}

interface Deps {
  readonly db: Kysely<Database>;
  readonly log: Logger;
  /** The application's hooks and the NOTIFY channel (changes/report.ts); none when absent. */
  readonly reporting?: ChangeReporting | undefined;
}

/** Applies consecutive pages in one transaction; returns one summary per page. */
export async function applyPages(deps: Deps, batch: PagesToApply): Promise<PageSummary[]> {
  const items: ParsedItem[] = batch.pages.flat();
  return inSpan('workos_sync.batch', batchAttributes(deps, batch, items), async (span) => {
    let plans: PagePlan[];
    try {
      plans = await inTransaction(deps, batch, items, async (trx, before) => [
        await planAndWrite(trx, items, before, true),
      ]);
    } catch (error) {
      if (!isRefusedData(error)) throw error;
      deps.log.warn({ err: error }, 'the database refused part of a page; applying it event by event');
      plans = await inTransaction(deps, batch, items, (trx, before) => applyOneByOne(trx, items, before));
    }
    reportOutcomes(deps.log, plans);
    const summaries = summarise(batch.pages, items, plans);
    const total = (fate: 'applied' | 'stale' | 'quarantined') => summaries.reduce((n, s) => n + s[fate], 0);
    span.setAttributes({
      'workos_sync.events.applied': total('applied'),
      'workos_sync.events.stale': total('stale'),
      'workos_sync.events.quarantined': total('quarantined'),
    });
    return summaries;
  });
}

/** What a batch's span says of it before it runs: where, the cursor before and after, which events. */
function batchAttributes(deps: Deps, batch: PagesToApply, items: readonly ParsedItem[]): Attributes {
  const environment = environmentOrNull(deps.db);
  return {
    ...(environment === null ? {} : { 'workos_sync.environment': environment }),
    ...(batch.expectedCursor === null ? {} : { 'workos_sync.cursor.before': batch.expectedCursor }),
    'workos_sync.cursor.after': batch.nextCursor,
    'workos_sync.events': items.length,
    'workos_sync.event_ids': items.map((item) => item.id),
  };
}

export async function applyPage(deps: Deps, page: PageToApply): Promise<PageSummary> {
  const [summary] = await applyPages(deps, { ...page, pages: [page.events.map(parseEvent)] });
  return summary!;
}

/**
 * The cursor is fenced first and moves last, in the same transaction as everything between: the
 * writes, the refreshes, and what reports them (`changes/report.ts`: the application's hooks, given
 * the batch's net changes, and the NOTIFY that announces the batch once it commits).
 */
async function inTransaction(
  deps: Deps,
  batch: Pick<PagesToApply, 'expectedCursor' | 'nextCursor' | 'refreshes'>,
  items: readonly ParsedItem[],
  body: (trx: Transaction<Database>, before: RowsCaptured | null) => Promise<PagePlan[]>,
): Promise<PagePlan[]> {
  const refreshes = batch.refreshes ?? [];
  return tracedTransaction(deps.db, async (trx) => {
    await lockCursor(trx, batch.expectedCursor);
    const plans = await reportingChanges(
      trx,
      deps.reporting,
      () => batchScope(items, refreshes),
      async (before) => {
        const plans = await body(trx, before);
        // What each refresh wrote is named after it (`eventSourceOf`), and announced with the batch.
        const refreshed = await applyRefreshes(trx, refreshes);
        return {
          result: plans,
          sourceOf: eventSourceOf(plans, refreshed.sources),
          order: (changes) => inEventOrder(plans, changes),
          notice: eventNotice(plans, batch.nextCursor, refreshed.connectionIds),
        };
      },
    );
    await advanceCursor(trx, batch.nextCursor, newestCreatedAt(items));
    return plans;
  });
}

/** What a batch may change: the rows its events touch, and what its refreshes may. */
function batchScope(items: readonly ParsedItem[], refreshes: readonly OrganizationRefresh[]): CaptureScope {
  const touched = rowsTouched(items);
  const refreshed = refreshScope(refreshes);
  return {
    keys: {
      ...touched,
      connections: [...new Set([...touched.connections, ...refreshed.keys.connections])],
      certificates: [...touched.certificates, ...refreshed.keys.certificates],
    },
    connectionsOf: refreshed.connectionsOf,
  };
}

/**
 * Plan against the locked rows, write, and obey the database's verdict. The rows a page touches
 * are locked as they are read (with hooks, `before` read them already, before any write of this
 * transaction: `fresh` says its versions are still the rows'), but one that did not exist yet
 * cannot be: a reconciliation may insert it, with a newer version, before this transaction
 * writes. The guarded upsert then refuses the older payload (and locks the row), and the page is
 * folded again against that row, so the events it outdates are recorded `stale` and their domains
 * are not written. Only then are the domains and the events' outcomes written: they follow the
 * versions that won.
 */
async function planAndWrite(
  trx: Transaction<Database>,
  items: readonly ParsedItem[],
  before: RowsCaptured | null,
  fresh: boolean,
): Promise<PagePlan> {
  const seen = await loadSeenEvents(trx, [...new Set(items.map((i) => i.id))]);
  const snapshot = before && fresh ? before.versions : await loadSnapshot(trx, rowsTouched(items));
  let plan = planPage(items, snapshot, seen);
  const refused = await writeVersions(trx, plan);
  if (!isEmpty(refused)) {
    // The refused rows were written by another transaction since they were read: to the hooks,
    // what this batch changed starts from the rows as that transaction left them.
    const rows = before ? await captureRows(trx, { keys: refused }) : null;
    if (before && rows) mergeCaptured(before, rows);
    // Each row's decisions depend on that row alone: the writes already taken stay as planned.
    plan = planPage(items, withRows(snapshot, rows?.versions ?? (await loadSnapshot(trx, refused))), seen);
    const again = await writeVersions(trx, planFor(plan, refused));
    if (!isEmpty(again))
      throw new Error(
        `writes planned against rows this transaction holds locked were refused: ${JSON.stringify(again)}`,
      );
  }
  await replaceDomains(trx, plan.domains);
  await recordEvents(trx, plan.records);
  return plan;
}

function isEmpty(rows: RowKeys): boolean {
  return Object.values(rows).every((keys: readonly unknown[]) => keys.length === 0);
}

function withRows(snapshot: MirrorSnapshot, rows: MirrorSnapshot): MirrorSnapshot {
  return {
    connections: new Map([...snapshot.connections, ...rows.connections]),
    certificates: new Map([...snapshot.certificates, ...rows.certificates]),
    organizations: new Map([...snapshot.organizations, ...rows.organizations]),
    domains: new Map([...snapshot.domains, ...rows.domains]),
  };
}

function newestCreatedAt(items: readonly ParsedItem[]): Date | null {
  let newest: Date | null = null;
  for (const item of items)
    if (item.created_at && (!newest || item.created_at > newest)) newest = item.created_at;
  return newest;
}

async function applyOneByOne(
  trx: Transaction<Database>,
  items: readonly ParsedItem[],
  before: RowsCaptured | null,
): Promise<PagePlan[]> {
  const plans: PagePlan[] = [];
  for (const item of items) {
    await sql`savepoint workos_sync_event`.execute(trx);
    try {
      plans.push(await planAndWrite(trx, [item], before, false));
      await sql`release savepoint workos_sync_event`.execute(trx);
    } catch (error) {
      if (!isRefusedData(error)) throw error;
      await sql`rollback to savepoint workos_sync_event`.execute(trx);
      const message = error instanceof Error ? error.message : String(error);
      const refused: ParsedItem = {
        ...item,
        status: 'invalid',
        error: `the database refused this event: ${message}`,
      };
      plans.push(await planAndWrite(trx, [refused], before, false));
    }
  }
  return plans;
}

/** SQLSTATE classes 22 (data exception), 23 (constraint) and 54 (limits): the data, not the server. */
function isRefusedData(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|54)/.test(code);
}
