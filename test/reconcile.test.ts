/**
 * Reconciliation against the emulator through the real SDK: every kind of drift, the snapshot
 * race, the resurrection rule, a listing that breaks off, and --dry-run.
 */
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CreateConnectionInput, WorkosModel } from '../emulator/index.ts';
import { applyPage } from '../src/sync/events/apply-page.ts';
import { readCursor } from '../src/sync/events/cursor.ts';
import { poll } from '../src/sync/poll.ts';
import { reconcile } from '../src/sync/reconcile/reconcile.ts';
import {
  type ConnectionPage,
  type ConnectionsSource,
  workosConnectionsSource,
} from '../src/workos/connections-source.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { noSecrets, silentLogger } from './support/logs.ts';
import { mirrorOf } from './support/mirror.ts';
import { insertConnectionRow, insertOldConnectionRow } from './support/rows.ts';
import { FAST_BACKOFF, type SyncHarness, startHarness } from './support/sync.ts';

const log = silentLogger();
let h: SyncHarness;
let model: WorkosModel;
let clock: number;

// A fresh WorkOS for each test; one database per file, emptied between tests.
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.close());
beforeEach(async () => {
  await database.reset();
  clock = Date.UTC(2026, 10, 1);
  model = new WorkosModel({
    seed: 5,
    clock: () => {
      clock += 1000;
      return new Date(clock);
    },
  });
  h = await startHarness({ model, database });
});
afterEach(() => h.close());

const source = (): ConnectionsSource => workosConnectionsSource(h.workos);
const sync = () => poll(h.deps(), { backoff: FAST_BACKOFF });
const reconcileWith = (options: { maxPages?: number } = {}) =>
  reconcile({ db: h.database.db, connections: source(), log, scrub: noSecrets }, options);
const reconcileFrom = (from: ConnectionsSource = source(), options?: { dryRun?: boolean }) =>
  reconcile({ db: h.database.db, connections: from, log, scrub: noSecrets }, options);
/** The emulator's listing, with `race` run after each page is fetched and before it is returned. */
const racingListing = (race: (page: ConnectionPage) => Promise<void>): ConnectionsSource => ({
  async listConnections(after) {
    const page = await source().listConnections(after);
    await race(page);
    return page;
  },
});
/** A connection created in the emulator and activated at once. */
const activeConnection = (input?: CreateConnectionInput) => {
  const c = model.createConnection(input);
  model.activate(c.id);
  return c;
};
const row = (id: string) =>
  h.database.db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirst();
const domainsOf = async (id: string) =>
  (
    await h.database.db
      .selectFrom('connection_domains')
      .select('domain')
      .where('connection_id', '=', id)
      .orderBy('domain')
      .execute()
  ).map((d) => d.domain);
const runRow = () => h.database.db.selectFrom('reconciliation_runs').selectAll().executeTakeFirstOrThrow();
const certificateRow = () =>
  h.database.db.selectFrom('connection_certificates').selectAll().executeTakeFirstOrThrow();

