/**
 * `connection.activated`, `connection.deactivated` and `connection.deleted`: their payload is the
 * Connection. A row only moves forward: an upsert needs the incoming `updated_at` to be at least
 * the stored one (ties go to the later event), and a tombstone is final.
 */
import { connection, type ParsedConnection } from '../../workos/schemas.ts';
import type { ConnectionWrite, PlannedWrite } from '../mirror.ts';
import { type Decision, defineHandler, type HandledEvent } from './types.ts';

function rowOf(event: HandledEvent<ParsedConnection>, deletedAt: Date | null): ConnectionWrite {
  const c = event.data;
  return {
    id: c.id,
    organization_id: c.organization_id ?? null,
    connection_type: c.connection_type,
    name: c.name,
    state: c.state,
    created_at: c.created_at ?? null,
    updated_at: c.updated_at,
    deleted_at: deletedAt,
    raw: event.rawData,
    last_event_id: event.id,
  };
}

function domainsOf(c: ParsedConnection) {
  return c.domains?.map((d) => ({ id: d.id, domain: d.domain }));
}

export const connectionUpsert = defineHandler<ParsedConnection>({
  schema: connection,
  touches: (c) => ({ connections: [c.id], certificates: [] }),
  decide(event, mirror): Decision {
    const stored = mirror.connection(event.data.id);
    if (stored?.deleted_at) return { outcome: 'stale', reason: 'the connection is deleted' };
    if (stored && stored.updated_at > event.data.updated_at) {
      return { outcome: 'stale', reason: 'the stored connection is newer' };
    }
    const write: PlannedWrite = {
      kind: 'connection',
      row: rowOf(event, null),
      domains: domainsOf(event.data),
    };
    return { outcome: 'applied', writes: [write] };
  },
});

export const connectionDeleted = defineHandler<ParsedConnection>({
  schema: connection,
  touches: (c) => ({ connections: [c.id], certificates: [] }),
  decide(event, mirror): Decision {
    const stored = mirror.connection(event.data.id);
    if (stored?.deleted_at) return { outcome: 'stale', reason: 'the connection is already deleted' };
    // The payload carries the state before deletion; keep it unless the mirror knows a newer one.
    if (stored && stored.updated_at > event.data.updated_at) {
      const write: PlannedWrite = {
        kind: 'connection_deleted',
        id: event.data.id,
        deleted_at: event.created_at,
        last_event_id: event.id,
      };
      return { outcome: 'applied', writes: [write] };
    }
    const write: PlannedWrite = {
      kind: 'connection',
      row: rowOf(event, event.created_at),
      domains: domainsOf(event.data),
    };
    return { outcome: 'applied', writes: [write] };
  },
});
