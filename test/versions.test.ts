/**
 * `versions.ts`, one table per rule, run twice: through the predicate the planners decide with
 * (no database), and through the SQL guard of the real writer that carries it (`writeVersions` for
 * events, `writeReconciliation` for listings), called directly with a write the planner would not
 * always plan. The two layers enforce each rule separately, so each gets its own test: breaking
 * either one alone fails here.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { databaseNow } from '../src/db/clock.ts';
import type { PagePlan } from '../src/sync/events/plan-page.ts';
import { writeVersions } from '../src/sync/events/store.ts';
import type {
  CertificateState,
  ConnectionWrite,
  IncomingVersion,
  OrganizationDomainWrite,
  OrganizationWrite,
  RowVersion,
} from '../src/sync/mirror/rows.ts';
import {
  absentDomainRemoved,
  certificateTakes,
  deletionTakes,
  reconciliationDeletes,
  versionTakes,
  type Writer,
} from '../src/sync/mirror/versions.ts';
import { writeOrganizations } from '../src/sync/reconcile/organization-store.ts';
import type { ReconciliationPlan } from '../src/sync/reconcile/plan.ts';
import type { OrganizationPlan } from '../src/sync/reconcile/plan-organizations.ts';
import { loadStoredConnections, writeReconciliation } from '../src/sync/reconcile/store.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { insertConnectionRow } from './support/rows.ts';

const T1 = new Date('2024-01-01T00:00:00.000Z');
const T2 = new Date('2024-01-02T00:00:00.000Z');
const T3 = new Date('2024-01-03T00:00:00.000Z');
/** A live row at version `updated_at`, WorkOS seen so at `observed_at` (null: not known, as for rows older than it). */
const live = (
  updated_at: Date,
  observed_at: Date | null = null,
  source: RowVersion['source'] = 'event',
): RowVersion => ({ updated_at, deleted_at: null, observed_at, source });
const tombstone = (updated_at: Date, deleted_at: Date): RowVersion => ({
  updated_at,
  deleted_at,
  observed_at: null,
  source: 'event',
});
/** An incoming version, WorkOS seen so at `observed_at` (an event's time, a listing's). */
const seen = (updated_at: Date, observed_at: Date = updated_at): IncomingVersion => ({
  updated_at,
  observed_at,
});

interface ConnectionCase {
  readonly rule: string;
  readonly stored: RowVersion | undefined;
  readonly incoming: IncomingVersion;
  readonly writer: Writer;
  readonly takes: boolean;
}

