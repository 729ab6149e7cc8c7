/**
 * A page of parsed events + the mirror rows they touch → every write of the page. Pure.
 *
 * Events are folded in the order the API returned them; each decision sees the mirror as the
 * events before it left it, so the page's final writes equal applying the events one by one.
 * Writes are collapsed to one per row (the last), which is what lets the apply step send each
 * table one batched statement.
 */
import type { EventOutcome } from '../db/tables.ts';
import {
  type CertificateState,
  type ConnectionVersion,
  type ConnectionWrite,
  certificateKey,
  type DomainWrite,
  type MirrorView,
  type PlannedWrite,
  type RowKeys,
} from './mirror.ts';
import { canonicalJson, type ParsedItem } from './parse-event.ts';

export interface StoredEvent {
  readonly event: string;
  readonly data: unknown;
}

export interface MirrorSnapshot {
  readonly connections: ReadonlyMap<string, ConnectionVersion>;
  readonly certificates: ReadonlyMap<string, CertificateState>;
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

export interface Deletion {
  readonly id: string;
  readonly deleted_at: Date;
  readonly last_event_id: string;
}

export interface PagePlan {
  readonly records: readonly EventRecord[];
  readonly connections: readonly ConnectionWrite[];
  readonly deletions: readonly Deletion[];
  /** Connection id → its complete new domain set. */
  readonly domains: ReadonlyMap<string, readonly DomainWrite[]>;
  readonly certificates: readonly CertificateState[];
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
  const connections = new Map<string, ConnectionWrite>();
  const deletions = new Map<string, Deletion>();
  const domains = new Map<string, readonly DomainWrite[]>();
  const certificates = new Map<string, CertificateState>();
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
      else for (const write of decision.writes) collect(write);
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

  function collect(write: PlannedWrite): void {
    mirror.apply(write);
    switch (write.kind) {
      case 'connection':
        connections.set(write.row.id, write.row);
        deletions.delete(write.row.id);
        if (write.domains) domains.set(write.row.id, write.domains);
        return;
      case 'connection_deleted': {
        const planned = connections.get(write.id);
        if (planned)
          connections.set(write.id, {
            ...planned,
            deleted_at: write.deleted_at,
            last_event_id: write.last_event_id,
          });
        else deletions.set(write.id, write);
        return;
      }
      case 'certificate':
        certificates.set(certificateKey(write.row.connection_id, write.row.certificate_type), write.row);
        return;
    }
  }

  return {
    records,
    connections: [...connections.values()],
    deletions: [...deletions.values()],
    domains,
    certificates: [...certificates.values()],
    duplicates,
    fates,
  };
}

/** Only the writes of these rows (whose first write the database refused: see `apply-page.ts`). */
export function planFor(plan: PagePlan, rows: RowKeys): PagePlan {
  const connections = new Set(rows.connections);
  const certificates = new Set(rows.certificates.map((key) => certificateKey(...key)));
  return {
    ...plan,
    connections: plan.connections.filter((c) => connections.has(c.id)),
    deletions: plan.deletions.filter((d) => connections.has(d.id)),
    certificates: plan.certificates.filter((c) =>
      certificates.has(certificateKey(c.connection_id, c.certificate_type)),
    ),
  };
}

/** The mirror as of the events folded so far: the loaded snapshot under this page's writes. */
class Overlay implements MirrorView {
  readonly #connections: Map<string, ConnectionVersion>;
  readonly #certificates: Map<string, CertificateState>;

  constructor(snapshot: MirrorSnapshot) {
    this.#connections = new Map(snapshot.connections);
    this.#certificates = new Map(snapshot.certificates);
  }

  connection(id: string): ConnectionVersion | undefined {
    return this.#connections.get(id);
  }

  certificate(connectionId: string, certificateType: string): CertificateState | undefined {
    return this.#certificates.get(certificateKey(connectionId, certificateType));
  }

  apply(write: PlannedWrite): void {
    if (write.kind === 'connection') {
      this.#connections.set(write.row.id, {
        updated_at: write.row.updated_at,
        deleted_at: write.row.deleted_at,
      });
    } else if (write.kind === 'connection_deleted') {
      const stored = this.#connections.get(write.id);
      if (stored) this.#connections.set(write.id, { ...stored, deleted_at: write.deleted_at });
    } else {
      this.#certificates.set(certificateKey(write.row.connection_id, write.row.certificate_type), write.row);
    }
  }
}
