/**
 * `backfill` as a library call against the emulator: a new mirror (no cursor, never reconciled)
 * starts from the listing, a mirror that is not new catches up from its cursor, and a backfill
 * stopped between its reconciliation and its first page does not reconcile again.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WorkosModel } from '../emulator/index.ts';
import { backfill, isNewMirror } from '../src/sync/backfill.ts';
import { reconcile } from '../src/sync/reconcile/reconcile.ts';
import { workosConnectionsSource } from '../src/workos/connections-source.ts';
import { workosEventsSource } from '../src/workos/events-source.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { noSecrets, silentLogger } from './support/logs.ts';
import { FAST_BACKOFF, type SyncHarness, startHarness } from './support/sync.ts';

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
  model = new WorkosModel({ seed: 4 });
  h = await startHarness({ model, database });
});
afterEach(() => h.close());

const deps = () => ({
  db: database.db,
  events: workosEventsSource(h.workos),
  connections: workosConnectionsSource(h.workos),
  log,
  scrub: noSecrets,
});
const runs = () => database.db.selectFrom('reconciliation_runs').select(['status', 'dry_run']).execute();

describe('backfill', () => {
  it('starts a new mirror from the listing, then applies the events; a second one only catches up', async () => {
    const draft = model.createConnection({ name: 'Draft, never in an event', state: 'draft' });
    model.activate(model.createConnection({ name: 'Active' }).id);
    expect(await isNewMirror(database.db)).toBe(true);

    const first = await backfill(deps(), { backoff: FAST_BACKOFF });
    expect(first.reconciliation?.counts).toMatchObject({ inserted: 2 });
    expect(first.totals).toMatchObject({ caughtUp: true, events: 1 });
    expect(
      await database.db.selectFrom('connections').select('id').where('id', '=', draft.id).execute(),
    ).toHaveLength(1);
    expect(await isNewMirror(database.db)).toBe(false);

    model.deactivate(String(model.liveConnections().find((c) => c.name === 'Active')!.id));
    const second = await backfill(deps(), { backoff: FAST_BACKOFF });
    expect(second.reconciliation).toBeNull();
    expect(second.totals).toMatchObject({ caughtUp: true, events: 1, applied: 1 });
    expect(await runs()).toHaveLength(1);
  });

  it('a mirror already reconciled but with no cursor yet (a backfill stopped before its first page) is not new', async () => {
    model.activate(model.createConnection().id);
    await reconcile({
      db: database.db,
      connections: workosConnectionsSource(h.workos),
      log,
      scrub: noSecrets,
    });
    expect(await isNewMirror(database.db)).toBe(false);
    const result = await backfill(deps(), { backoff: FAST_BACKOFF });
    expect(result.reconciliation).toBeNull();
    expect(result.totals.caughtUp).toBe(true);
    expect(await runs()).toEqual([{ status: 'succeeded', dry_run: false }]);
  });

  it('a bounded run (--max-pages) fetches no page past its bound and the next resumes exactly there', async () => {
    for (let i = 0; i < 50; i++) {
      const c = model.createConnection({ name: `Bounded ${i}` });
      for (let n = 0; n < 10; n++) n % 2 ? model.deactivate(c.id) : model.activate(c.id);
    }
    const all = model.events().map((e) => e.id); // 500 events: 5 pages
    const eventRequests = () => h.emulator.requests.filter((r) => r.path === '/events').length;

    const first = await backfill(deps(), { backoff: FAST_BACKOFF, maxPages: 2 });
    expect(first.totals).toMatchObject({ pages: 2, events: 200, caughtUp: false, cursor: all[199] });
    expect(eventRequests()).toBe(2);
    const second = await backfill(deps(), { backoff: FAST_BACKOFF, maxPages: 2 });
    expect(second.reconciliation).toBeNull();
    expect(second.totals).toMatchObject({ pages: 2, events: 200, caughtUp: false, cursor: all[399] });
    expect(eventRequests()).toBe(4);
    const rest = await backfill(deps(), { backoff: FAST_BACKOFF });
    expect(rest.totals).toMatchObject({ caughtUp: true, cursor: all.at(-1), duplicate: 0 });
    // Every event once, in the API's order.
    const recorded = await database.db.selectFrom('events').select('id').orderBy('seq').execute();
    expect(recorded.map((r) => r.id)).toEqual(all);
  });

  it('a dry run does not make a mirror old', async () => {
    model.createConnection();
    await reconcile(
      { db: database.db, connections: workosConnectionsSource(h.workos), log, scrub: noSecrets },
      { dryRun: true },
    );
    expect(await isNewMirror(database.db)).toBe(true);
  });
});
