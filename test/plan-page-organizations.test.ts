/**
 * The events path's pure core for organizations and their domains, with no database:
 * `parseEvent` → the handlers' decisions → `planPage`. One row per rule of `versions.ts` as the
 * organization and domain handlers apply it (rules 1, 2, 4 and 7), then what a batch refreshes,
 * what it records of a payload, and which event each write is named after.
 */
import { describe, expect, it } from 'vitest';
import { parseEvent } from '../src/sync/events/parse-event.ts';
import { type PagePlan, planPage } from '../src/sync/events/plan-page.ts';
import { refreshesOf } from '../src/sync/events/refreshes.ts';
import type { CertificateState, DomainVersion, MirrorSnapshot, RowVersion } from '../src/sync/mirror/rows.ts';
import { rowKey } from '../src/sync/mirror/rows.ts';
import {
  certificateRenewalRequired,
  connectionEvent,
  domainEvent,
  organizationEvent,
} from './support/events.ts';

const T = (day: number) => `2024-01-${String(day).padStart(2, '0')}T00:00:00.000Z`;
const at = (day: number) => new Date(T(day));
const live = (day: number): RowVersion => ({
  updated_at: at(day),
  deleted_at: null,
  observed_at: null,
  source: 'event',
});
const deletedOn = (updatedDay: number, deletedDay: number): RowVersion => ({
  updated_at: at(updatedDay),
  deleted_at: at(deletedDay),
  observed_at: null,
  source: 'event',
});
const domain = (id: string, version: RowVersion, organization_id = 'org_1'): DomainVersion => ({
  id,
  organization_id,
  ...version,
});

function snapshot(
  stored: {
    organizations?: Record<string, RowVersion>;
    domains?: DomainVersion[];
    certificates?: CertificateState[];
  } = {},
): MirrorSnapshot {
  return {
    connections: new Map(),
    certificates: new Map(
      (stored.certificates ?? []).map((c) => [`${c.connection_id}\u0000${c.certificate_type}`, c]),
    ),
    organizations: new Map(Object.entries(stored.organizations ?? {})),
    domains: new Map((stored.domains ?? []).map((d) => [d.id, d])),
  };
}

function plan(events: unknown[], mirror = snapshot()): PagePlan {
  return planPage(events.map(parseEvent), mirror, new Map());
}

/** What the plan writes of organization `org_1`: a whole row (live or deleted), a tombstone, or nothing. */
function organizationWrite(p: PagePlan): string {
  const row = p.organizations.find((o) => o.id === 'org_1');
  if (row) return row.deleted_at ? 'deleted row' : 'row';
  return p.organizationDeletions.some((o) => o.id === 'org_1') ? 'tombstone only' : 'none';
}

/** Each domain's write: `row`, `deleted row`, `tombstone` (rule 4) or `absent` (rule 7), by id. */
function domainWrites(p: PagePlan): Record<string, string> {
  const writes: Record<string, string> = {};
  for (const d of p.organizationDomains) writes[d.id] = d.deleted_at ? 'deleted row' : 'row';
  for (const d of p.domainDeletions) writes[d.id] = d.absent ? 'absent' : 'tombstone';
  return writes;
}

describe('organization events against the stored organization (rules 1, 2, 4)', () => {
  const updated = (day: number) =>
    organizationEvent('organization.updated', { updated_at: T(day), name: `v${day}` });
  const deleted = (day: number) =>
    organizationEvent('organization.deleted', { updated_at: T(day) }, { created_at: T(20) });
  const cases = [
    { rule: '1: none stored: applied', event: updated(2), stored: undefined, fate: 'applied', write: 'row' },
    { rule: '1: newer: applied', event: updated(3), stored: live(2), fate: 'applied', write: 'row' },
    {
      rule: '1: tied: applied (ties go to the later write)',
      event: updated(2),
      stored: live(2),
      fate: 'applied',
      write: 'row',
    },
    { rule: '1: older: stale', event: updated(1), stored: live(2), fate: 'stale', write: 'none' },
    {
      rule: '2: on a tombstone: stale',
      event: updated(9),
      stored: deletedOn(1, 2),
      fate: 'stale',
      write: 'none',
    },
    {
      rule: '4: deletion of one never seen: the payload, deleted',
      event: deleted(2),
      stored: undefined,
      fate: 'applied',
      write: 'deleted row',
    },
    {
      rule: '4: deletion as new as the row: the payload, deleted',
      event: deleted(2),
      stored: live(2),
      fate: 'applied',
      write: 'deleted row',
    },
    {
      rule: '4: deletion older than the row: the stored columns, deleted',
      event: deleted(1),
      stored: live(2),
      fate: 'applied',
      write: 'tombstone only',
    },
    {
      rule: '2: deletion of a tombstone: stale',
      event: deleted(3),
      stored: deletedOn(1, 2),
      fate: 'stale',
      write: 'none',
    },
  ] as const;

  it.each(cases)('rule $rule', ({ event, stored, fate, write }) => {
    const p = plan([event], snapshot({ organizations: stored ? { org_1: stored } : {} }));
    expect(p.fates).toEqual([fate]);
    expect(organizationWrite(p)).toBe(write);
  });
});

