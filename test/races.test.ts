/**
 * Races forced in the bad order (two connections, a barrier in the poller's transaction; see
 * support/barrier.ts), on a real Postgres through the real writers:
 * - a reconciliation inserts a row between the poller's snapshot (which could not lock a row that
 *   did not exist) and its write: the database's verdict decides the row, its domains, its
 *   certificate and every event's recorded outcome (`versions.ts`, rules 1, 4 and 6);
 * - a second writer with the same starting cursor waits on the fence, then must not commit.
 * The embedded database has one connection: these stay on the server.
 */
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WorkosModel } from '../emulator/index.ts';
import { CursorMovedError } from '../src/errors.ts';
import { applyPage } from '../src/sync/events/apply-page.ts';
import { readCursor } from '../src/sync/events/cursor.ts';
import { reconcile } from '../src/sync/reconcile/reconcile.ts';
import { workosConnectionsSource } from '../src/workos/connections-source.ts';
import { lockingReadOf, pauseAfter } from './support/barrier.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { certificateRenewed, connectionEvent } from './support/events.ts';
import { noSecrets, silentLogger } from './support/logs.ts';
import { type SyncHarness, startHarness } from './support/sync.ts';
import { until } from './support/worker-process.ts';

const log = silentLogger();
let database: TestDatabase;
let h: SyncHarness;
let model: WorkosModel;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.close());
beforeEach(async () => {
  await database.reset();
  model = new WorkosModel({ seed: 9 });
  h = await startHarness({ model, database });
});
afterEach(() => h.close());

type Db = TestDatabase['db'];

/** Applies `events` as the first page, through `handle` (a barrier's, or the plain one). */
function applyThrough(handle: { readonly db: Db }, events: Record<string, unknown>[]) {
  return applyPage(
    { db: handle.db, log },
    { expectedCursor: null, nextCursor: String(events.at(-1)!.id), events },
  );
}

const reconcileNow = () =>
  reconcile({ db: database.db, connections: workosConnectionsSource(h.workos), log, scrub: noSecrets });
const connection = (id: string) =>
  database.db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const domainsOf = async (id: string) =>
  (
    await database.db
      .selectFrom('connection_domains')
      .select('domain')
      .where('connection_id', '=', id)
      .orderBy('domain')
      .execute()
  ).map((d) => d.domain);
const eventRows = () =>
  database.db.selectFrom('events').select(['id', 'outcome', 'error']).orderBy('seq').execute();

/**
 * The poller reads its snapshot of `table` and stops there; a reconciliation then runs to its
 * commit on another connection; then the poller writes. Returns the poller's result.
 */
async function pollerRacedByReconciliation(table: string, events: Record<string, unknown>[]) {
  const barrier = pauseAfter(database.db, lockingReadOf(table));
  const poller = applyThrough(barrier, events);
  await barrier.reached;
  await reconcileNow();
  barrier.release();
  return poller;
}