/** Rules 1–3. */
const connectionCases: ConnectionCase[] = [
  {
    rule: '1: nothing stored: the incoming row is inserted',
    stored: undefined,
    incoming: seen(T1),
    writer: 'event',
    takes: true,
  },
  {
    rule: '1: an event newer than the live row wins',
    stored: live(T1),
    incoming: seen(T2),
    writer: 'event',
    takes: true,
  },
  {
    rule: '1: an event tied with the live row wins (ties go to the later write)',
    stored: live(T2),
    incoming: seen(T2),
    writer: 'event',
    takes: true,
  },
  {
    rule: '1: an event older than the live row loses',
    stored: live(T2),
    incoming: seen(T1),
    writer: 'event',
    takes: false,
  },
  {
    rule: '1: a listing newer than the live row wins',
    stored: live(T1),
    incoming: seen(T2),
    writer: 'listing',
    takes: true,
  },
  {
    rule: '1: a listing tied with the live row wins',
    stored: live(T2),
    incoming: seen(T2),
    writer: 'listing',
    takes: true,
  },
  {
    rule: '1: a listing older than the live row loses',
    stored: live(T2),
    incoming: seen(T1),
    writer: 'listing',
    takes: false,
  },
  {
    rule: '2: no event changes a tombstone, however new',
    stored: tombstone(T1, T2),
    incoming: seen(T3),
    writer: 'event',
    takes: false,
  },
  {
    rule: '3: a listing newer than the deletion brings the tombstone back',
    stored: tombstone(T1, T2),
    incoming: seen(T3),
    writer: 'listing',
    takes: true,
  },
  {
    rule: '3: a listing as old as the deletion does not',
    stored: tombstone(T1, T2),
    incoming: seen(T2),
    writer: 'listing',
    takes: false,
  },
  {
    rule: '3: a listing newer than the row but older than its deletion does not',
    stored: tombstone(T1, T3),
    incoming: seen(T2),
    writer: 'listing',
    takes: false,
  },
  {
    rule: '1: a tie, a listing that saw WorkOS after the event wins',
    stored: live(T2, T2, 'event'),
    incoming: seen(T2, T3),
    writer: 'listing',
    takes: true,
  },
  {
    rule: '1: a tie, a listing that may not have seen the event loses',
    stored: live(T2, T3, 'event'),
    incoming: seen(T2, T2),
    writer: 'listing',
    takes: false,
  },
  {
    rule: '1: a tie, an event replayed after a listing that saw WorkOS since loses',
    stored: live(T2, T3, 'listing'),
    incoming: seen(T2, T2),
    writer: 'event',
    takes: false,
  },
  {
    rule: '1: a tie, an event and a listing that saw WorkOS at the same instant: the later write',
    stored: live(T2, T3, 'listing'),
    incoming: seen(T2, T3),
    writer: 'event',
    takes: true,
  },
  {
    rule: '1: a tie between two events goes to the later write, whatever their times',
    stored: live(T2, T3, 'event'),
    incoming: seen(T2, T1),
    writer: 'event',
    takes: true,
  },
  {
    rule: '1: a tie between two listings goes to the later write',
    stored: live(T2, T3, 'listing'),
    incoming: seen(T2, T2),
    writer: 'listing',
    takes: true,
  },
  {
    rule: '1: a newer version wins whenever it was observed',
    stored: live(T1, T3, 'listing'),
    incoming: seen(T2, T2),
    writer: 'event',
    takes: true,
  },
];

/** Rules 2 and 4, for the tombstone-only write a deletion makes when the stored row is newer. */
const deletionCases = [
  { rule: '4: a deletion tombstones a live row', stored: live(T2), takes: true },
  { rule: '2: a deletion leaves a tombstone alone', stored: tombstone(T1, T2), takes: false },
] as const;

/** Rule 5. `synced` is when the row was last written, relative to when the listing began. */
const reconciliationDeletionCases = [
  {
    rule: '5: a live row last written before the listing began is deleted',
    synced: '-1 second',
    deleted: false,
    takes: true,
  },
  {
    rule: '5: a live row written at the instant the listing began is deleted',
    synced: '0',
    deleted: false,
    takes: true,
  },
  {
    rule: '5: a live row written one microsecond after the listing began is kept',
    synced: '1 microsecond',
    deleted: false,
    takes: false,
  },
  { rule: '5: a tombstone is not deleted again', synced: '-1 second', deleted: true, takes: false },
] as const;

/** Rule 6. */
const certificateCases = [
  { rule: '6: nothing stored: the certificate is inserted', stored: undefined, incoming: T1, takes: true },
  { rule: '6: newer news wins', stored: T1, incoming: T2, takes: true },
  {
    rule: '6: news as new as the stored certificate wins (ties go to the later write)',
    stored: T2,
    incoming: T2,
    takes: true,
  },
  { rule: '6: older news loses', stored: T2, incoming: T1, takes: false },
] as const;

/** Rule 7: a stored live domain an organization's payload (an event at T2) lacks. */
const absentDomainCases = [
  { rule: '7: changed before the payload`s time: removed', stored: live(T1), takes: true },
  { rule: '7: changed at the payload`s time: kept (newer than its list)', stored: live(T2), takes: false },
  { rule: '7: changed after it (created since): kept', stored: live(T3), takes: false },
  { rule: '7: a tombstone: left alone', stored: tombstone(T1, T1), takes: false },
] as const;

