/**
 * Live and deleted connections, and the List Connections query over the live ones.
 *
 * Live connections sit in one array sorted by (created_at, insertion sequence) plus an id map, so
 * a page costs a binary search and a short walk even with 50,000 connections. A cursor is located
 * by its sort key, which deleted connections keep: a client paging while a connection on its
 * cursor is deleted carries on from the same place instead of failing.
 */
import type { WireConnection, WireConnectionList } from '../workos/wire.ts';
import { InvalidParameterError, UnknownCursorError } from './errors.ts';
import { collect, parseLimit, parseOrder, partitionPoint } from './pagination.ts';
import { type ConnectionRecord, toWireConnection } from './payloads.ts';

export interface ListConnectionsParams {
  organizationId?: string;
  connectionType?: string;
  domain?: string;
  limit?: number;
  before?: string;
  after?: string;
  order?: string;
}

export interface DeletedConnection {
  /** The connection as it was just before deletion. */
  connection: WireConnection;
  deletedAt: string;
}

interface SortKey {
  createdMs: number;
  seq: number;
}

const precedes = (a: SortKey, b: SortKey) =>
  a.createdMs < b.createdMs || (a.createdMs === b.createdMs && a.seq < b.seq);

export class ConnectionStore {
  private readonly ordered: ConnectionRecord[] = [];
  private readonly live = new Map<string, ConnectionRecord>();
  private readonly deleted = new Map<string, DeletedConnection & SortKey>();

  insert(record: ConnectionRecord): void {
    if (this.live.has(record.id) || this.deleted.has(record.id)) {
      throw new Error(`Connection ${record.id} already exists`);
    }
    const last = this.ordered[this.ordered.length - 1];
    if (!last || precedes(last, record)) this.ordered.push(record);
    else this.ordered.splice(this.indexOf(record), 0, record);
    this.live.set(record.id, record);
  }

  get(id: string): ConnectionRecord | undefined {
    return this.live.get(id);
  }

  remove(id: string, deletedAt: string): ConnectionRecord {
    const record = this.live.get(id);
    if (!record) throw new Error(`Connection ${id} is not live`);
    this.ordered.splice(this.indexOf(record), 1);
    this.live.delete(id);
    this.deleted.set(id, {
      connection: toWireConnection(record),
      deletedAt,
      createdMs: record.createdMs,
      seq: record.seq,
    });
    return record;
  }

  /** Live records in list order (oldest first); callers must not mutate them. */
  liveRecords(): readonly ConnectionRecord[] {
    return this.ordered;
  }

  liveConnections(): WireConnection[] {
    return this.ordered.map(toWireConnection);
  }

  deletedConnections(): DeletedConnection[] {
    return [...this.deleted.values()].map(({ connection, deletedAt }) => ({ connection, deletedAt }));
  }

  get liveCount(): number {
    return this.ordered.length;
  }

  list(params: ListConnectionsParams): WireConnectionList {
    const limit = parseLimit(params.limit);
    const order = parseOrder(params.order);
    if (params.before !== undefined && params.after !== undefined) {
      throw new InvalidParameterError(
        'before',
        'Validation failed: before and after are mutually exclusive.',
      );
    }
    const domain = params.domain?.toLowerCase();
    const match = (c: ConnectionRecord) =>
      (params.organizationId === undefined || c.organizationId === params.organizationId) &&
      (params.connectionType === undefined || c.connectionType === params.connectionType) &&
      (domain === undefined || c.domains.some((d) => d.domain.toLowerCase() === domain));

    // Walk in list order (`step`); asc lists oldest first, desc and normal newest first.
    const step = order === 'asc' ? 1 : -1;
    const n = this.ordered.length;
    const window = (from: number, dir: 1 | -1) => ({ from, step: dir, lo: 0, hi: n });
    let data: ConnectionRecord[];
    let before: string | null = null;
    let after: string | null = null;
    if (params.before !== undefined) {
      // The `limit` nearest items preceding the cursor in list order, presented in list order.
      const at = this.cursorIndex('before', params.before);
      const from = step === 1 ? at.firstNotBefore - 1 : at.firstAfter;
      const page = collect(this.ordered, window(from, step === 1 ? -1 : 1), limit, match);
      data = page.items.reverse();
      before = page.more ? (data[0]?.id ?? null) : null;
      after = data[data.length - 1]?.id ?? null;
    } else {
      const at = params.after === undefined ? undefined : this.cursorIndex('after', params.after);
      const from =
        at === undefined ? (step === 1 ? 0 : n - 1) : step === 1 ? at.firstAfter : at.firstNotBefore - 1;
      const page = collect(this.ordered, window(from, step), limit, match);
      data = page.items;
      after = page.more ? (data[data.length - 1]?.id ?? null) : null;
      before = at === undefined ? null : (data[0]?.id ?? null);
    }
    return { object: 'list', data: data.map(toWireConnection), list_metadata: { before, after } };
  }

  /** Where a cursor sits in `ordered`: the first index not before it, and the first index after it. */
  private cursorIndex(field: 'before' | 'after', id: string): { firstNotBefore: number; firstAfter: number } {
    const key: SortKey | undefined = this.live.get(id) ?? this.deleted.get(id);
    if (!key) throw new UnknownCursorError(field, id);
    const firstNotBefore = partitionPoint(this.ordered, (c) => precedes(c, key));
    const firstAfter = this.live.has(id) ? firstNotBefore + 1 : firstNotBefore;
    return { firstNotBefore, firstAfter };
  }

  private indexOf(key: SortKey): number {
    return partitionPoint(this.ordered, (c) => precedes(c, key));
  }
}
