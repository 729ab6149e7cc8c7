/**
 * A page of parsed events + the mirror rows they touch → every write of the page. Pure.
 *
 * Events are folded in the order the API returned them; each decision sees the mirror as the
 * events before it left it, so the page's final writes equal applying the events one by one.
 * Writes are collapsed to one per row (the last), which is what lets the apply step send each
 * table one batched statement.
 */
import type { EventOutcome } from '../../db/tables.ts';
import {
  type CertificateState,
  type ConnectionWrite,
  certificateKey,
  type DomainWrite,
  type MirrorSnapshot,
  type OrganizationDomainWrite,
  type OrganizationWrite,
  type PlannedWrite,
  type RowKeys,
  rowKey,
  type Tombstone,
} from '../mirror/rows.ts';
import { Overlay } from './overlay.ts';
import { canonicalJson, type ParsedItem } from './parse-event.ts';

export interface StoredEvent {
  readonly event: string;
  readonly data: unknown;
}

export interface EventRecord {
  readonly id: string;
  readonly event: string;
  readonly created_at: Date | null;
  readonly data: unknown;
  readonly context: unknown;
  readonly outcome: EventOutcome;
  readonly error: string | null;
}

export type DomainTombstone = Tombstone & { readonly absent: boolean };

export interface PagePlan {
  readonly records: readonly EventRecord[];
  readonly connections: readonly ConnectionWrite[];
  readonly deletions: readonly Tombstone[];
  /** Connection id → its complete new domain set. */
  readonly domains: ReadonlyMap<string, readonly DomainWrite[]>;
  readonly certificates: readonly CertificateState[];
  readonly organizations: readonly OrganizationWrite[];
  readonly organizationDeletions: readonly Tombstone[];
  readonly organizationDomains: readonly OrganizationDomainWrite[];
  readonly domainDeletions: readonly DomainTombstone[];
  /** The event that made each row's last write, by `rowKey` (what the hooks name as the change's source). */
  readonly writers: ReadonlyMap<string, string>;
  /** Ids already recorded (in an earlier page or earlier in this one); `differs` when the payload does. */
  readonly duplicates: readonly { readonly id: string; readonly differs: boolean }[];
  /** Each input item's fate, in input order (so a batch of pages can be reported page by page). */
  readonly fates: readonly EventFate[];
}

export type EventFate = EventOutcome | 'duplicate';