describe('the predicates the planners decide with', () => {
  it.each(absentDomainCases)('rule $rule', ({ stored, takes }) => {
    expect(absentDomainRemoved(stored, T2)).toBe(takes);
  });
  it.each(connectionCases)('rule $rule ($writer)', ({ stored, incoming, writer, takes }) => {
    expect(versionTakes(stored, incoming, writer)).toBe(takes);
  });
  it.each(deletionCases)('rule $rule', ({ stored, takes }) => {
    expect(deletionTakes(stored)).toBe(takes);
  });
  it('rules 2 and 4: a deletion of a row never seen applies', () => {
    expect(deletionTakes(undefined)).toBe(true);
  });
  it.each(reconciliationDeletionCases)('rule $rule', ({ synced, deleted, takes }) => {
    const writtenSinceListingBegan = synced === '1 microsecond';
    expect(reconciliationDeletes({ deleted_at: deleted ? T1 : null, writtenSinceListingBegan })).toBe(takes);
  });
  it.each(certificateCases)('rule $rule', ({ stored, incoming, takes }) => {
    expect(certificateTakes(stored === undefined ? undefined : { version_at: stored }, incoming)).toBe(takes);
  });
});

describe('the SQL guards the writers carry', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.close());
  beforeEach(() => t.reset());

  const stored = () =>
    t.db.selectFrom('connections').selectAll().where('id', '=', 'conn_v').executeTakeFirst();

  it.each(connectionCases)('rule $rule ($writer)', async ({ stored: version, incoming, writer, takes }) => {
    if (version) {
      await insertConnectionRow(t.db, {
        id: 'conn_v',
        name: 'Stored',
        updated_at: version.updated_at,
        deleted_at: version.deleted_at,
        observed_at: version.observed_at,
        source: version.source,
      });
    }
    const row = connectionWrite(incoming);
    const taken = await t.db.transaction().execute(async (trx) => {
      if (writer === 'event') {
        const refused = await writeVersions(trx, pagePlan({ connections: [row] }));
        return !refused.connections.includes(row.id);
      }
      const { written } = await writeReconciliation(
        trx,
        reconciliationPlan({ upserts: [{ row, domains: [], kind: 'updated' }] }),
        { began: await databaseNow(trx), at: T3 },
      );
      return written.has(row.id);
    });
    expect(taken).toBe(takes);
    const after = await stored();
    if (takes) expect(after).toMatchObject({ name: 'Incoming', deleted_at: null, ...incoming });
    else expect(after).toMatchObject({ name: 'Stored', deleted_at: version?.deleted_at ?? null });
  });

  it.each(deletionCases)('rule $rule', async ({ stored: version, takes }) => {
    await insertConnectionRow(t.db, {
      id: 'conn_v',
      name: 'Stored',
      updated_at: version.updated_at,
      deleted_at: version.deleted_at,
    });
    const refused = await t.db
      .transaction()
      .execute((trx) =>
        writeVersions(
          trx,
          pagePlan({ deletions: [{ id: 'conn_v', deleted_at: T3, last_event_id: 'event_v' }] }),
        ),
      );
    expect(refused.connections.includes('conn_v')).toBe(!takes);
    expect((await stored())?.deleted_at).toEqual(takes ? T3 : version.deleted_at);
  });

  it.each(reconciliationDeletionCases)('rule $rule', async ({ synced, deleted, takes }) => {
    const began = await databaseNow(t.db);
    await insertConnectionRow(t.db, {
      id: 'conn_v',
      name: 'Stored',
      updated_at: T1,
      deleted_at: deleted ? T1 : null,
    });
    await t.db
      .updateTable('connections')
      .set({ synced_at: sql<Date>`${began}::timestamptz + ${synced}::interval` })
      .execute();
    // What the planner is told, decided by the database to the microsecond.
    const loaded = await loadStoredConnections(t.db, began);
    expect(loaded.get('conn_v')?.writtenSinceListingBegan).toBe(synced === '1 microsecond');

    const { counts } = await t.db
      .transaction()
      .execute((trx) =>
        writeReconciliation(trx, reconciliationPlan({ deletions: ['conn_v'] }), { began, at: T3 }),
      );
    expect(counts.deleted).toBe(takes ? 1 : 0);
    expect((await stored())?.deleted_at).toEqual(takes ? T3 : deleted ? T1 : null);
  });

  it('rule 5: the tombstone is never older than the version it deletes', async () => {
    const began = await databaseNow(t.db);
    await insertConnectionRow(t.db, { id: 'conn_v', name: 'Stored', updated_at: T3, synced_at: T1 });
    await t.db
      .transaction()
      .execute((trx) =>
        writeReconciliation(trx, reconciliationPlan({ deletions: ['conn_v'] }), { began, at: T2 }),
      );
    expect((await stored())?.deleted_at).toEqual(T3);
  });

  describe.each(['event', 'listing'] as const)('certificates, written by the %s path', (writer) => {
    it.each(certificateCases)('rule $rule', async ({ stored: version, incoming, takes }) => {
      if (version)
        await t.db.insertInto('connection_certificates').values(certificate(version, 'Stored')).execute();
      const row = certificate(incoming, 'Incoming');
      const taken = await t.db.transaction().execute(async (trx) => {
        if (writer === 'event')
          return (await writeVersions(trx, pagePlan({ certificates: [row] }))).certificates.length === 0;
        const { counts } = await writeReconciliation(trx, reconciliationPlan({ certificates: [row] }), {
          began: await databaseNow(trx),
          at: T3,
        });
        return counts.certificatesUpdated === 1;
      });
      expect(taken).toBe(takes);
      const after = await t.db.selectFrom('connection_certificates').selectAll().executeTakeFirstOrThrow();
      expect(after.subject).toBe(takes ? 'Incoming' : 'Stored');
    });
  });
});

