/**
 * `connection.activated`, `connection.deactivated` and `connection.deleted`: their payload is the
 * Connection. Which version wins is `versions.ts` (rules 1, 2 and 4).
 */
import { connection, type ParsedConnection } from '../../../workos/schemas.ts';
import { connectionRow, domainsOf } from '../../mirror/connection-row.ts';
import { NO_ROWS, type PlannedWrite } from '../../mirror/rows.ts';
import { deletionTakes, staleReason, versionTakes } from '../../mirror/versions.ts';
import { type Decision, defineHandler } from './types.ts';

export const connectionUpsert = defineHandler<ParsedConnection>({
  schema: connection,
  touches: (c) => ({ ...NO_ROWS, connections: [c.id] }),
  decide(event, mirror): Decision {
    const stored = mirror.connection(event.data.id);
    const row = connectionRow(event.data, event.rawData, {
      deleted_at: null,
      last_event_id: event.id,
      observed_at: event.created_at,
    });
    if (!versionTakes(stored, row, 'event')) {
      return { outcome: 'stale', reason: staleReason(stored, row, 'connection') };
    }
    const write: PlannedWrite = { kind: 'connection', row, domains: domainsOf(event.data) };
    return { outcome: 'applied', writes: [write] };
  },
});

export const connectionDeleted = defineHandler<ParsedConnection>({
  schema: connection,
  touches: (c) => ({ ...NO_ROWS, connections: [c.id] }),
  decide(event, mirror): Decision {
    const stored = mirror.connection(event.data.id);
    if (!deletionTakes(stored)) return { outcome: 'stale', reason: 'the connection is already deleted' };
    // The payload carries the state before deletion: it replaces the stored columns unless those are newer.
    const row = connectionRow(event.data, event.rawData, {
      deleted_at: event.created_at,
      last_event_id: event.id,
      observed_at: event.created_at,
    });
    const write: PlannedWrite = versionTakes(stored, row, 'event')
      ? { kind: 'connection', row, domains: domainsOf(event.data) }
      : {
          kind: 'connection_deleted',
          id: event.data.id,
          deleted_at: event.created_at,
          last_event_id: event.id,
        };
    return { outcome: 'applied', writes: [write] };
  },
});
