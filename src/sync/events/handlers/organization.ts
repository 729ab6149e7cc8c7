/**
 * `organization.created`, `organization.updated` and `organization.deleted`: their payload is the
 * Organization, with its domains. Which version wins is `versions.ts`: the organization's row by
 * rules 1, 2 and 4; each domain it lists by its own version (rule 1); the live domains it lacks by
 * rule 7; a deletion tombstones every live domain (rule 4).
 *
 * An organization's version decides for its domain list too: a payload older than the stored
 * organization is stale as a whole, since the newer version came with a newer list (an event's
 * payload, or a listing).
 */
import { organization, type ParsedOrganization } from '../../../workos/schemas.ts';
import { organizationDomainRow, organizationRow } from '../../mirror/organization-row.ts';
import { type MirrorView, NO_ROWS, type PlannedWrite } from '../../mirror/rows.ts';
import { absentDomainRemoved, deletionTakes, staleReason, versionTakes } from '../../mirror/versions.ts';
import { type Decision, defineHandler, type HandledEvent } from './types.ts';

function touches(o: ParsedOrganization) {
  return {
    ...NO_ROWS,
    organizations: [o.id],
    domains: (o.domains ?? []).map((d) => d.id),
    domainSets: [o.id],
  };
}

export const organizationUpsert = defineHandler<ParsedOrganization>({
  schema: organization,
  touches,
  decide(event, mirror): Decision {
    const stored = mirror.organization(event.data.id);
    const row = organizationRow(event.data, event.rawData, {
      deleted_at: null,
      last_event_id: event.id,
      observed_at: event.created_at,
    });
    if (!versionTakes(stored, row, 'event')) {
      return { outcome: 'stale', reason: staleReason(stored, row, 'organization') };
    }
    return {
      outcome: 'applied',
      writes: [{ kind: 'organization', row }, ...domainWrites(event, mirror, null)],
    };
  },
});

/** An organization's domains changed, or it was renamed: its connections are listed again. */
export const organizationUpdated = defineHandler<ParsedOrganization>({
  ...organizationUpsert,
  refreshes: (o) => o.id,
});

export const organizationDeleted = defineHandler<ParsedOrganization>({
  schema: organization,
  touches,
  decide(event, mirror): Decision {
    const stored = mirror.organization(event.data.id);
    if (!deletionTakes(stored)) return { outcome: 'stale', reason: 'the organization is already deleted' };
    const deletedAt = event.created_at;
    const row = organizationRow(event.data, event.rawData, {
      deleted_at: deletedAt,
      last_event_id: event.id,
      observed_at: event.created_at,
    });
    const write: PlannedWrite = versionTakes(stored, row, 'event')
      ? { kind: 'organization', row }
      : { kind: 'organization_deleted', id: event.data.id, deleted_at: deletedAt, last_event_id: event.id };
    return { outcome: 'applied', writes: [write, ...domainWrites(event, mirror, deletedAt)] };
  },
});

/**
 * The domains of an organization's payload: each listed one by its own version, then the stored
 * live ones it lacks — by rule 7, or all of them when the organization is deleted (`deletedAt`).
 */
function domainWrites(
  event: HandledEvent<ParsedOrganization>,
  mirror: MirrorView,
  deletedAt: Date | null,
): PlannedWrite[] {
  const writes: PlannedWrite[] = [];
  const listed = new Set<string>();
  for (const domain of event.data.domains ?? []) {
    listed.add(domain.id);
    const stored = mirror.domain(domain.id);
    const row = organizationDomainRow(domain, event.data.id, {
      deleted_at: deletedAt,
      last_event_id: event.id,
      observed_at: event.created_at,
    });
    if (versionTakes(stored, row, 'event')) {
      writes.push({ kind: 'domain', row });
    } else if (deletedAt && deletionTakes(stored)) {
      writes.push({
        kind: 'domain_deleted',
        absent: false,
        id: domain.id,
        deleted_at: deletedAt,
        last_event_id: event.id,
      });
    }
  }
  for (const stored of mirror.liveDomainsOf(event.data.id)) {
    if (listed.has(stored.id)) continue;
    if (deletedAt || absentDomainRemoved(stored, event.created_at)) {
      writes.push({
        kind: 'domain_deleted',
        absent: deletedAt === null,
        id: stored.id,
        deleted_at: deletedAt ?? event.created_at,
        last_event_id: event.id,
      });
    }
  }
  return writes;
}