describe('the SQL guards, for organizations and their domains', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.close());
  beforeEach(() => t.reset());

  const storeOrganization = (version: RowVersion) =>
    t.db
      .insertInto('organizations')
      .values({
        ...organizationWrite(seen(version.updated_at)),
        name: 'Stored',
        deleted_at: version.deleted_at,
        observed_at: version.observed_at,
        raw: '{}',
        source: version.source,
      })
      .execute();
  const storeDomain = (version: RowVersion, fields: Partial<OrganizationDomainWrite> = {}) =>
    t.db
      .insertInto('organization_domains')
      .values({
        ...domainWrite(seen(version.updated_at)),
        state: 'stored',
        deleted_at: version.deleted_at,
        observed_at: version.observed_at,
        source: version.source,
        ...fields,
      })
      .execute();
  const organization = () => t.db.selectFrom('organizations').selectAll().executeTakeFirst();
  const domain = () =>
    t.db.selectFrom('organization_domains').selectAll().where('id', '=', 'org_domain_v').executeTakeFirst();

  it.each(connectionCases)(
    'organizations: rule $rule ($writer)',
    async ({ stored: version, incoming, writer, takes }) => {
      if (version) await storeOrganization(version);
      const row = organizationWrite(incoming);
      const taken = await t.db.transaction().execute(async (trx) => {
        if (writer === 'event')
          return !(await writeVersions(trx, pagePlan({ organizations: [row] }))).organizations.includes(
            row.id,
          );
        const written = await writeOrganizations(
          trx,
          organizationPlan({ organizations: [{ row, kind: 'updated' }] }),
          {
            began: await databaseNow(trx),
            at: T3,
          },
        );
        return written.organizations.has(row.id);
      });
      expect(taken).toBe(takes);
      expect(await organization()).toMatchObject(
        takes
          ? { name: 'Incoming', deleted_at: null, ...incoming }
          : { name: 'Stored', deleted_at: version?.deleted_at ?? null },
      );
    },
  );

  it.each(connectionCases)(
    'domains: rule $rule ($writer)',
    async ({ stored: version, incoming, writer, takes }) => {
      if (version) await storeDomain(version);
      const row = domainWrite(incoming);
      const taken = await t.db.transaction().execute(async (trx) => {
        if (writer === 'event')
          return !(await writeVersions(trx, pagePlan({ organizationDomains: [row] }))).domains.includes(
            row.id,
          );
        const written = await writeOrganizations(
          trx,
          organizationPlan({ domains: [{ row, kind: 'updated' }] }),
          {
            began: await databaseNow(trx),
            at: T3,
          },
        );
        return written.domains.has(row.id);
      });
      expect(taken).toBe(takes);
      expect(await domain()).toMatchObject(
        takes
          ? { state: 'verified', deleted_at: null, ...incoming }
          : { state: 'stored', deleted_at: version?.deleted_at ?? null },
      );
    },
  );

  it.each(deletionCases)('organizations: rule $rule', async ({ stored: version, takes }) => {
    await storeOrganization(version);
    const refused = await t.db
      .transaction()
      .execute((trx) =>
        writeVersions(
          trx,
          pagePlan({ organizationDeletions: [{ id: 'org_v', deleted_at: T3, last_event_id: 'event_v' }] }),
        ),
      );
    expect(refused.organizations.includes('org_v')).toBe(!takes);
    expect((await organization())?.deleted_at).toEqual(takes ? T3 : version.deleted_at);
  });

  it.each(deletionCases)('domains: rule $rule', async ({ stored: version, takes }) => {
    await storeDomain(version);
    const refused = await t.db.transaction().execute((trx) =>
      writeVersions(
        trx,
        pagePlan({
          domainDeletions: [{ id: 'org_domain_v', deleted_at: T3, last_event_id: 'event_v', absent: false }],
        }),
      ),
    );
    expect(refused.domains.includes('org_domain_v')).toBe(!takes);
    expect((await domain())?.deleted_at).toEqual(takes ? T3 : version.deleted_at);
  });

  it.each(absentDomainCases)('domains: rule $rule', async ({ stored: version, takes }) => {
    await storeDomain(version);
    const refused = await t.db.transaction().execute((trx) =>
      writeVersions(
        trx,
        pagePlan({
          domainDeletions: [{ id: 'org_domain_v', deleted_at: T2, last_event_id: 'event_v', absent: true }],
        }),
      ),
    );
    expect(refused.domains.includes('org_domain_v')).toBe(!takes);
    expect((await domain())?.deleted_at).toEqual(takes ? T2 : version.deleted_at);
  });

  it.each(reconciliationDeletionCases)(
    'organizations and domains: rule $rule',
    async ({ synced, deleted, takes }) => {
      const began = await databaseNow(t.db);
      await storeOrganization({
        updated_at: T1,
        deleted_at: deleted ? T1 : null,
        observed_at: null,
        source: 'event',
      });
      await storeDomain({
        updated_at: T1,
        deleted_at: deleted ? T1 : null,
        observed_at: null,
        source: 'event',
      });
      for (const table of ['organizations', 'organization_domains'] as const)
        await t.db
          .updateTable(table)
          .set({ synced_at: sql<Date>`${began}::timestamptz + ${synced}::interval` })
          .execute();
      const written = await t.db.transaction().execute((trx) =>
        writeOrganizations(
          trx,
          organizationPlan({ organizationDeletions: ['org_v'], domainDeletions: ['org_domain_v'] }),
          {
            began,
            at: T3,
          },
        ),
      );
      expect(written.counts.organizations.deleted).toBe(takes ? 1 : 0);
      expect(written.counts.domains.deleted).toBe(takes ? 1 : 0);
      expect((await organization())?.deleted_at).toEqual(takes ? T3 : deleted ? T1 : null);
      expect((await domain())?.deleted_at).toEqual(takes ? T3 : deleted ? T1 : null);
    },
  );

  it("rule 5: a listing of one organization's connections tombstones no row of another", async () => {
    await insertConnectionRow(t.db, {
      id: 'conn_mine',
      name: 'Mine',
      organization_id: 'org_v',
      updated_at: T1,
      synced_at: T1,
    });
    await insertConnectionRow(t.db, {
      id: 'conn_theirs',
      name: 'Theirs',
      organization_id: 'org_w',
      updated_at: T1,
      synced_at: T1,
    });
    const began = await databaseNow(t.db);
    const { counts } = await t.db.transaction().execute((trx) =>
      writeReconciliation(trx, reconciliationPlan({ deletions: ['conn_mine', 'conn_theirs'] }), {
        began,
        at: T3,
        organizationId: 'org_v',
      }),
    );
    expect(counts.deleted).toBe(1);
    const rows = await t.db.selectFrom('connections').select(['id', 'deleted_at']).orderBy('id').execute();
    expect(rows).toEqual([
      { id: 'conn_mine', deleted_at: T3 },
      { id: 'conn_theirs', deleted_at: null },
    ]);
  });
});

