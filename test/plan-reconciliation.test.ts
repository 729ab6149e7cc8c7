/**
 * `planReconciliation`, pure, with no database: a listing and the mirror as stored → the drift and
 * the planned writes. One row per rule of `versions.ts` as reconciliation applies it (rules 1, 3,
 * 5 and 6), ties and tombstones included, plus what only reconciliation decides: "touched",
 * invalid listed items, and the listing's certificate.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { renderSigningCert } from '../emulator/signing-cert-pems.ts';
import type { CertificateState } from '../src/sync/mirror/rows.ts';
import { parseSigningCertificate } from '../src/sync/mirror/signing-cert.ts';
import {
  type Listing,
  planReconciliation,
  type ReconciliationPlan,
  type StoredConnection,
} from '../src/sync/reconcile/plan.ts';
import { connection } from '../src/workos/schemas.ts';

const T = (day: number) => `2024-01-${String(day).padStart(2, '0')}T00:00:00.000Z`;
const at = (day: number) => new Date(T(day));
const LISTED_AT = at(20);

interface Listed {
  readonly name?: string;
  readonly updated: number;
  readonly domains?: readonly string[];
  readonly pem?: string | null;
}

function listing(connections: Record<string, Listed>, invalidIds: string[] = []): Listing {
  return {
    connections: Object.entries(connections).map(([id, c]) => {
      const raw = {
        object: 'connection',
        id,
        organization_id: 'org_1',
        connection_type: 'OktaSAML',
        name: c.name ?? 'Acme',
        state: 'active',
        created_at: T(1),
        updated_at: T(c.updated),
        domains: (c.domains ?? ['acme.com']).map((domain) => ({
          id: `dom_${domain}`,
          object: 'connection_domain',
          domain,
        })),
        options: { signing_cert: c.pem ?? null },
      };
      return { connection: connection.parse(raw), raw, options: raw.options };
    }),
    invalidIds: new Set(invalidIds),
    invalid: invalidIds.length,
    listedAt: LISTED_AT,
  };
}

function stored(
  id: string,
  fields: {
    updated: number;
    deleted?: number;
    name?: string;
    domains?: readonly string[];
    writtenSince?: boolean;
  },
): [string, StoredConnection] {
  return [
    id,
    {
      id,
      organization_id: 'org_1',
      connection_type: 'OktaSAML',
      name: fields.name ?? 'Acme',
      state: 'active',
      updated_at: at(fields.updated),
      deleted_at: fields.deleted === undefined ? null : at(fields.deleted),
      observed_at: null,
      source: 'event',
      writtenSinceListingBegan: fields.writtenSince ?? false,
      domains: (fields.domains ?? ['acme.com']).map((d) => `dom_${d}=${d}`).sort(),
    },
  ];
}

function plan(
  list: Listing,
  rows: [string, StoredConnection][] = [],
  certificates: CertificateState[] = [],
): ReconciliationPlan {
  return planReconciliation(
    list,
    new Map(rows),
    new Map(certificates.map((c) => [c.connection_id, c])),
    LISTED_AT,
  );
}

/** What the plan does to `conn_1`. */
function verdict(p: ReconciliationPlan): string {
  const upsert = p.upserts.find((u) => u.row.id === 'conn_1');
  if (upsert) return upsert.kind;
  if (p.deletions.includes('conn_1')) return 'deleted';
  return 'nothing';
}

