/**
 * The events path's pure core, with no database: `parseEvent` → the handlers' decisions →
 * `planPage`. One row per rule of `versions.ts` as the handlers apply it (ties and deletions
 * included), then the page fold: order, collapsing, duplicates, and what is recorded.
 */
import { describe, expect, it } from 'vitest';
import { parseEvent } from '../src/sync/events/parse-event.ts';
import { type PagePlan, planPage, type StoredEvent } from '../src/sync/events/plan-page.ts';
import type { CertificateState, MirrorSnapshot, RowVersion } from '../src/sync/mirror/rows.ts';
import {
  certificateRenewalRequired,
  certificateRenewed,
  connectionEvent,
  rawEvent,
} from './support/events.ts';

const T = (day: number) => `2024-01-${String(day).padStart(2, '0')}T00:00:00.000Z`;
const at = (day: number) => new Date(T(day));

function snapshot(
  connections: Record<string, RowVersion> = {},
  certificates: CertificateState[] = [],
): MirrorSnapshot {
  return {
    connections: new Map(Object.entries(connections)),
    certificates: new Map(certificates.map((c) => [`${c.connection_id}\u0000${c.certificate_type}`, c])),
    organizations: new Map(),
    domains: new Map(),
  };
}

function plan(events: unknown[], mirror = snapshot(), seen = new Map<string, StoredEvent>()): PagePlan {
  return planPage(events.map(parseEvent), mirror, seen);
}

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

describe('connection events against the stored row (rules 1, 2, 4)', () => {
  const activated = (day: number) =>
    connectionEvent('connection.activated', { updated_at: T(day), name: `v${day}` });
  const deleted = (day: number) =>
    connectionEvent('connection.deleted', { updated_at: T(day), name: `v${day}` }, { created_at: T(20) });

  const cases = [
    {
      rule: '1: no stored row: applied',
      event: activated(2),
      stored: undefined,
      fate: 'applied',
      write: 'row',
    },
    {
      rule: '1: newer than the stored row: applied',
      event: activated(3),
      stored: live(2),
      fate: 'applied',
      write: 'row',
    },
    {
      rule: '1: tied with the stored row: applied',
      event: activated(2),
      stored: live(2),
      fate: 'applied',
      write: 'row',
    },
    {
      rule: '1: older than the stored row: stale',
      event: activated(1),
      stored: live(2),
      fate: 'stale',
      write: 'none',
    },
    {
      rule: '2: on a tombstone: stale',
      event: activated(9),
      stored: deletedOn(1, 2),
      fate: 'stale',
      write: 'none',
    },
    {
      rule: '4: deletion of a row never seen: the payload, deleted',
      event: deleted(2),
      stored: undefined,
      fate: 'applied',
      write: 'deleted row',
    },
    {
      rule: '4: deletion at least as new as the row: the payload, deleted',
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
    const p = plan([event], snapshot(stored ? { conn_1: stored } : {}));
    expect(p.fates).toEqual([fate]);
    const written =
      p.connections.length === 1
        ? p.connections[0]!.deleted_at
          ? 'deleted row'
          : 'row'
        : p.deletions.length === 1
          ? 'tombstone only'
          : 'none';
    expect(written).toBe(write);
    if (write === 'deleted row') expect(p.connections[0]!.deleted_at).toEqual(at(20));
    if (write === 'tombstone only')
      expect(p.deletions[0]).toMatchObject({ id: 'conn_1', deleted_at: at(20) });
    if (fate === 'stale') expect(p.records[0]!.error).toMatch(/newer|deleted/);
  });
});

describe('certificate events against the stored certificate (rule 6)', () => {
  const stored = (versionDay: number, fields: Partial<CertificateState> = {}): CertificateState => ({
    connection_id: 'conn_1',
    certificate_type: 'ResponseSigning',
    organization_id: 'org_1',
    expiry_date: new Date('2025-01-01T00:00:00.000Z'),
    is_expired: false,
    days_until_expiry: null,
    renewed_at: null,
    renewal_required_at: null,
    version_at: at(versionDay),
    source: 'event',
    last_event_id: 'event_before',
    fingerprint: null,
    subject: null,
    ...fields,
  });
  const cases = [
    { rule: '6: nothing stored: applied', day: 2, stored: undefined, fate: 'applied' },
    { rule: '6: newer than the stored certificate: applied', day: 3, stored: stored(2), fate: 'applied' },
    { rule: '6: tied with it: applied', day: 2, stored: stored(2), fate: 'applied' },
    { rule: '6: older than it: stale', day: 1, stored: stored(2), fate: 'stale' },
    {
      rule: '6: older than a listed row about another certificate: stale',
      day: 1,
      stored: stored(2, { source: 'listing' }),
      fate: 'stale',
    },
  ] as const;

  it.each(cases)('rule $rule', ({ day, stored: row, fate }) => {
    const renewal = certificateRenewed({ expiry_date: '2026-01-01T00:00:00.000Z', created_at: T(day) });
    const p = plan([renewal], snapshot({}, row ? [row] : []));
    expect(p.fates).toEqual([fate]);
    expect(p.certificates).toEqual(
      fate === 'applied'
        ? [expect.objectContaining({ version_at: at(day), source: 'event', renewed_at: at(day) })]
        : [],
    );
  });

  it('6 (refinement): an older notice about the very certificate a listing stored adds its timestamps, at the listed version', () => {
    const listed = stored(5, {
      source: 'listing',
      fingerprint: 'AB:CD',
      subject: 'CN=idp',
      last_event_id: null,
    });
    const notice = certificateRenewalRequired({
      expiry_date: '2025-01-01T00:00:00.000Z',
      created_at: T(2),
      days: 7,
    });
    const p = plan([notice], snapshot({}, [listed]));
    expect(p.fates).toEqual(['applied']);
    expect(p.certificates[0]).toMatchObject({
      version_at: at(5),
      source: 'listing',
      fingerprint: 'AB:CD',
      renewal_required_at: at(2),
      days_until_expiry: 7,
    });
  });

  it('6 (refinement): the same notice again changes nothing and is stale', () => {
    const listed = stored(5, { source: 'listing', renewal_required_at: at(2), days_until_expiry: 7 });
    const notice = certificateRenewalRequired({
      expiry_date: '2025-01-01T00:00:00.000Z',
      created_at: T(2),
      days: 7,
    });
    expect(plan([notice], snapshot({}, [listed])).fates).toEqual(['stale']);
  });
});

