/**
 * Which organizations a batch of events refreshes (`reconcile/organization-refresh.ts` lists and
 * applies them): WorkOS changes a connection's domains with `organization_domain.*` and
 * `organization.updated` events (their handlers name the organization: `refreshes`), never with
 * a `connection.*` one. One listing per organization per batch, however many of its events the
 * batch holds, caused by the last of them.
 *
 * An event needs none when its refresh has been done or made moot already: one recorded before
 * (a page read again: its batch refreshed), or one older than the last listing of every
 * connection (a reconciliation read WorkOS after it; what changed since comes with events of its
 * own). So a backfill, which lists first, and a cursor recovery replay history without one
 * request per old domain event.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/tables.ts';
import type { RefreshCause } from '../reconcile/organization-refresh.ts';
import { lastWholeListingAt } from '../reconcile/runs.ts';
import type { ParsedItem } from './parse-event.ts';

/**
 * The organizations a batch refreshes, each with its last event that names it, in first-named
 * order; none for events `done` says need none.
 */
export function refreshesOf(
  items: readonly ParsedItem[],
  done: (item: { readonly id: string; readonly created_at: Date }) => boolean = () => false,
): Map<string, RefreshCause> {
  const causes = new Map<string, RefreshCause>();
  for (const item of refreshing(items))
    if (!done(item)) causes.set(item.refreshes, { eventId: item.id, event: item.event });
  return causes;
}

/** What `refreshesOf` gives, less the events whose refresh is done or moot (above). */
export async function refreshesNeeded(
  db: Kysely<Database>,
  items: readonly ParsedItem[],
): Promise<Map<string, RefreshCause>> {
  if (refreshesOf(items).size === 0) return new Map();
  const recorded = await recordedAmong(db, items);
  const listedAt = await lastWholeListingAt(db);
  return refreshesOf(
    items,
    (item) => recorded.has(item.id) || (listedAt !== null && item.created_at <= listedAt),
  );
}

/** The valid events of a batch that name an organization to refresh. */
function refreshing(items: readonly ParsedItem[]) {
  return items.flatMap((item) =>
    item.status === 'valid' && item.refreshes !== null ? [{ ...item, refreshes: item.refreshes }] : [],
  );
}

async function recordedAmong(db: Kysely<Database>, items: readonly ParsedItem[]): Promise<Set<string>> {
  const ids = refreshing(items).map((i) => i.id);
  const rows = await db
    .selectFrom('events')
    .select('id')
    .where('id', '=', (eb) => eb.fn.any(eb.val(ids)))
    .execute();
  return new Set(rows.map((r) => r.id));
}