describe('drift', () => {
  it('finds and removes every kind: missing, draft, renamed, state, domains, extra', async () => {
    const renamed = model.createConnection({ name: 'Old name', domains: ['r.com'] });
    const flipped = model.createConnection({ domains: ['f.com'] });
    const moved = model.createConnection({ domains: ['m1.com'] });
    const steady = model.createConnection({ domains: ['s.com'] });
    for (const c of [renamed, flipped, moved, steady]) model.activate(c.id);
    await sync();

    const draft = model.createConnection({ name: 'Draft', state: 'draft', domains: ['d.com'] });
    const pending = model.createConnection({
      name: 'Needs type',
      state: 'requires_type',
      connectionType: 'Pending',
    });
    model.rename(renamed.id, 'New name');
    model.setState(flipped.id, 'validating');
    model.setDomains(moved.id, ['m1.com', 'm2.com']);
    await insertOldConnectionRow(h.database.db, { id: 'conn_gone', name: 'Gone' });

    const report = await reconcileFrom();
    expect(report.counts).toMatchObject({
      seen: 6,
      inserted: 2,
      updated: 3,
      deleted: 1,
      unchanged: 1,
      invalid: 0,
    });
    expect(report.drift.map((d) => `${d.kind} ${d.id}`).sort()).toEqual(
      [
        `inserted ${draft.id}`,
        `inserted ${pending.id}`,
        `updated ${renamed.id}`,
        `updated ${flipped.id}`,
        `updated ${moved.id}`,
        'deleted conn_gone',
      ].sort(),
    );
    expect(report.drift.find((d) => d.id === flipped.id)?.changes).toContain('state: active → validating');

    expect(await row(draft.id)).toMatchObject({
      state: 'draft',
      name: 'Draft',
      source: 'listing',
      deleted_at: null,
    });
    expect(await row(pending.id)).toMatchObject({ state: 'requires_type', connection_type: 'Pending' });
    expect((await row(renamed.id))?.name).toBe('New name');
    expect((await row(flipped.id))?.state).toBe('validating');
    expect(await domainsOf(moved.id)).toEqual(['m1.com', 'm2.com']);
    expect(await domainsOf(draft.id)).toEqual(['d.com']);
    expect((await row('conn_gone'))?.deleted_at?.getTime()).toBe(report.listedAt.getTime());

    const run = await runRow();
    expect(run).toMatchObject({
      status: 'succeeded',
      dry_run: false,
      seen: 6,
      inserted: 2,
      updated: 3,
      deleted: 1,
      unchanged: 1,
      error: null,
    });
    expect(run.finished_at).not.toBeNull();

    const again = await reconcileFrom();
    expect(again.counts).toMatchObject({ inserted: 0, updated: 0, deleted: 0, unchanged: 6 });
  });

  it('replaces the domains of more connections than one statement takes (1,000 rows)', async () => {
    const many = Array.from({ length: 1_201 }, (_, i) =>
      model.createConnection({ name: `Many ${i}`, domains: [`old-${i}.example`] }),
    );
    await reconcileFrom();
    for (const [i, c] of many.entries()) model.setDomains(c.id, [`new-${i}.example`]);

    const report = await reconcileFrom();
    expect(report.counts).toMatchObject({ seen: 1_201, updated: 1_201 });
    const domains = await h.database.db.selectFrom('connection_domains').select('domain').execute();
    expect(domains.length).toBe(1_201);
    expect(domains.filter((d) => d.domain.startsWith('old-'))).toEqual([]);
    expect(await domainsOf(many.at(-1)!.id)).toEqual(['new-1200.example']);
  });

  it('--dry-run reports the same drift and writes nothing, not even a run row', async () => {
    const c = activeConnection({ domains: ['a.com'] });
    await sync();
    model.rename(c.id, 'Renamed');
    model.createConnection({ state: 'draft' });
    const before = await mirrorOf(h.database.db);
    const dry = await reconcileFrom(source(), { dryRun: true });
    expect(dry.counts).toMatchObject({ inserted: 1, updated: 1, deleted: 0 });
    expect(dry.runId).toBeNull();
    expect(await mirrorOf(h.database.db)).toEqual(before);
    expect(await h.database.db.selectFrom('reconciliation_runs').selectAll().execute()).toEqual([]);
    const real = await reconcileFrom();
    expect(real.drift).toEqual(dry.drift);
  });
});