describe('domain events against the stored domain (rules 1, 2, 4)', () => {
  const verified = (day: number) =>
    domainEvent('organization_domain.verified', { updated_at: T(day), state: 'verified' });
  const failed = (day: number) =>
    domainEvent('organization_domain.verification_failed', { updated_at: T(day), state: 'failed' });
  const removed = (day: number) =>
    domainEvent('organization_domain.deleted', { updated_at: T(day) }, { created_at: T(20) });
  const cases = [
    { rule: '1: none stored: applied', event: verified(2), stored: undefined, fate: 'applied', write: 'row' },
    { rule: '1: newer: applied', event: verified(3), stored: live(2), fate: 'applied', write: 'row' },
    { rule: '1: tied: applied', event: failed(2), stored: live(2), fate: 'applied', write: 'row' },
    { rule: '1: older: stale', event: verified(1), stored: live(2), fate: 'stale', write: undefined },
    {
      rule: '2: on a tombstone: stale',
      event: verified(9),
      stored: deletedOn(1, 2),
      fate: 'stale',
      write: undefined,
    },
    {
      rule: '4: removal as new as the row: the payload, deleted',
      event: removed(2),
      stored: live(2),
      fate: 'applied',
      write: 'deleted row',
    },
    {
      rule: '4: removal older than the row: the stored columns, deleted',
      event: removed(1),
      stored: live(2),
      fate: 'applied',
      write: 'tombstone',
    },
    {
      rule: '2: removal of a tombstone: stale',
      event: removed(3),
      stored: deletedOn(1, 2),
      fate: 'stale',
      write: undefined,
    },
  ] as const;

  it.each(cases)('rule $rule', ({ event, stored, fate, write }) => {
    const p = plan([event], snapshot({ domains: stored ? [domain('org_domain_1', stored)] : [] }));
    expect(p.fates).toEqual([fate]);
    expect(domainWrites(p).org_domain_1).toBe(write);
  });

  it('verification_failed carries the domain inside it: its state is the domain`s', () => {
    const p = plan([failed(2)]);
    expect(p.organizationDomains).toMatchObject([
      { id: 'org_domain_1', organization_id: 'org_1', state: 'failed' },
    ]);
  });
});

describe("an organization's payload and its domains (rules 1, 4 and 7)", () => {
  // The payload, at day 5, lists org_domain_a (updated day 3).
  const payload = (event: 'organization.updated' | 'organization.deleted' = 'organization.updated') =>
    organizationEvent(
      event,
      { updated_at: T(5), domains: [{ id: 'org_domain_a', domain: 'a.example', updated_at: T(3) }] },
      { created_at: T(5) },
    );
  const cases = [
    {
      rule: '1: a listed domain newer than the stored one is written',
      stored: [domain('org_domain_a', live(2))],
      writes: { org_domain_a: 'row' },
    },
    {
      rule: '1: a listed domain older than the stored one is not',
      stored: [domain('org_domain_a', live(4))],
      writes: {},
    },
    {
      rule: '7: a live domain the payload lacks, changed before it, is tombstoned',
      stored: [domain('org_domain_b', live(4))],
      writes: { org_domain_a: 'row', org_domain_b: 'absent' },
    },
    {
      rule: '7: one changed at the payload`s time is newer than its list: kept',
      stored: [domain('org_domain_b', live(5))],
      writes: { org_domain_a: 'row' },
    },
    {
      rule: '7: one changed after it (created since) is kept',
      stored: [domain('org_domain_b', live(6))],
      writes: { org_domain_a: 'row' },
    },
    {
      rule: '7: a domain of another organization is not this one`s to lack',
      stored: [domain('org_domain_c', live(1), 'org_2')],
      writes: { org_domain_a: 'row' },
    },
    {
      rule: '7: a tombstone stays as it is',
      stored: [domain('org_domain_b', deletedOn(1, 2))],
      writes: { org_domain_a: 'row' },
    },
  ] as const;

  it.each(cases)('rule $rule', ({ stored, writes }) => {
    const p = plan([payload()], snapshot({ domains: [...stored] }));
    expect(p.fates).toEqual(['applied']);
    expect(domainWrites(p)).toEqual(writes);
  });

  it('4: a deletion tombstones every live domain: listed (with the payload) and not', () => {
    const p = plan(
      [payload('organization.deleted')],
      snapshot({ domains: [domain('org_domain_b', live(9)), domain('org_domain_c', deletedOn(1, 2))] }),
    );
    expect(organizationWrite(p)).toBe('deleted row');
    expect(domainWrites(p)).toEqual({ org_domain_a: 'deleted row', org_domain_b: 'tombstone' });
  });

  it('an organization payload older than the stored organization is stale whole: its domains are not written', () => {
    const p = plan(
      [payload()],
      snapshot({ organizations: { org_1: live(6) }, domains: [domain('org_domain_b', live(1))] }),
    );
    expect(p.fates).toEqual(['stale']);
    expect(domainWrites(p)).toEqual({});
  });

  it('a domain event later in the page sees the tombstone rule 7 left: stale', () => {
    const later = domainEvent(
      'organization_domain.updated',
      { id: 'org_domain_b', updated_at: T(4) },
      { created_at: T(6) },
    );
    const p = plan([payload(), later], snapshot({ domains: [domain('org_domain_b', live(4))] }));
    expect(p.fates).toEqual(['applied', 'stale']);
  });
});

