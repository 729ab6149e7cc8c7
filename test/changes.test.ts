/**
 * `changes.ts`, the hooks' contract, with no database: two captures of the same rows → the typed
 * net changes. One table per change type: its kind (with precedence), the fields that differ,
 * and that a row whose version only advanced is no change.
 */
import { describe, expect, it } from 'vitest';
import type {
  CertificateSnapshot,
  ChangeSource,
  ConnectionSnapshot,
  DomainSnapshot,
  OrganizationSnapshot,
  SourceOf,
} from '../src/sync/changes/changes.ts';
import {
  certificateChanges,
  connectionChanges,
  domainChanges,
  organizationChanges,
} from '../src/sync/changes/diff.ts';

const T1 = new Date('2024-01-01T00:00:00.000Z');
const T2 = new Date('2024-01-02T00:00:00.000Z');
const source: ChangeSource = { kind: 'event', eventId: 'event_1', event: 'x' };
const sourceOf: SourceOf = () => source;
const one = <K, V>(key: K, value: V | null) => new Map(value ? [[key, value]] : []);

const connection = (fields: Partial<ConnectionSnapshot> = {}): ConnectionSnapshot => ({
  id: 'conn_1',
  organization_id: 'org_1',
  connection_type: 'OktaSAML',
  name: 'Foo',
  state: 'active',
  domains: ['foo.example'],
  deleted: false,
  updated_at: T1,
  last_event_id: null,
  ...fields,
});

const organization = (fields: Partial<OrganizationSnapshot> = {}): OrganizationSnapshot => ({
  id: 'org_1',
  name: 'Foo Corp',
  external_id: null,
  deleted: false,
  updated_at: T1,
  last_event_id: null,
  ...fields,
});

const domain = (fields: Partial<DomainSnapshot> = {}): DomainSnapshot => ({
  id: 'org_domain_1',
  organization_id: 'org_1',
  domain: 'foo.example',
  state: 'pending',
  verification_strategy: 'dns',
  deleted: false,
  updated_at: T1,
  last_event_id: null,
  ...fields,
});

const certificate = (fields: Partial<CertificateSnapshot> = {}): CertificateSnapshot => ({
  connection_id: 'conn_1',
  certificate_type: 'ResponseSigning',
  organization_id: 'org_1',
  expiry_date: T2,
  is_expired: false,
  days_until_expiry: null,
  renewed_at: null,
  renewal_required_at: null,
  fingerprint: null,
  last_event_id: null,
  ...fields,
});

describe('connections', () => {
  const cases = [
    {
      case: 'new to the mirror',
      before: null,
      after: connection(),
      kind: 'inserted',
      fields: ['name', 'state', 'organization_id', 'connection_type', 'domains'],
    },
    {
      case: 'new and already deleted',
      before: null,
      after: connection({ deleted: true }),
      kind: 'deleted',
      fields: ['name', 'state', 'organization_id', 'connection_type', 'domains', 'deleted'],
    },
    {
      case: 'deleted (over a state change)',
      before: connection(),
      after: connection({ deleted: true, state: 'inactive' }),
      kind: 'deleted',
      fields: ['state', 'deleted'],
    },
    {
      case: 'back from a tombstone',
      before: connection({ deleted: true }),
      after: connection(),
      kind: 'resurrected',
      fields: ['deleted'],
    },
    {
      case: 'activated',
      before: connection({ state: 'draft' }),
      after: connection(),
      kind: 'activated',
      fields: ['state'],
    },
    {
      case: 'deactivated',
      before: connection(),
      after: connection({ state: 'inactive' }),
      kind: 'deactivated',
      fields: ['state'],
    },
    {
      case: 'renamed, with its domains',
      before: connection(),
      after: connection({ name: 'Bar', domains: [] }),
      kind: 'updated',
      fields: ['name', 'domains'],
    },
    {
      case: 'only its version advanced',
      before: connection(),
      after: connection({ updated_at: T2 }),
      kind: null,
      fields: [],
    },
  ] as const;
  it.each(cases)('$case: $kind', ({ before, after, kind, fields }) => {
    const changes = connectionChanges(one('conn_1', before), one('conn_1', after), sourceOf);
    expect(changes.map((c) => [c.kind, c.fields])).toEqual(kind ? [[kind, fields]] : []);
    if (kind)
      expect(changes[0]).toMatchObject({
        type: 'connection',
        connectionId: 'conn_1',
        organizationId: 'org_1',
        source,
      });
  });
});