describe('the events path obeys the database`s verdict (a row inserted after its snapshot)', () => {
  it('an older event loses to the listed row: row, domains and outcome are the listing`s', async () => {
    const listed = model.createConnection({ name: 'Listed', state: 'active', domains: ['listed.com'] });
    const older = connectionEvent('connection.deactivated', {
      id: listed.id,
      name: 'From an older event',
      updated_at: '2024-01-01T00:00:00.000Z',
      domains: [{ id: 'conn_domain_event', domain: 'event.com' }],
    });
    const summary = await pollerRacedByReconciliation('connections', [older]);
    expect(summary).toMatchObject({ applied: 0, stale: 1 });
    expect(await connection(listed.id)).toMatchObject({ name: 'Listed', state: 'active', source: 'listing' });
    expect(await domainsOf(listed.id)).toEqual(['listed.com']);
    expect(await eventRows()).toEqual([
      { id: older.id, outcome: 'stale', error: 'the stored connection is newer' },
    ]);
    expect(await readCursor(database.db)).toBe(older.id);
  });

  it('every event of the page that the listed row outdates is stale, in order', async () => {
    const listed = model.createConnection({ name: 'Listed', state: 'active', domains: ['listed.com'] });
    const first = connectionEvent('connection.activated', {
      id: listed.id,
      updated_at: '2024-01-01T00:00:00Z',
    });
    const second = connectionEvent('connection.deactivated', {
      id: listed.id,
      updated_at: '2024-01-02T00:00:00Z',
    });
    expect(await pollerRacedByReconciliation('connections', [first, second])).toMatchObject({ stale: 2 });
    expect((await connection(listed.id)).state).toBe('active');
    expect((await eventRows()).map((e) => e.outcome)).toEqual(['stale', 'stale']);
  });

  it('a newer event still wins over the listed row, with its own domains', async () => {
    const listed = model.createConnection({ name: 'Listed', state: 'active', domains: ['listed.com'] });
    const newer = connectionEvent('connection.deactivated', {
      id: listed.id,
      name: 'Newer',
      updated_at: '2099-01-01T00:00:00.000Z',
      domains: [{ id: 'conn_domain_newer', domain: 'newer.com' }],
    });
    expect(await pollerRacedByReconciliation('connections', [newer])).toMatchObject({ applied: 1 });
    expect(await connection(listed.id)).toMatchObject({ name: 'Newer', state: 'inactive', source: 'event' });
    expect(await domainsOf(listed.id)).toEqual(['newer.com']);
  });

  it('a deletion older than the listed row tombstones it and keeps the listed columns and domains', async () => {
    const listed = model.createConnection({ name: 'Listed', state: 'active', domains: ['listed.com'] });
    const deletion = connectionEvent(
      'connection.deleted',
      { id: listed.id, name: 'Before deletion', updated_at: '2024-01-01T00:00:00Z', domains: [] },
      { created_at: '2099-01-01T00:00:00.000Z' },
    );
    expect(await pollerRacedByReconciliation('connections', [deletion])).toMatchObject({ applied: 1 });
    const row = await connection(listed.id);
    expect(row).toMatchObject({ name: 'Listed', state: 'active', last_event_id: deletion.id });
    expect(row.deleted_at?.toISOString()).toBe('2099-01-01T00:00:00.000Z');
    expect(await domainsOf(listed.id)).toEqual(['listed.com']);
  });

  it('an older certificate event loses to the listed certificate', async () => {
    const saml = model.createConnection({
      connectionType: 'OktaSAML',
      signingCertificate: { notAfter: new Date('2029-01-01T00:00:00Z') },
    });
    const older = certificateRenewed({
      connection_id: saml.id,
      expiry_date: '2027-06-01T00:00:00.000Z',
      created_at: '2024-01-01T00:00:00.000Z',
    });
    const summary = await pollerRacedByReconciliation('connection_certificates', [older]);
    expect(summary).toMatchObject({ applied: 0, stale: 1 });
    const cert = await database.db
      .selectFrom('connection_certificates')
      .selectAll()
      .executeTakeFirstOrThrow();
    expect(cert).toMatchObject({ source: 'listing', renewed_at: null });
    expect(cert.expiry_date.toISOString()).toBe('2029-01-01T00:00:00.000Z');
    expect(await eventRows()).toEqual([
      { id: older.id, outcome: 'stale', error: 'the stored certificate is newer' },
    ]);
  });
});

describe('the cursor fence under concurrency (invariant 5)', () => {
  it('a second writer from the same cursor waits for the first, then commits nothing', async () => {
    const first = connectionEvent('connection.activated', {
      id: 'conn_fenced',
      updated_at: '2024-01-01T00:00:00Z',
    });
    const second = connectionEvent('connection.deactivated', {
      id: 'conn_fenced',
      updated_at: '2024-01-02T00:00:00Z',
    });
    const barrier = pauseAfter(database.db, lockingReadOf('connections'));
    const writer = applyThrough(barrier, [first]);
    await barrier.reached;
    const rival = applyThrough({ db: database.db }, [second]);
    const rivalOutcome = rival.then(
      () => 'committed',
      (error: unknown) => error,
    );
    // The rival is blocked on the cursor row the first writer holds.
    await until(
      async () => (await waitingOnLocks()) > 0,
      10_000,
      () => 'the rival never waited on the fence',
    );
    barrier.release();
    await writer;
    expect(await rivalOutcome).toBeInstanceOf(CursorMovedError);
    expect(await readCursor(database.db)).toBe(first.id);
    expect((await eventRows()).map((e) => e.id)).toEqual([first.id]);
    expect((await connection('conn_fenced')).state).toBe('active');
  });
});

async function waitingOnLocks(): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
    where datname = current_database() and wait_event_type = 'Lock'`.execute(database.db);
  return rows[0]!.n;
}
