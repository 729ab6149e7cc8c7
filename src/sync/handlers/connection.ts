/**
 * `connection.activated`, `connection.deactivated` and `connection.deleted`: their payload is the
 * Connection. A row only moves forward: an upsert needs the incoming `updated_at` to be at least
 * the stored one (ties go to the later event), and a tombstone is final.
 */
import { connection, type ParsedConnection } from '../../workos/schemas.ts';
import { connectionRow, domainsOf } from '../connection-row.ts';
import type { PlannedWrite } from '../mirror.ts';
import { type Decision, defineHandler } from './types.ts';

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
      row: connectionRow(event.data, event.rawData, { deleted_at: null, last_event_id: event.id }),
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
      row: connectionRow(event.data, event.rawData, {
        deleted_at: event.created_at,
        last_event_id: event.id,
      }),
      domains: domainsOf(event.data),
    };
    return { outcome: 'applied', writes: [write] };
  },
});