describe('certificates', () => {
  const cases = [
    {
      case: 'new to the mirror',
      before: null,
      after: certificate(),
      kind: 'changed',
      fields: ['expiry_date', 'is_expired'],
    },
    {
      case: 'a new expiry',
      before: certificate(),
      after: certificate({ expiry_date: T1 }),
      kind: 'changed',
      fields: ['expiry_date'],
    },
    {
      case: 'a renewal notice it did not carry',
      before: certificate(),
      after: certificate({ renewal_required_at: T1 }),
      kind: 'renewal_required',
      fields: ['renewal_required_at'],
    },
    {
      case: 'only its days left changed',
      before: certificate(),
      after: certificate({ days_until_expiry: 3 }),
      kind: null,
      fields: [],
    },
  ] as const;
  it.each(cases)('$case: $kind', ({ before, after, kind, fields }) => {
    const key = 'conn_1\u0000ResponseSigning';
    const changes = certificateChanges(one(key, before), one(key, after), sourceOf);
    expect(changes.map((c) => [c.kind, c.fields])).toEqual(kind ? [[kind, fields]] : []);
  });
});

describe('organizations', () => {
  const cases = [
    {
      case: 'new to the mirror',
      before: null,
      after: organization(),
      kind: 'inserted',
      fields: ['name', 'external_id'],
    },
    {
      case: 'renamed',
      before: organization(),
      after: organization({ name: 'Bar' }),
      kind: 'updated',
      fields: ['name'],
    },
    {
      case: 'given an external id',
      before: organization(),
      after: organization({ external_id: 'x-1' }),
      kind: 'updated',
      fields: ['external_id'],
    },
    {
      case: 'deleted',
      before: organization(),
      after: organization({ deleted: true }),
      kind: 'deleted',
      fields: ['deleted'],
    },
    {
      case: 'back from a tombstone',
      before: organization({ deleted: true }),
      after: organization(),
      kind: 'resurrected',
      fields: ['deleted'],
    },
    {
      case: 'only its version advanced',
      before: organization(),
      after: organization({ updated_at: T2 }),
      kind: null,
      fields: [],
    },
  ] as const;
  it.each(cases)('$case: $kind', ({ before, after, kind, fields }) => {
    const changes = organizationChanges(one('org_1', before), one('org_1', after), sourceOf);
    expect(changes.map((c) => [c.kind, c.fields])).toEqual(kind ? [[kind, fields]] : []);
    if (kind) expect(changes[0]).toMatchObject({ type: 'organization', organizationId: 'org_1', source });
  });
});

describe('organization domains', () => {
  const cases = [
    {
      case: 'new to the mirror',
      before: null,
      after: domain(),
      kind: 'added',
      fields: ['domain', 'state', 'verification_strategy', 'organization_id'],
    },
    {
      case: 'new and verified at once',
      before: null,
      after: domain({ state: 'verified' }),
      kind: 'added',
      fields: ['domain', 'state', 'verification_strategy', 'organization_id'],
    },
    {
      case: 'back from a tombstone',
      before: domain({ deleted: true }),
      after: domain(),
      kind: 'added',
      fields: ['deleted'],
    },
    {
      case: 'verified',
      before: domain(),
      after: domain({ state: 'verified' }),
      kind: 'verified',
      fields: ['state'],
    },
    {
      case: 'verified the legacy way',
      before: domain(),
      after: domain({ state: 'legacy_verified' }),
      kind: 'verified',
      fields: ['state'],
    },
    {
      case: 'its verification failed',
      before: domain(),
      after: domain({ state: 'failed' }),
      kind: 'verification_failed',
      fields: ['state'],
    },
    {
      case: 'removed (over a state change)',
      before: domain(),
      after: domain({ deleted: true, state: 'verified' }),
      kind: 'removed',
      fields: ['state', 'deleted'],
    },
    {
      case: 'its strategy changed',
      before: domain(),
      after: domain({ verification_strategy: 'manual' }),
      kind: 'updated',
      fields: ['verification_strategy'],
    },
    {
      case: 'verified again (no state change)',
      before: domain({ state: 'verified' }),
      after: domain({ state: 'verified', updated_at: T2 }),
      kind: null,
      fields: [],
    },
  ] as const;
  it.each(cases)('$case: $kind', ({ before, after, kind, fields }) => {
    const changes = domainChanges(one('org_domain_1', before), one('org_domain_1', after), sourceOf);
    expect(changes.map((c) => [c.kind, c.fields])).toEqual(kind ? [[kind, fields]] : []);
    if (kind)
      expect(changes[0]).toMatchObject({
        type: 'domain',
        domainId: 'org_domain_1',
        domain: 'foo.example',
        organizationId: 'org_1',
        source,
      });
  });
});

it('each change is named after what its source says wrote that row', () => {
  const seen: [string, string][] = [];
  const by: SourceOf = (table, key) => {
    seen.push([table, key]);
    return { kind: 'listing', runId: `${table}:${key}` };
  };
  const [change] = domainChanges(new Map(), one('org_domain_1', domain()), by);
  expect(change?.source).toEqual({ kind: 'listing', runId: 'domain:org_domain_1' });
  expect(seen).toEqual([['domain', 'org_domain_1']]);
});
