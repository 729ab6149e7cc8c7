/**
 * A reconciliation's plans and what its writers really wrote → what the run reports: the rows it
 * may change (the hooks' capture), the NOTIFY's notice, and the run's counts and drift. What was
 * written may be less than what was planned when the poller got to a row first: the counts and
 * the drift are of what was written. Pure.
 */
import type { ChangeNotice } from '../changes/report.ts';
import { NO_ROWS, type RowKeys } from '../mirror/rows.ts';
import type { WrittenOrganizations } from './organization-store.ts';
import type { Drift, ReconciliationCounts, ReconciliationPlan } from './plan.ts';
import type { EntityCounts, OrganizationPlan } from './plan-organizations.ts';
import type { WrittenCounts } from './store.ts';

/** What the connections' writer wrote. */
interface WrittenConnections {
  readonly counts: WrittenCounts;
  readonly written: ReadonlySet<string>;
}

export interface RunOutcome {
  readonly counts: ReconciliationCounts;
  readonly organizations: {
    readonly organizations: EntityCounts;
    readonly domains: EntityCounts;
  } | null;
  readonly drift: readonly Drift[];
}

export function runOutcome(
  plan: ReconciliationPlan,
  written: WrittenConnections,
  organizations: OrganizationPlan | null,
  writtenOrganizations: WrittenOrganizations | null,
  drift: readonly Drift[],
): RunOutcome {
  const counts: ReconciliationCounts = {
    ...plan.counts,
    ...written.counts,
    unchanged:
      plan.counts.unchanged +
      plan.counts.inserted +
      plan.counts.updated +
      plan.counts.touched -
      written.counts.inserted -
      written.counts.updated -
      written.counts.touched,
  };
  const organizationCounts =
    organizations && writtenOrganizations
      ? {
          organizations: {
            seen: organizations.counts.organizations.seen,
            ...writtenOrganizations.counts.organizations,
          },
          domains: { seen: organizations.counts.domains.seen, ...writtenOrganizations.counts.domains },
        }
      : null;
  const kept = (d: Drift) =>
    d.entity === 'connection'
      ? written.written.has(d.id)
      : d.entity === 'organization'
        ? (writtenOrganizations?.organizations.has(d.id) ?? false)
        : (writtenOrganizations?.domains.has(d.id) ?? false);
  return { counts, organizations: organizationCounts, drift: drift.filter(kept) };
}

/** A reconciliation announced: what it wrote, by kind, and the rows. */
export function reconciliationNotice(
  runId: string,
  written: WrittenConnections,
  writtenOrganizations: WrittenOrganizations | null,
): ChangeNotice {
  return {
    source: 'reconciliation',
    runId,
    counts: Object.fromEntries(
      Object.entries({ ...written.counts, ...flatCounts(writtenOrganizations?.counts) }).filter(
        ([, n]) => n > 0,
      ),
    ),
    connectionIds: [...written.written],
    organizationIds: [...(writtenOrganizations?.touched ?? [])],
  };
}

/** Every row the plans may write. */
export function rowsPlanned(plan: ReconciliationPlan, organizations: OrganizationPlan | undefined): RowKeys {
  return {
    ...NO_ROWS,
    connections: [...plan.upserts.map((u) => u.row.id), ...plan.deletions],
    certificates: plan.certificates.map((c) => [c.connection_id, c.certificate_type] as const),
    organizations: [
      ...(organizations?.organizations.map((o) => o.row.id) ?? []),
      ...(organizations?.organizationDeletions ?? []),
    ],
    domains: [
      ...(organizations?.domains.map((d) => d.row.id) ?? []),
      ...(organizations?.domainDeletions ?? []),
    ],
  };
}

/** `{ organizationsInserted: 2, domainsDeleted: 1, … }` for a NOTIFY's counts. */
function flatCounts(counts: Record<string, Record<string, number>> | undefined): Record<string, number> {
  const flat: Record<string, number> = {};
  for (const [entity, byKind] of Object.entries(counts ?? {}))
    for (const [kind, n] of Object.entries(byKind))
      flat[`${entity}${kind[0]!.toUpperCase()}${kind.slice(1)}`] = n;
  return flat;
}