function organizationWrite(version: IncomingVersion): OrganizationWrite {
  return {
    id: 'org_v',
    name: 'Incoming',
    external_id: null,
    created_at: T1,
    deleted_at: null,
    raw: {},
    last_event_id: null,
    ...version,
  };
}

function domainWrite(version: IncomingVersion): OrganizationDomainWrite {
  return {
    id: 'org_domain_v',
    organization_id: 'org_v',
    domain: 'v.example',
    state: 'verified',
    verification_strategy: 'dns',
    created_at: T1,
    deleted_at: null,
    last_event_id: null,
    ...version,
  };
}

function organizationPlan(writes: Partial<OrganizationPlan>): OrganizationPlan {
  const none = { seen: 0, inserted: 0, updated: 0, deleted: 0 };
  return {
    organizations: [],
    domains: [],
    organizationDeletions: [],
    domainDeletions: [],
    drift: [],
    counts: { organizations: none, domains: none },
    ...writes,
  };
}

function connectionWrite(fields: IncomingVersion): ConnectionWrite {
  return {
    id: 'conn_v',
    organization_id: 'org_v',
    connection_type: 'OktaSAML',
    name: 'Incoming',
    state: 'active',
    created_at: T1,
    deleted_at: null,
    raw: {},
    last_event_id: null,
    ...fields,
  };
}

