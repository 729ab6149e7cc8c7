/**
 * Organization and organization-domain rows, whoever learned them (an event or a listing): built
 * from the wire payload; the upserts take every column from the incoming row (the caller adds the
 * version guard of `versions.ts`).
 */
import { excludedColumn } from '../../db/excluded.ts';
import type { OrganizationDomainsTable, OrganizationsTable } from '../../db/tables.ts';
import type { ParsedOrganization, ParsedOrganizationDomain } from '../../workos/schemas.ts';
import type { OrganizationDomainWrite, OrganizationWrite } from './rows.ts';
import { writtenNow } from './versions.ts';

interface Version {
  readonly deleted_at: Date | null;
  readonly last_event_id: string | null;
  /** An event's time, or a listing's. */
  readonly observed_at: Date;
}

export function organizationRow(
  payload: ParsedOrganization,
  raw: unknown,
  version: Version,
): OrganizationWrite {
  return {
    id: payload.id,
    name: payload.name,
    external_id: payload.external_id ?? null,
    created_at: payload.created_at ?? null,
    updated_at: payload.updated_at,
    raw,
    ...version,
  };
}

type DomainPayload = Omit<ParsedOrganizationDomain, 'organization_id'>;

/** `organizationId`: the organization it belongs to (an Organization's own id for its listed domains). */
export function organizationDomainRow(
  payload: DomainPayload,
  organizationId: string,
  version: Version,
): OrganizationDomainWrite {
  return {
    id: payload.id,
    organization_id: organizationId,
    domain: payload.domain,
    state: payload.state ?? null,
    verification_strategy: payload.verification_strategy ?? null,
    created_at: payload.created_at ?? null,
    updated_at: payload.updated_at,
    ...version,
  };
}

/** `on conflict (id) do update set …`: every column from the incoming row. */
export function takeIncomingOrganization() {
  const incoming = excludedColumn<OrganizationsTable>();
  return {
    name: incoming('name'),
    external_id: incoming('external_id'),
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

export function takeIncomingOrganizationDomain() {
  const incoming = excludedColumn<OrganizationDomainsTable>();
  return {
    organization_id: incoming('organization_id'),
    domain: incoming('domain'),
    state: incoming('state'),
    verification_strategy: incoming('verification_strategy'),
    created_at: incoming('created_at'),
    updated_at: incoming('updated_at'),
    deleted_at: incoming('deleted_at'),
    source: incoming('source'),
    last_event_id: incoming('last_event_id'),
    observed_at: incoming('observed_at'),
    synced_at: writtenNow(),
  };
}