describe('races and rules', () => {
  it('an event applied while the listing is being fetched is not undone', async () => {
    const listed = activeConnection({ domains: ['l.com'] });
    await sync();

    // The listing is fetched; then, before the reconciliation writes, the poller applies events:
    // `listed` is deactivated (newer than what the listing saw) and a fresh connection is
    // created+activated (the listing never saw it).
    const racing = racingListing(async (page) => {
      if (page.after === null) {
        model.deactivate(listed.id);
        activeConnection({ domains: ['new.com'] });
        await sync();
      }
    });
    const report = await reconcileFrom(racing);
    expect(report.counts.deleted).toBe(0);
    expect((await row(listed.id))?.state).toBe('inactive');
    const live = await h.database.db.selectFrom('live_connections').select('id').execute();
    expect(live).toHaveLength(2);
  });

  it('a row written after the snapshot began is not deleted even though the listing lacks it', async () => {
    activeConnection();
    // written by "the poller" after the reconciliation took its start time
    const racing = racingListing(() =>
      insertConnectionRow(
        h.database.db,
        { id: 'conn_racer', name: 'Racer', updated_at: new Date() },
        { ignoreConflict: true },
      ),
    );
    const report = await reconcileFrom(racing);
    expect(report.counts.deleted).toBe(0);
    expect((await row('conn_racer'))?.deleted_at).toBeNull();
  });

  it('a tombstone comes back only when listed with an updated_at newer than its deletion', async () => {
    const c = activeConnection({ domains: ['t.com'] });
    await sync();
    // The mirror learns of a deletion at a time after the connection's last update …
    const deletedAt = new Date(Date.parse(String(model.getConnection(c.id).updated_at)) + 60_000);
    await h.database.db
      .updateTable('connections')
      .set({ deleted_at: deletedAt })
      .where('id', '=', c.id)
      .execute();
    // … so a listing that still shows the older version does not bring it back,
    let report = await reconcileFrom();
    expect(report.counts).toMatchObject({ updated: 0, unchanged: 1 });
    expect((await row(c.id))?.deleted_at).not.toBeNull();
    // but one updated after the deletion does.
    clock = deletedAt.getTime() + 60_000;
    model.rename(c.id, 'Back again');
    report = await reconcileFrom();
    expect(report.counts.updated).toBe(1);
    expect(await row(c.id)).toMatchObject({ deleted_at: null, name: 'Back again' });
  });

  it('a listing that breaks off half-way is recorded as failed and changes nothing', async () => {
    for (let i = 0; i < 250; i++) model.createConnection({ state: 'draft' });
    await insertOldConnectionRow(h.database.db, { id: 'conn_unlisted', name: 'Unlisted' });
    const before = await mirrorOf(h.database.db);
    let pages = 0;
    const breaking: ConnectionsSource = {
      async listConnections(after) {
        if (++pages === 2) h.emulator.faults.add({ kind: 'status', status: 500, path: '/connections' });
        return source().listConnections(after);
      },
    };
    await expect(reconcileFrom(breaking)).rejects.toThrow(/500/);
    expect(await mirrorOf(h.database.db)).toEqual(before);
    const run = await runRow();
    expect(run).toMatchObject({ status: 'failed', inserted: 0, deleted: 0 });
    expect(run.error).toMatch(/500/);
  });

  it('a listed connection that fails validation is counted and never deleted', async () => {
    const c = activeConnection();
    await sync();
    const broken: ConnectionsSource = {
      async listConnections(after) {
        const page = await source().listConnections(after);
        return {
          ...page,
          connections: page.connections.map((x) => ({ ...(x as object), updated_at: 'never' })),
        };
      },
    };
    const report = await reconcileFrom(broken);
    expect(report.counts).toMatchObject({ seen: 1, invalid: 1, deleted: 0 });
    expect((await row(c.id))?.deleted_at).toBeNull();
  });

  it('a listing with the same content but a newer version advances it (touched); older events replayed after it are stale', async () => {
    // A backfill killed after its first event, restarted: the mirror holds the first version,
    // WorkOS has since deactivated and re-activated the connection (same content, newer version).
    const c = activeConnection({ name: 'Acme', domains: ['acme.com'] });
    const firstPage = await h.workos.get<{ data: unknown[] }>('/events', {
      query: { order: 'asc', limit: 1 },
    });
    model.deactivate(c.id);
    model.activate(c.id);
    const [first] = firstPage.data.data;
    await applyPage(
      { db: h.database.db, log },
      { expectedCursor: null, nextCursor: String((first as { id: string }).id), events: [first] },
    );
    const before = await row(c.id);

    // The listing sees WorkOS two seconds on (its time is known to the second): surely after
    // both events.
    model.setClockOffset(2_000);
    const report = await reconcileFrom();
    expect(report.counts).toMatchObject({ touched: 1, updated: 0, unchanged: 0 });
    expect(report.drift).toEqual([]);
    const touched = await row(c.id);
    expect(touched?.updated_at.getTime()).toBe(Date.parse(String(model.getConnection(c.id).updated_at)));
    expect(touched!.updated_at.getTime()).toBeGreaterThan(before!.updated_at.getTime());
    expect((await runRow()).touched).toBe(1);

    // The deactivation is older than the version the listing stored: it never flips the row back;
    // the re-activation is that version, which the listing saw after it: nothing new either.
    const totals = await sync();
    expect(totals).toMatchObject({ stale: 2, applied: 0 });
    const outcomes = await h.database.db
      .selectFrom('events')
      .select(['event', 'outcome'])
      .orderBy('seq')
      .execute();
    expect(outcomes).toEqual([
      { event: 'connection.activated', outcome: 'applied' },
      { event: 'connection.deactivated', outcome: 'stale' },
      // the listing's own version, which it saw after this event (rule 1's tie)
      { event: 'connection.activated', outcome: 'stale' },
    ]);
    expect((await row(c.id))?.state).toBe('active');
  });

  it('a row written in the very millisecond the listing began is neither deleted nor reported deleted', async () => {
    activeConnection();
    // One microsecond after the run's start, as the database keeps it: the same millisecond.
    const racing = racingListing(async () => {
      await sql`insert into ${sql.id(h.database.schema, 'connections')}
          (environment, id, connection_type, name, state, updated_at, raw, source, synced_at)
        select 'default', 'conn_racer', 'OktaSAML', 'Racer', 'active', now(), '{}', 'event', started_at + interval '1 microsecond'
        from ${sql.id(h.database.schema, 'reconciliation_runs')} order by id desc limit 1
        on conflict do nothing`.execute(h.database.db);
    });
    const report = await reconcileFrom(racing);
    expect(report.counts.deleted).toBe(0);
    expect(report.drift.filter((d) => d.kind === 'deleted')).toEqual([]);
    expect((await row('conn_racer'))?.deleted_at).toBeNull();
    const dry = await reconcileFrom(source(), { dryRun: true });
    // Written before this second listing began: now it is drift.
    expect(dry.drift).toEqual([expect.objectContaining({ kind: 'deleted', id: 'conn_racer' })]);
  });

  it('backfill order: reconcile, then events; stale events do not undo the listing', async () => {
    const c = activeConnection({ name: 'v1', domains: ['b.com'] });
    model.rename(c.id, 'v2');
    await reconcileFrom();
    const totals = await sync();
    expect(totals).toMatchObject({ stale: 1, applied: 0 });
    expect((await row(c.id))?.name).toBe('v2');
    expect(await readCursor(h.database.db)).toBe(model.events().at(-1)!.id);
  });
});