export function planPage(
  items: readonly ParsedItem[],
  snapshot: MirrorSnapshot,
  seen: ReadonlyMap<string, StoredEvent>,
): PagePlan {
  const mirror = new Overlay(snapshot);
  const connections = new Writes<ConnectionWrite, Tombstone>();
  const organizations = new Writes<OrganizationWrite, Tombstone>();
  const organizationDomains = new Writes<OrganizationDomainWrite, DomainTombstone>();
  const domains = new Map<string, readonly DomainWrite[]>();
  const certificates = new Map<string, CertificateState>();
  const writers = new Map<string, string>();
  const records: EventRecord[] = [];
  const duplicates: { id: string; differs: boolean }[] = [];
  const fates: EventFate[] = [];
  const inPage = new Map<string, StoredEvent>();

  for (const item of items) {
    const incoming: StoredEvent = { event: item.event, data: item.rawData };
    const previous = seen.get(item.id) ?? inPage.get(item.id);
    if (previous) {
      duplicates.push({ id: item.id, differs: canonicalJson(previous) !== canonicalJson(incoming) });
      fates.push('duplicate');
      continue;
    }
    inPage.set(item.id, incoming);

    let outcome: EventOutcome;
    let error: string | null = null;
    if (item.status === 'invalid') {
      outcome = 'quarantined';
      error = item.error;
    } else if (item.status === 'ignored') {
      outcome = 'ignored';
    } else {
      const decision = item.handler.decide(
        {
          id: item.id,
          event: item.event,
          created_at: item.created_at,
          data: item.data,
          rawData: item.rawData,
        },
        mirror,
      );
      outcome = decision.outcome;
      if (decision.outcome === 'stale') error = decision.reason;
      else for (const write of decision.writes) collect(write, item.id);
    }
    fates.push(outcome);
    records.push({
      id: item.id,
      event: item.event,
      created_at: item.created_at,
      data: item.rawData,
      context: item.context,
      outcome,
      error,
    });
  }

  function collect(write: PlannedWrite, eventId: string): void {
    mirror.apply(write);
    switch (write.kind) {
      case 'connection':
        connections.upsert(write.row);
        if (write.domains) domains.set(write.row.id, write.domains);
        writers.set(rowKey('connection', write.row.id), eventId);
        return;
      case 'connection_deleted':
        connections.tombstone(write);
        writers.set(rowKey('connection', write.id), eventId);
        return;
      case 'certificate': {
        const key = certificateKey(write.row.connection_id, write.row.certificate_type);
        certificates.set(key, write.row);
        writers.set(rowKey('certificate', key), eventId);
        return;
      }
      case 'organization':
        organizations.upsert(write.row);
        writers.set(rowKey('organization', write.row.id), eventId);
        return;
      case 'organization_deleted':
        organizations.tombstone(write);
        writers.set(rowKey('organization', write.id), eventId);
        return;
      case 'domain':
        organizationDomains.upsert(write.row);
        writers.set(rowKey('domain', write.row.id), eventId);
        return;
      case 'domain_deleted':
        organizationDomains.tombstone(write);
        writers.set(rowKey('domain', write.id), eventId);
        return;
    }
  }

  return {
    records,
    connections: connections.rows(),
    deletions: connections.tombstones(),
    domains,
    certificates: [...certificates.values()],
    organizations: organizations.rows(),
    organizationDeletions: organizations.tombstones(),
    organizationDomains: organizationDomains.rows(),
    domainDeletions: organizationDomains.tombstones(),
    writers,
    duplicates,
    fates,
  };
}

/**
 * One table's writes of a page, one per row: the last. A tombstone after an upsert planned in
 * the same page folds into it; an upsert after a tombstone replaces it.
 */
class Writes<Row extends { readonly id: string; readonly deleted_at: Date | null }, T extends Tombstone> {
  readonly #rows = new Map<string, Row>();
  readonly #tombstones = new Map<string, T>();

  upsert(row: Row): void {
    this.#rows.set(row.id, row);
    this.#tombstones.delete(row.id);
  }

  tombstone(tombstone: T): void {
    const planned = this.#rows.get(tombstone.id);
    if (planned)
      this.#rows.set(tombstone.id, {
        ...planned,
        deleted_at: tombstone.deleted_at,
        last_event_id: tombstone.last_event_id,
      });
    else this.#tombstones.set(tombstone.id, tombstone);
  }

  rows(): Row[] {
    return [...this.#rows.values()];
  }

  tombstones(): T[] {
    return [...this.#tombstones.values()];
  }
}

/** Only the writes of these rows (whose first write the database refused: see `apply-page.ts`). */
export function planFor(plan: PagePlan, rows: RowKeys): PagePlan {
  const connections = new Set(rows.connections);
  const certificates = new Set(rows.certificates.map((key) => certificateKey(...key)));
  const organizations = new Set(rows.organizations);
  const domains = new Set(rows.domains);
  return {
    ...plan,
    connections: plan.connections.filter((c) => connections.has(c.id)),
    deletions: plan.deletions.filter((d) => connections.has(d.id)),
    certificates: plan.certificates.filter((c) =>
      certificates.has(certificateKey(c.connection_id, c.certificate_type)),
    ),
    organizations: plan.organizations.filter((o) => organizations.has(o.id)),
    organizationDeletions: plan.organizationDeletions.filter((o) => organizations.has(o.id)),
    organizationDomains: plan.organizationDomains.filter((d) => domains.has(d.id)),
    domainDeletions: plan.domainDeletions.filter((d) => domains.has(d.id)),
  };
}
