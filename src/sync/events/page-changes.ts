/**
 * What a batch of events reports (`changes/report.ts`): the writer of each changed row, the
 * hooks' order (the stream's), and the NOTIFY's notice.
 */
import type { ChangeSource, MirrorChange, SourceOf } from '../changes/changes.ts';
import type { ChangeNotice } from '../changes/report.ts';
import { rowKey } from '../mirror/rows.ts';
import type { PagePlan } from './plan-page.ts';

/** A batch's changes in the order of the events that made them (the stream's order). */
export function inEventOrder(plans: readonly PagePlan[], changes: MirrorChange[]): MirrorChange[] {
  const position = new Map<string, number>();
  for (const plan of plans) for (const record of plan.records) position.set(record.id, position.size);
  const at = (c: MirrorChange) => ('eventId' in c.source ? (position.get(c.source.eventId) ?? -1) : -1);
  return changes.sort((a, b) => at(a) - at(b));
}

/**
 * What wrote each row of a batch of events: the event whose write the plan kept last (not the
 * row's `last_event_id`: an older event that only adds its notice to a listed certificate keeps
 * the listing's), or, for a row a refresh wrote after the events, the refresh (`refreshed`).
 */
export function eventSourceOf(
  plans: readonly PagePlan[],
  refreshed: ReadonlyMap<string, ChangeSource> = new Map(),
): SourceOf {
  const types = new Map<string, string>();
  const writers = new Map<string, string>();
  for (const plan of plans) {
    for (const record of plan.records) types.set(record.id, record.event);
    for (const [key, eventId] of plan.writers) writers.set(key, eventId);
  }
  return (table, key, row) => {
    const source = refreshed.get(rowKey(table, key));
    if (source) return source;
    const eventId = writers.get(rowKey(table, key)) ?? row.last_event_id ?? '';
    return { kind: 'event', eventId, event: types.get(eventId) ?? '(unknown)' };
  };
}

/** A batch of events announced: applied events by type, and the rows it wrote. */
export function eventNotice(
  plans: readonly PagePlan[],
  cursor: string,
  refreshedConnections: Iterable<string> = [],
): ChangeNotice {
  const counts: Record<string, number> = {};
  const ids = new Set<string>(refreshedConnections);
  const organizations = new Set<string>();
  for (const plan of plans) {
    for (const record of plan.records)
      if (record.outcome === 'applied') counts[record.event] = (counts[record.event] ?? 0) + 1;
    for (const c of plan.connections) ids.add(c.id);
    for (const d of plan.deletions) ids.add(d.id);
    for (const c of plan.certificates) ids.add(c.connection_id);
    for (const o of plan.organizations) organizations.add(o.id);
    for (const o of plan.organizationDeletions) organizations.add(o.id);
    for (const d of plan.organizationDomains) organizations.add(d.organization_id);
  }
  return { source: 'events', cursor, counts, connectionIds: [...ids], organizationIds: [...organizations] };
}