describe('the page fold', () => {
  it('decides each event against the mirror as the events before it left it, and keeps one write per row', () => {
    const p = plan([
      connectionEvent('connection.activated', { updated_at: T(5), name: 'v5' }),
      connectionEvent('connection.deactivated', { updated_at: T(7), name: 'v7' }),
      connectionEvent('connection.activated', { updated_at: T(6), name: 'v6' }),
    ]);
    expect(p.fates).toEqual(['applied', 'applied', 'stale']);
    expect(p.connections).toEqual([expect.objectContaining({ name: 'v7', state: 'inactive' })]);
  });

  it('a deletion after an upsert in the same page tombstones the planned row', () => {
    const p = plan([
      connectionEvent('connection.activated', { updated_at: T(5), name: 'v5' }),
      connectionEvent('connection.deleted', { updated_at: T(4), name: 'v4' }, { created_at: T(9) }),
      connectionEvent('connection.activated', { updated_at: T(8) }),
    ]);
    expect(p.fates).toEqual(['applied', 'applied', 'stale']);
    expect(p.connections).toEqual([expect.objectContaining({ name: 'v5', deleted_at: at(9) })]);
    expect(p.deletions).toEqual([]);
  });

  it('replaces the domain set only when the payload has one', () => {
    const withDomains = plan([
      connectionEvent('connection.activated', { updated_at: T(5), domains: [{ id: 'd1', domain: 'a.com' }] }),
    ]);
    expect(withDomains.domains.get('conn_1')).toEqual([{ id: 'd1', domain: 'a.com' }]);
    const without = plan([connectionEvent('connection.activated', { updated_at: T(5) })]);
    expect(without.domains.size).toBe(0);
  });

  it('an id already recorded, or seen earlier in the page, is a duplicate: not recorded again, not applied', () => {
    const a = connectionEvent('connection.activated', { updated_at: T(5) });
    const b = connectionEvent('connection.deactivated', { updated_at: T(6) });
    const seen = new Map<string, StoredEvent>([[String(b.id), { event: b.event, data: { other: true } }]]);
    const p = plan([a, a, b], snapshot(), seen);
    expect(p.fates).toEqual(['applied', 'duplicate', 'duplicate']);
    expect(p.records.map((r) => r.id)).toEqual([a.id]);
    expect(p.duplicates).toEqual([
      { id: a.id, differs: false },
      { id: b.id, differs: true },
    ]);
    expect(p.connections[0]).toMatchObject({ state: 'active' });
  });

  it('records every other event with its outcome, its data and context as sent, and why it was stale', () => {
    const good = connectionEvent('connection.activated', { updated_at: T(5) });
    const old = connectionEvent('connection.deactivated', { updated_at: T(4) });
    const unknown = rawEvent('user.created', { id: 'user_1' }, { created_at: T(6) });
    const invalid = rawEvent('connection.activated', { id: 'conn_2' }, { created_at: T(7) });
    const p = plan([good, old, unknown, invalid, 'not an object']);
    expect(p.records.map((r) => [r.outcome, r.error === null])).toEqual([
      ['applied', true],
      ['stale', false],
      ['ignored', true],
      ['quarantined', false],
      ['quarantined', false],
    ]);
    expect(p.records[0]).toMatchObject({ data: good.data, context: {}, created_at: at(5) });
    expect(p.records[1]!.error).toBe('the stored connection is newer');
    expect(p.records[3]!.error).toMatch(/data\.connection_type/);
    expect(p.records[4]).toMatchObject({
      event: '(unknown)',
      data: 'not an object',
      context: null,
      created_at: null,
    });
    expect(p.connections[0]!.raw).toEqual(good.data);
  });
});