describe('a listed connection against the stored row (rules 1 and 3)', () => {
  const cases = [
    { rule: '1: not stored: inserted', listed: { updated: 5 }, row: undefined, does: 'inserted' },
    {
      rule: '1: newer and different: updated',
      listed: { updated: 6, name: 'New' },
      row: { updated: 5 },
      does: 'updated',
    },
    {
      rule: '1: tied and different: updated (ties go to the later write)',
      listed: { updated: 5, name: 'New' },
      row: { updated: 5 },
      does: 'updated',
    },
    {
      rule: '1: newer, same content: touched (the version advances)',
      listed: { updated: 6 },
      row: { updated: 5 },
      does: 'touched',
    },
    { rule: '1: tied, same content: nothing', listed: { updated: 5 }, row: { updated: 5 }, does: 'nothing' },
    {
      rule: '1: older and different: nothing (the mirror knows newer)',
      listed: { updated: 4, name: 'Old' },
      row: { updated: 5 },
      does: 'nothing',
    },
    {
      rule: '1: domains differ: updated',
      listed: { updated: 6, domains: ['b.com'] },
      row: { updated: 5 },
      does: 'updated',
    },
    {
      rule: '3: a tombstone listed newer than its deletion: restored',
      listed: { updated: 8 },
      row: { updated: 5, deleted: 7 },
      does: 'updated',
    },
    {
      rule: '3: a tombstone listed as old as its deletion: nothing',
      listed: { updated: 7 },
      row: { updated: 5, deleted: 7 },
      does: 'nothing',
    },
    {
      rule: '3: a tombstone listed older than its deletion: nothing',
      listed: { updated: 6, name: 'New' },
      row: { updated: 5, deleted: 7 },
      does: 'nothing',
    },
  ] as const;

  it.each(cases)('rule $rule', ({ listed, row, does }) => {
    const p = plan(listing({ conn_1: listed }), row ? [stored('conn_1', row)] : []);
    expect(verdict(p)).toBe(does);
    const counted = { inserted: 0, updated: 0, touched: 0, deleted: 0, unchanged: 0 };
    counted[does === 'nothing' ? 'unchanged' : does]++;
    expect(p.counts).toMatchObject({ seen: 1, ...counted });
    // Drift lists what differs: a touched row differs in its version only.
    expect(p.drift.map((d) => d.kind)).toEqual(does === 'nothing' || does === 'touched' ? [] : [does]);
  });

  it('an update says what changed; a restored tombstone says so', () => {
    const renamed = plan(listing({ conn_1: { updated: 6, name: 'New' } }), [
      stored('conn_1', { updated: 5 }),
    ]);
    expect(renamed.drift[0]!.changes).toEqual(['name: Acme → New', `updated_at: ${T(5)} → ${T(6)}`]);
    const restored = plan(listing({ conn_1: { updated: 8 } }), [
      stored('conn_1', { updated: 5, deleted: 7 }),
    ]);
    expect(restored.drift[0]!.changes[0]).toBe('restored: listed again after its deletion');
    expect(restored.upserts[0]!.row.deleted_at).toBeNull();
  });
});

describe('a stored row the listing lacks (rule 5)', () => {
  const cases = [
    { rule: '5: live, last written before the listing began: deleted', row: { updated: 5 }, does: 'deleted' },
    {
      rule: '5: live, written since the listing began: kept',
      row: { updated: 5, writtenSince: true },
      does: 'nothing',
    },
    { rule: '5: already a tombstone: nothing', row: { updated: 5, deleted: 6 }, does: 'nothing' },
  ] as const;

  it.each(cases)('rule $rule', ({ row, does }) => {
    const p = plan(listing({}), [stored('conn_1', row)]);
    expect(verdict(p)).toBe(does);
    expect(p.counts.deleted).toBe(does === 'deleted' ? 1 : 0);
    expect(p.drift.map((d) => `${d.kind} ${d.id}`)).toEqual(does === 'deleted' ? ['deleted conn_1'] : []);
  });

  it('5 (a bounded pass): a run that did not reach the listing`s end deletes nothing', () => {
    const p = planReconciliation(
      listing({}),
      new Map([stored('conn_1', { updated: 5 })]),
      new Map(),
      LISTED_AT,
      {
        reachedEnd: false,
        listedEarlier: new Set(),
      },
    );
    expect(verdict(p)).toBe('nothing');
  });

  it('5 (a bounded pass): the run that reaches the end spares what earlier runs of the pass listed', () => {
    const rows = new Map([stored('conn_1', { updated: 5 }), stored('conn_2', { updated: 5 })]);
    const p = planReconciliation(listing({}), rows, new Map(), LISTED_AT, {
      reachedEnd: true,
      listedEarlier: new Set(['conn_2']),
    });
    expect(p.deletions).toEqual(['conn_1']);
  });

  it('a listed item that failed validation exists: it is never deleted', () => {
    const p = plan(listing({}, ['conn_1']), [stored('conn_1', { updated: 5 })]);
    expect(verdict(p)).toBe('nothing');
    expect(p.counts).toMatchObject({ seen: 1, invalid: 1, deleted: 0 });
  });
});