describe('what a batch refreshes: the organizations whose connections it lists again', () => {
  const cases = [
    { event: 'organization_domain.created', refreshes: true },
    { event: 'organization_domain.updated', refreshes: true },
    { event: 'organization_domain.verified', refreshes: true },
    { event: 'organization_domain.verification_failed', refreshes: true },
    { event: 'organization_domain.deleted', refreshes: true },
    { event: 'organization.updated', refreshes: true },
    { event: 'organization.created', refreshes: false },
    { event: 'organization.deleted', refreshes: false },
    { event: 'connection.activated', refreshes: false },
  ] as const;

  it.each(cases)('$event refreshes: $refreshes', ({ event, refreshes }) => {
    const raw = event.startsWith('organization_domain.')
      ? domainEvent(event as Parameters<typeof domainEvent>[0], { updated_at: T(2) })
      : event.startsWith('organization.')
        ? organizationEvent(event as Parameters<typeof organizationEvent>[0], { updated_at: T(2) })
        : connectionEvent('connection.activated', { updated_at: T(2) });
    expect([...refreshesOf([parseEvent(raw)]).keys()]).toEqual(refreshes ? ['org_1'] : []);
  });

  it('one per organization however many of its events, named after the last; stale ones count, invalid ones do not', () => {
    const a1 = domainEvent('organization_domain.created', { id: 'org_domain_a', updated_at: T(2) });
    const b = domainEvent('organization_domain.created', { organization_id: 'org_2', updated_at: T(2) });
    const a2 = domainEvent('organization_domain.verified', { id: 'org_domain_a', updated_at: T(3) });
    const broken = {
      ...domainEvent('organization_domain.created', { organization_id: 'org_3', updated_at: T(2) }),
    };
    (broken.data as { domain?: unknown }).domain = 42;
    const refreshes = refreshesOf([a1, b, a2, broken].map(parseEvent));
    expect([...refreshes]).toEqual([
      ['org_1', { eventId: a2.id, event: 'organization_domain.verified' }],
      ['org_2', { eventId: b.id, event: 'organization_domain.created' }],
    ]);
  });
});

describe('what is kept of a payload, and who wrote what', () => {
  it('no verification_token is recorded or kept as raw, at any depth; everything else is', () => {
    const withDomains = organizationEvent('organization.updated', {
      updated_at: T(2),
      domains: [{ updated_at: T(2) }],
    });
    const p = plan([
      domainEvent('organization_domain.created', { id: 'org_domain_x', updated_at: T(2) }),
      withDomains,
    ]);
    const stored = JSON.stringify([p.records, p.organizations.map((o) => o.raw)]);
    expect(stored).not.toContain('verification_token');
    expect(stored).not.toContain('m5Oztg3jdK4NJLgs8uIlIprMw');
    expect(stored).toContain('verification_prefix');
  });

  it('each row is named after the last event that wrote it, even where the row keeps another writer`s fields', () => {
    // An older notice adds its timestamps to the certificate a listing stored: the row keeps the
    // listing's last_event_id (null), but the change is this event's.
    const listed: CertificateState = {
      connection_id: 'conn_1',
      certificate_type: 'ResponseSigning',
      organization_id: 'org_1',
      expiry_date: at(30),
      is_expired: false,
      days_until_expiry: null,
      renewed_at: null,
      renewal_required_at: null,
      version_at: at(10),
      source: 'listing',
      last_event_id: null,
      fingerprint: 'AB:CD',
      subject: 'CN=idp',
    };
    const notice = certificateRenewalRequired({ expiry_date: T(30), created_at: T(5) });
    const first = domainEvent('organization_domain.created', { updated_at: T(2) });
    const second = domainEvent('organization_domain.verified', { updated_at: T(3), state: 'verified' });
    const p = plan([first, second, notice], snapshot({ certificates: [listed] }));
    expect(p.fates).toEqual(['applied', 'applied', 'applied']);
    expect(p.certificates[0]!.last_event_id).toBeNull();
    expect(p.writers.get(rowKey('certificate', 'conn_1\u0000ResponseSigning'))).toBe(notice.id);
    expect(p.writers.get(rowKey('domain', 'org_domain_1'))).toBe(second.id);
  });
});
