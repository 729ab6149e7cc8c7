/**
 * One connection row, whoever learned it (an event or a listing): built from the wire payload,
 * written by an upsert that takes every column from the incoming row (the caller adds the version
 * guard of `versions.ts`), and its domain set replaced once the row itself was taken.
 */
import type { Transaction } from 'kysely';
import { excludedColumn } from '../../db/excluded.ts';
import { statementChunks } from '../../db/statement-chunks.ts';
import type { ConnectionsTable, Database } from '../../db/tables.ts';
import type { ParsedConnection } from '../../workos/schemas.ts';
import type { ConnectionWrite, DomainWrite } from './rows.ts';
import { writtenNow } from './versions.ts';

export function connectionRow(
  payload: ParsedConnection,
  raw: unknown,
  version: {
    readonly deleted_at: Date | null;
    readonly last_event_id: string | null;
    /** An event's time, or a listing's. */
    readonly observed_at: Date;
  },
): ConnectionWrite {
  return {
    id: payload.id,
    organization_id: payload.organization_id ?? null,
    connection_type: payload.connection_type,
    name: payload.name,
    state: payload.state,
    created_at: payload.created_at ?? null,
    updated_at: payload.updated_at,
    raw,
    ...version,
  };
}

/** The payload's domain set; undefined when it has none (a deletion may omit it): keep the known one. */
export function domainsOf(payload: ParsedConnection): DomainWrite[] | undefined {
  return payload.domains?.map((d) => ({ id: d.id, domain: d.domain }));
}

/** `on conflict (id) do update set …`: every column from the incoming row. */
export function takeIncomingConnection() {
  const incoming = excludedColumn<ConnectionsTable>();
  return {
    organization_id: incoming('organization_id'),
    connection_type: incoming('connection_type'),
    name: incoming('name'),
    state: incoming('state'),
    created_at: incoming('created_at'),
    updated_at: incoming('updated_at'),
    deleted_at: incoming('deleted_at'),
    raw: incoming('raw'),
    source: incoming('source'),
    last_event_id: incoming('last_event_id'),
    observed_at: incoming('observed_at'),
    synced_at: writtenNow(),
  };
}

/**
 * Replaces each given connection's domain set. Only for connection rows this transaction has
 * just written: the domains belong to the version that won. A domain id is WorkOS's and unique,
 * so one that moved to another connection moves here too. `maxRows` bounds each statement's
 * rows (connections deleted from, domains inserted), as the caller bounds its own.
 */
export async function replaceDomains(
  trx: Transaction<Database>,
  domains: ReadonlyMap<string, readonly DomainWrite[]>,
  maxRows?: number,
): Promise<void> {
  if (domains.size === 0) return;
  for (const ids of statementChunks([...domains.keys()], 1, maxRows)) {
    await trx
      .deleteFrom('connection_domains')
      .where('connection_id', '=', (eb) => eb.fn.any(eb.val(ids)))
      .execute();
  }
  // One row per domain id: a statement may not update the same row twice.
  const rows = new Map<string, { id: string; connection_id: string; domain: string }>();
  for (const [connectionId, set] of domains) {
    for (const d of set) rows.set(d.id, { id: d.id, connection_id: connectionId, domain: d.domain });
  }
  for (const chunk of statementChunks([...rows.values()], 3, maxRows)) {
    await trx
      .insertInto('connection_domains')
      .values(chunk)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({
          connection_id: eb.ref('excluded.connection_id'),
          domain: eb.ref('excluded.domain'),
        })),
      )
      .execute();
  }
}
