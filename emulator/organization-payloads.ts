/**
 * The emulator's records of organisations and their domains, and the wire shapes built from them
 * (the spec's `Organization` and `OrganizationDomain`, which the eight organisation events carry
 * too). Wire objects are built fresh on every call, so an event keeps the organisation or domain
 * as it was when the event was emitted.
 */
import type {
  DomainVerificationFailure,
  OrganizationDomainState,
  OrganizationDomainStrategy,
  WireConnectionDomain,
  WireOrganization,
  WireOrganizationDomain,
  WireOrganizationEvent,
} from '../src/workos/wire.ts';
import type { SortKey } from './creation-order.ts';

export interface OrganizationRecord extends SortKey {
  id: string;
  name: string;
  externalId: string | null;
  /** Its live domains' ids, in the order they were added (the order WorkOS lists them in). */
  domainIds: string[];
  createdAt: string;
  updatedAt: string;
}

export interface OrganizationDomainRecord {
  id: string;
  organizationId: string;
  domain: string;
  state: OrganizationDomainState;
  verificationStrategy: OrganizationDomainStrategy;
  /** DNS verification only: the TXT record's name prefix and value. */
  verification: { prefix: string; token: string } | null;
  createdAt: string;
  updatedAt: string;
}

export type FailedVerificationPayload =
  WireOrganizationEvent<'organization_domain.verification_failed'>['data'];

export function toWireOrganizationDomain(record: OrganizationDomainRecord): WireOrganizationDomain {
  return {
    object: 'organization_domain',
    id: record.id,
    organization_id: record.organizationId,
    domain: record.domain,
    state: record.state,
    ...(record.verification && {
      verification_prefix: record.verification.prefix,
      verification_token: record.verification.token,
    }),
    verification_strategy: record.verificationStrategy,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  };
}

/** `domains` are the organisation's live domain records, in its order. */
export function toWireOrganization(
  record: OrganizationRecord,
  domains: readonly OrganizationDomainRecord[],
): WireOrganization {
  return {
    object: 'organization',
    id: record.id,
    name: record.name,
    domains: domains.map(toWireOrganizationDomain),
    metadata: {},
    external_id: record.externalId,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  };
}

/** The one event whose payload wraps the domain: `{ reason, organization_domain }`. */
export function toFailedVerificationPayload(
  record: OrganizationDomainRecord,
  reason: DomainVerificationFailure,
): FailedVerificationPayload {
  return { reason, organization_domain: toWireOrganizationDomain(record) };
}

/**
 * How a connection of the organisation lists the domain: the organisation domain's own id under
 * `object: 'connection_domain'`, as WorkOS's documented example payloads show.
 */
export function toConnectionDomain(record: OrganizationDomainRecord): WireConnectionDomain {
  return { id: record.id, object: 'connection_domain', domain: record.domain };
}