describe('a reconciliation bounded to a number of pages (a pass over several runs)', () => {
  it('covers the listing run by run and deletes only at its end, sparing rows written since the pass began', async () => {
    for (let i = 0; i < 250; i++) model.createConnection({ name: `Listed ${i}`, state: 'draft' });
    await insertOldConnectionRow(h.database.db, { id: 'conn_gone', name: 'Gone' });
    const pass = () =>
      h.database.db
        .selectFrom('sync_state')
        .select(['cursor', 'pass_began_at'])
        .where('stream', '=', 'reconciliation')
        .executeTakeFirstOrThrow();

    const first = await reconcileWith({ maxPages: 1 });
    expect(first).toMatchObject({ pages: 1, listingComplete: false, counts: { inserted: 100, deleted: 0 } });
    expect((await pass()).cursor).not.toBeNull();
    // Written after the pass began, listed by none of its runs (a connection created meanwhile).
    await insertConnectionRow(h.database.db, { id: 'conn_racer', name: 'Racer', updated_at: new Date() });

    expect(await reconcileWith({ maxPages: 1 })).toMatchObject({
      listingComplete: false,
      counts: { inserted: 100 },
    });
    const last = await reconcileWith({ maxPages: 1 });
    expect(last).toMatchObject({ listingComplete: true, counts: { inserted: 50, deleted: 1 } });
    expect(last.drift.filter((d) => d.kind === 'deleted').map((d) => d.id)).toEqual(['conn_gone']);
    expect(await h.database.db.selectFrom('live_connections').select('id').execute()).toHaveLength(251);
    expect(await pass()).toEqual({ cursor: null, pass_began_at: null });
    expect(await h.database.db.selectFrom('reconciliation_pass_listed').selectAll().execute()).toEqual([]);
    const runs = await h.database.db
      .selectFrom('reconciliation_runs')
      .select('listing_complete')
      .orderBy('id')
      .execute();
    expect(runs.map((r) => r.listing_complete)).toEqual([false, false, true]);
  });

  it('an unbounded run is a pass of its own, and ends one under way', async () => {
    for (let i = 0; i < 150; i++) model.createConnection({ name: `Listed ${i}`, state: 'draft' });
    await reconcileWith({ maxPages: 1 });
    const whole = await reconcileWith();
    expect(whole).toMatchObject({ listingComplete: true, counts: { inserted: 50, unchanged: 100 } });
    expect(
      (
        await h.database.db
          .selectFrom('sync_state')
          .select('cursor')
          .where('stream', '=', 'reconciliation')
          .executeTakeFirstOrThrow()
      ).cursor,
    ).toBeNull();
  });
});

