/**
 * Reconciliation's planner for organizations and their domains, with no database: a List
 * Organizations snapshot + the stored rows → drift and writes, one row per rule of `versions.ts`
 * (1, 3 and 5, for organizations and for each domain by its own version).
 */
import { describe, expect, it } from 'vitest';
import {
  type ListedOrganization,
  planOrganizations,
  type StoredDomain,
  type StoredOrganization,
} from '../src/sync/reconcile/plan-organizations.ts';
import { organization } from '../src/workos/schemas.ts';

const T = (day: number) => new Date(`2024-01-${String(day).padStart(2, '0')}T00:00:00.000Z`);

function listed(
  fields: {
    id?: string;
    name?: string;
    updated?: number;
    domains?: { id: string; updated: number; state?: string }[];
  } = {},
): ListedOrganization {
  const raw = {
    object: 'organization',
    id: fields.id ?? 'org_1',
    name: fields.name ?? 'Foo Corp',
    external_id: null,
    created_at: T(1).toISOString(),
    updated_at: T(fields.updated ?? 2).toISOString(),
    domains: (fields.domains ?? []).map((d) => ({
      object: 'organization_domain',
      id: d.id,
      organization_id: fields.id ?? 'org_1',
      domain: `${d.id}.example`,
      state: d.state ?? 'verified',
      verification_strategy: 'dns',
      created_at: T(1).toISOString(),
      updated_at: T(d.updated).toISOString(),
    })),
  };
  return { organization: organization.parse(raw), raw };
}

function storedOrganization(fields: Partial<StoredOrganization> & { updated: number }): StoredOrganization {
  return {
    id: 'org_1',
    name: 'Foo Corp',
    external_id: null,
    updated_at: T(fields.updated),
    deleted_at: null,
    observed_at: null,
    source: 'event',
    writtenSinceListingBegan: false,
    ...fields,
  };
}

function storedDomain(id: string, fields: Partial<StoredDomain> & { updated: number }): StoredDomain {
  return {
    id,
    organization_id: 'org_1',
    domain: `${id}.example`,
    state: 'verified',
    verification_strategy: 'dns',
    updated_at: T(fields.updated),
    deleted_at: null,
    observed_at: null,
    source: 'event',
    writtenSinceListingBegan: false,
    ...fields,
  };
}

function plan(
  organizations: ListedOrganization[],
  stored: { organizations?: StoredOrganization[]; domains?: StoredDomain[]; invalid?: string[] } = {},
) {
  return planOrganizations(
    { organizations, invalidIds: new Set(stored.invalid ?? []), invalid: stored.invalid?.length ?? 0 },
    new Map((stored.organizations ?? []).map((o) => [o.id, o])),
    new Map((stored.domains ?? []).map((d) => [d.id, d])),
    T(9),
  );
}

describe('a listed organization against the stored one (rules 1 and 3)', () => {
  const cases = [
    { rule: '1: none stored: inserted', listing: listed(), stored: undefined, kind: 'inserted' },
    {
      rule: '1: newer, renamed: updated',
      listing: listed({ name: 'Bar', updated: 3 }),
      stored: storedOrganization({ updated: 2 }),
      kind: 'updated',
    },
    {
      rule: '1: tied, renamed: updated (ties go to the later write)',
      listing: listed({ name: 'Bar' }),
      stored: storedOrganization({ updated: 2 }),
      kind: 'updated',
    },
    {
      rule: '1: newer, same content: touched',
      listing: listed({ updated: 3 }),
      stored: storedOrganization({ updated: 2 }),
      kind: 'touched',
    },
    {
      rule: '1: the same: nothing',
      listing: listed(),
      stored: storedOrganization({ updated: 2 }),
      kind: 'nothing',
    },
    {
      rule: '1: older, renamed: nothing',
      listing: listed({ name: 'Bar', updated: 1 }),
      stored: storedOrganization({ updated: 2 }),
      kind: 'nothing',
    },
    {
      rule: '3: newer than its deletion: restored',
      listing: listed({ updated: 4 }),
      stored: storedOrganization({ updated: 2, deleted_at: T(3) }),
      kind: 'updated',
    },
    {
      rule: '3: as old as its deletion: nothing',
      listing: listed({ updated: 3 }),
      stored: storedOrganization({ updated: 2, deleted_at: T(3) }),
      kind: 'nothing',
    },
  ] as const;

  it.each(cases)('rule $rule', ({ listing, stored, kind }) => {
    const p = plan([listing], { organizations: stored ? [stored] : [] });
    expect(p.organizations[0]?.kind ?? 'nothing').toBe(kind);
    // Drift counts what differs: a touched row only advances its version.
    expect(p.counts.organizations.inserted).toBe(kind === 'inserted' ? 1 : 0);
    expect(p.counts.organizations.updated).toBe(kind === 'updated' ? 1 : 0);
  });
});