function certificate(versionAt: Date, subject: string): CertificateState {
  return {
    connection_id: 'conn_v',
    certificate_type: 'ResponseSigning',
    organization_id: 'org_v',
    expiry_date: new Date('2030-01-01T00:00:00Z'),
    is_expired: false,
    days_until_expiry: null,
    renewed_at: null,
    renewal_required_at: null,
    version_at: versionAt,
    source: 'event',
    last_event_id: null,
    fingerprint: null,
    subject,
  };
}

function pagePlan(writes: Partial<PagePlan>): PagePlan {
  return {
    records: [],
    connections: [],
    deletions: [],
    domains: new Map(),
    certificates: [],
    organizations: [],
    organizationDeletions: [],
    organizationDomains: [],
    domainDeletions: [],
    writers: new Map(),
    duplicates: [],
    fates: [],
    ...writes,
  };
}

function reconciliationPlan(
  writes: Partial<Pick<ReconciliationPlan, 'upserts' | 'deletions' | 'certificates'>>,
): ReconciliationPlan {
  return {
    upserts: [],
    deletions: [],
    certificates: [],
    drift: [],
    counts: {
      seen: 0,
      inserted: 0,
      updated: 0,
      touched: 0,
      deleted: 0,
      unchanged: 0,
      invalid: 0,
      certificatesUpdated: 0,
      certificatesUnparsable: 0,
    },
    ...writes,
  };
}