describe('certificates from the listing', () => {
  it('records every SAML connection`s signing certificate: expiry, fingerprint, subject', async () => {
    const notAfter = new Date(Date.now() + 20 * 86_400_000);
    notAfter.setUTCMilliseconds(0);
    const saml = model.createConnection({
      connectionType: 'OktaSAML',
      signingCertificate: { notAfter, subject: 'idp.acme.example' },
    });
    model.createConnection({ connectionType: 'GoogleOAuth' });
    model.createConnection({ connectionType: 'AzureSAML', signingCertificate: null });
    const report = await reconcileFrom();
    expect(report.counts).toMatchObject({ certificatesUpdated: 1, certificatesUnparsable: 0 });
    const cert = await certificateRow();
    expect(cert).toMatchObject({
      connection_id: saml.id,
      certificate_type: 'ResponseSigning',
      source: 'listing',
      is_expired: false,
    });
    expect(cert.expiry_date.toISOString()).toBe(notAfter.toISOString());
    expect(cert.subject).toBe('CN=idp.acme.example');
    expect(cert.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const expiring = await h.database.db.selectFrom('expiring_certificates').selectAll().execute();
    expect(expiring).toHaveLength(1);
    expect(expiring[0]?.days_left).toBe(19);

    const again = await reconcileFrom();
    expect(again.counts.certificatesUpdated).toBe(0);
  });

  it('an event newer than the listing keeps precedence', async () => {
    clock = Date.now(); // event times comparable with the database's clock
    const saml = model.createConnection({
      connectionType: 'OktaSAML',
      signingCertificate: { notAfter: new Date('2027-01-01T00:00:00Z') },
    });
    const racing = racingListing(async () => {
      model.renewCertificate(saml.id, 'ResponseSigning', new Date('2028-06-01T00:00:00Z'));
      await sync();
    });
    await reconcileFrom(racing);
    const cert = await certificateRow();
    expect(cert.expiry_date.toISOString()).toBe('2028-06-01T00:00:00.000Z');
    expect(cert.source).toBe('event');
  });

  it('an unparsable certificate is counted, never fatal', async () => {
    const saml = model.createConnection({ connectionType: 'OktaSAML' });
    model.setSigningCertificate(saml.id, { raw: 'not a pem' });
    const report = await reconcileFrom();
    expect(report.counts).toMatchObject({ inserted: 1, certificatesUnparsable: 1, certificatesUpdated: 0 });
    const run = await runRow();
    expect(run).toMatchObject({ status: 'succeeded', certificates_unparsable: 1 });
  });
});