describe('the listed signing certificate (rule 6), versioned at the listing`s time', () => {
  let pem: string;
  let fingerprint: string;
  const expiry = new Date('2030-06-01T00:00:00.000Z');
  beforeAll(async () => {
    pem = await renderSigningCert({ notAfter: expiry, subject: 'idp.acme.com' }, at(1))!;
    const parsed = parseSigningCertificate({ signing_cert: pem });
    if (parsed.status !== 'parsed') throw new Error('the test certificate does not parse');
    fingerprint = parsed.certificate.fingerprint;
  });
  const storedCertificate = (
    versionDay: number,
    fields: Partial<CertificateState> = {},
  ): CertificateState => ({
    connection_id: 'conn_1',
    certificate_type: 'ResponseSigning',
    organization_id: 'org_1',
    expiry_date: new Date('2025-01-01T00:00:00.000Z'),
    is_expired: false,
    days_until_expiry: null,
    renewed_at: at(2),
    renewal_required_at: null,
    version_at: at(versionDay),
    source: 'event',
    last_event_id: 'event_1',
    fingerprint: null,
    subject: null,
    ...fields,
  });

  it('6: none stored: learned, at the listing`s time', () => {
    const p = plan(listing({ conn_1: { updated: 5, pem } }));
    expect(p.certificates).toEqual([
      expect.objectContaining({
        version_at: LISTED_AT,
        source: 'listing',
        fingerprint,
        subject: 'CN=idp.acme.com',
      }),
    ]);
    expect(p.certificates[0]!.expiry_date).toEqual(expiry);
    expect(p.counts.certificatesUpdated).toBe(1);
  });

  it('6: stored older than the listing: replaced, keeping the notices an event recorded', () => {
    const p = plan(listing({ conn_1: { updated: 5, pem } }), [], [storedCertificate(19)]);
    expect(p.certificates).toEqual([expect.objectContaining({ version_at: LISTED_AT, renewed_at: at(2) })]);
  });

  it('6: stored as new as the listing: replaced (ties go to the later write)', () => {
    expect(
      plan(listing({ conn_1: { updated: 5, pem } }), [], [storedCertificate(20)]).certificates,
    ).toHaveLength(1);
  });

  it('6: stored newer than the listing (an event after it): kept', () => {
    const p = plan(listing({ conn_1: { updated: 5, pem } }), [], [storedCertificate(21)]);
    expect(p.certificates).toEqual([]);
    expect(p.counts.certificatesUpdated).toBe(0);
  });

  it('the very certificate already stored: nothing to write', () => {
    const same = storedCertificate(3, { fingerprint, subject: 'CN=idp.acme.com', expiry_date: expiry });
    expect(plan(listing({ conn_1: { updated: 5, pem } }), [], [same]).certificates).toEqual([]);
  });

  it('an unparsable certificate is counted and written nowhere', () => {
    const p = plan(listing({ conn_1: { updated: 5, pem: 'not a pem' } }));
    expect(p.certificates).toEqual([]);
    expect(p.counts).toMatchObject({ certificatesUnparsable: 1, inserted: 1 });
  });
});
