/**
 * One connection row, whoever learned it (an event or a listing): built from the wire payload,
 * and written by an upsert that takes every column from the incoming row. Callers add the
 * version guard that decides whether the incoming row may win.
 */
import { sql } from 'kysely';
import { excludedColumn } from '../db/excluded.ts';
import type { ConnectionsTable } from '../db/tables.ts';
import type { ParsedConnection } from '../workos/schemas.ts';
import type { ConnectionWrite, DomainWrite } from './mirror.ts';

export function connectionRow(
  payload: ParsedConnection,
  raw: unknown,
  version: { readonly deleted_at: Date | null; readonly last_event_id: string | null },
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
    synced_at: sql<Date>`clock_timestamp()`,
  };
}
