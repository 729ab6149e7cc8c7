/**
 * Live and deleted connections, and the List Connections query over the live ones (paged in
 * creation order by `creation-order.ts`; a deleted connection's id stays a usable cursor).
 */
import type { WireConnection, WireConnectionList } from '../src/workos/wire.ts';
import { CreationOrderedList } from './creation-order.ts';
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

export class ConnectionStore {
  private readonly live = new CreationOrderedList<ConnectionRecord>('Connection');
  private readonly deleted = new Map<string, DeletedConnection>();

  insert(record: ConnectionRecord): void {
    this.live.insert(record);
  }

  get(id: string): ConnectionRecord | undefined {
    return this.live.get(id);
  }

  remove(id: string, deletedAt: string): ConnectionRecord {
    const record = this.live.remove(id);
    this.deleted.set(id, { connection: toWireConnection(record), deletedAt });
    return record;
  }

  /** Live records in list order (oldest first); callers must not mutate them. */
  liveRecords(): readonly ConnectionRecord[] {
    return this.live.records();
  }

  liveConnections(): WireConnection[] {
    return this.live.records().map(toWireConnection);
  }

  deletedConnections(): DeletedConnection[] {
    return [...this.deleted.values()].map((d) => ({ ...d }));
  }

  get liveCount(): number {
    return this.live.size;
  }

  list(params: ListConnectionsParams): WireConnectionList {
    const domain = params.domain?.toLowerCase();
    const page = this.live.page(
      params,
      (c) =>
        (params.organizationId === undefined || c.organizationId === params.organizationId) &&
        (params.connectionType === undefined || c.connectionType === params.connectionType) &&
        (domain === undefined || c.domains.some((d) => d.domain.toLowerCase() === domain)),
    );
    return {
      object: 'list',
      data: page.data.map(toWireConnection),
      list_metadata: { before: page.before, after: page.after },
    };
  }
}
