/**
 * `organization_domain.created|updated|verified|verification_failed|deleted`: their payload is the
 * organization domain (`verification_failed` wraps it beside its reason). Which version wins is
 * `versions.ts` (rules 1, 2 and 4), each domain by its own `updated_at`. Every one of them
 * changes what its organization's connections list: they are listed again (`refreshes`).
 */
import {
  domainVerificationFailed,
  organizationDomain,
  type ParsedDomainVerificationFailed,
  type ParsedOrganizationDomain,
} from '../../../workos/schemas.ts';
import { organizationDomainRow } from '../../mirror/organization-row.ts';
import { type MirrorView, NO_ROWS, type PlannedWrite } from '../../mirror/rows.ts';
import { deletionTakes, staleReason, versionTakes } from '../../mirror/versions.ts';
import { type Decision, defineHandler, type HandledEvent } from './types.ts';

function touches(d: ParsedOrganizationDomain) {
  return { ...NO_ROWS, domains: [d.id] };
}

function upsert(
  event: HandledEvent<unknown>,
  domain: ParsedOrganizationDomain,
  mirror: MirrorView,
): Decision {
  const stored = mirror.domain(domain.id);
  const row = organizationDomainRow(domain, domain.organization_id, {
    deleted_at: null,
    last_event_id: event.id,
    observed_at: event.created_at,
  });
  if (!versionTakes(stored, row, 'event')) {
    return { outcome: 'stale', reason: staleReason(stored, row, 'domain') };
  }
  return { outcome: 'applied', writes: [{ kind: 'domain', row }] };
}

export const organizationDomainUpsert = defineHandler<ParsedOrganizationDomain>({
  schema: organizationDomain,
  touches,
  refreshes: (d) => d.organization_id,
  decide: (event, mirror) => upsert(event, event.data, mirror),
});

export const organizationDomainVerificationFailed = defineHandler<ParsedDomainVerificationFailed>({
  schema: domainVerificationFailed,
  touches: (data) => touches(data.organization_domain),
  refreshes: (data) => data.organization_domain.organization_id,
  decide: (event, mirror) => upsert(event, event.data.organization_domain, mirror),
});

export const organizationDomainDeleted = defineHandler<ParsedOrganizationDomain>({
  schema: organizationDomain,
  touches,
  refreshes: (d) => d.organization_id,
  decide(event, mirror): Decision {
    const domain = event.data;
    const stored = mirror.domain(domain.id);
    if (!deletionTakes(stored)) return { outcome: 'stale', reason: 'the domain is already deleted' };
    const row = organizationDomainRow(domain, domain.organization_id, {
      deleted_at: event.created_at,
      last_event_id: event.id,
      observed_at: event.created_at,
    });
    const write: PlannedWrite = versionTakes(stored, row, 'event')
      ? { kind: 'domain', row }
      : {
          kind: 'domain_deleted',
          absent: false,
          id: domain.id,
          deleted_at: event.created_at,
          last_event_id: event.id,
        };
    return { outcome: 'applied', writes: [write] };
  },
});