describe('a listed domain against the stored one, by its own version (rules 1 and 3)', () => {
  const cases = [
    {
      rule: '1: none stored: inserted',
      domain: { id: 'd1', updated: 2 },
      stored: undefined,
      kind: 'inserted',
    },
    {
      rule: '1: newer, verified: updated',
      domain: { id: 'd1', updated: 3 },
      stored: storedDomain('d1', { updated: 2, state: 'pending' }),
      kind: 'updated',
    },
    {
      rule: '1: tied, verified: updated',
      domain: { id: 'd1', updated: 2 },
      stored: storedDomain('d1', { updated: 2, state: 'pending' }),
      kind: 'updated',
    },
    {
      rule: '1: older, verified: nothing',
      domain: { id: 'd1', updated: 1 },
      stored: storedDomain('d1', { updated: 2, state: 'pending' }),
      kind: 'nothing',
    },
    {
      rule: '1: newer, same content: touched',
      domain: { id: 'd1', updated: 3 },
      stored: storedDomain('d1', { updated: 2 }),
      kind: 'touched',
    },
    {
      rule: '3: a tombstone listed as old as its removal: nothing',
      domain: { id: 'd1', updated: 3 },
      stored: storedDomain('d1', { updated: 2, deleted_at: T(3) }),
      kind: 'nothing',
    },
    {
      rule: '3: a tombstone listed newer than its removal: restored',
      domain: { id: 'd1', updated: 4 },
      stored: storedDomain('d1', { updated: 2, deleted_at: T(3) }),
      kind: 'updated',
    },
  ] as const;

  it.each(cases)('rule $rule', ({ domain, stored, kind }) => {
    const p = plan([listed({ domains: [domain] })], {
      organizations: [storedOrganization({ updated: 2 })],
      domains: stored ? [stored] : [],
    });
    expect(p.domains[0]?.kind ?? 'nothing').toBe(kind);
    expect(p.domains[0]?.row.organization_id ?? 'org_1').toBe('org_1');
  });
});

describe('a stored row the listing lacks (rule 5)', () => {
  const cases = [
    {
      rule: '5: a live organization written before the listing began: deleted',
      stored: storedOrganization({ id: 'org_gone', updated: 2 }),
      deleted: true,
    },
    {
      rule: '5: one written since it began: kept',
      stored: storedOrganization({ id: 'org_gone', updated: 2, writtenSinceListingBegan: true }),
      deleted: false,
    },
    {
      rule: '5: a tombstone: left alone',
      stored: storedOrganization({ id: 'org_gone', updated: 2, deleted_at: T(3) }),
      deleted: false,
    },
  ] as const;

  it.each(cases)('rule $rule', ({ stored, deleted }) => {
    expect(plan([listed()], { organizations: [stored] }).organizationDeletions).toEqual(
      deleted ? ['org_gone'] : [],
    );
  });

  const domainCases = [
    {
      rule: '5: a live domain no listed organization has: deleted',
      stored: storedDomain('d_gone', { updated: 2 }),
      deleted: true,
    },
    {
      rule: '5: one written since the listing began: kept',
      stored: storedDomain('d_gone', { updated: 2, writtenSinceListingBegan: true }),
      deleted: false,
    },
    {
      rule: '5: a domain of an organization listed invalid: kept (the listing cannot say)',
      stored: storedDomain('d_gone', { updated: 2, organization_id: 'org_bad' }),
      deleted: false,
    },
  ] as const;

  it.each(domainCases)('rule $rule', ({ stored, deleted }) => {
    expect(plan([listed()], { domains: [stored], invalid: ['org_bad'] }).domainDeletions).toEqual(
      deleted ? ['d_gone'] : [],
    );
  });

  it('an organization listed invalid is never deleted', () => {
    expect(
      plan([], { organizations: [storedOrganization({ id: 'org_bad', updated: 2 })], invalid: ['org_bad'] })
        .organizationDeletions,
    ).toEqual([]);
  });
});

it('drift names what changed, and counts what it saw', () => {
  const p = plan(
    [
      listed({
        name: 'Bar',
        updated: 3,
        domains: [
          { id: 'd1', updated: 3 },
          { id: 'd2', updated: 3 },
        ],
      }),
    ],
    {
      organizations: [storedOrganization({ updated: 2 })],
      domains: [storedDomain('d1', { updated: 2, state: 'pending' }), storedDomain('d_gone', { updated: 1 })],
    },
  );
  expect(p.drift).toEqual([
    { entity: 'organization', kind: 'updated', id: 'org_1', name: 'Bar', changes: ['name: Foo Corp → Bar'] },
    {
      entity: 'domain',
      kind: 'updated',
      id: 'd1',
      name: 'd1.example',
      changes: ['state: pending → verified'],
    },
    { entity: 'domain', kind: 'inserted', id: 'd2', name: 'd2.example', changes: [] },
    { entity: 'domain', kind: 'deleted', id: 'd_gone', name: 'd_gone.example', changes: [] },
  ]);
  expect(p.counts).toEqual({
    organizations: { seen: 1, inserted: 0, updated: 1, deleted: 0 },
    domains: { seen: 2, inserted: 1, updated: 1, deleted: 1 },
  });
});
