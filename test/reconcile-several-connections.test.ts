/**
 * A reconciliation and the poller writing the same rows at once: no deadlock, and the result is
 * exact. Needs several connections, so it runs on a Postgres server only (not the embedded one).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WorkosModel } from '../emulator/index.ts';
import { applyPage } from '../src/sync/events/apply-page.ts';
import { readCursor } from '../src/sync/events/cursor.ts';
import { reconcile } from '../src/sync/reconcile/reconcile.ts';
import { workosConnectionsSource } from '../src/workos/connections-source.ts';
import { noSecrets, silentLogger } from './support/logs.ts';
import { type SyncHarness, startHarness } from './support/sync.ts';

const log = silentLogger();
let h: SyncHarness;
let model: WorkosModel;
beforeAll(async () => {
  // One second between changes: ties in updated_at (two changes in one millisecond) are
  // ambiguous for any version rule, and are not what this test is about.
  let clock = Date.UTC(2026, 10, 1);
  model = new WorkosModel({
    seed: 6,
    clock: () => {
      clock += 1000;
      return new Date(clock);
    },
  });
  h = await startHarness({ model });
});
afterAll(() => h.close());
const source = () => workosConnectionsSource(h.workos);

it('applies pages on the same rows concurrently with a reconciliation without deadlock', async () => {
  for (let i = 0; i < 300; i++) model.activate(model.createConnection({ domains: [`c${i}.com`] }).id);
  for (const c of model.liveConnections().slice(0, 150)) model.rename(String(c.id), 'renamed');
  for (const c of model.liveConnections().slice(100, 250)) model.deactivate(String(c.id));
  const events = model.events();
  const [report] = await Promise.all([
    reconcile({ db: h.database.db, connections: source(), log, scrub: noSecrets }),
    (async () => {
      for (let i = 0; i < events.length; i += 100) {
        const page = events.slice(i, i + 100);
        await applyPage(
          { db: h.database.db, log },
          {
            expectedCursor: await readCursor(h.database.db),
            nextCursor: String(page.at(-1)!.id),
            events: page,
          },
        );
      }
    })(),
  ]);
  expect(report.counts.seen).toBe(300);
  const live = await h.database.db
    .selectFrom('connections')
    .select(['id', 'name', 'state'])
    .orderBy('id')
    .execute();
  const want = model
    .liveConnections()
    .map((c) => ({ id: c.id, name: c.name, state: c.state }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  // Whatever the interleaving, states are exact (events carry them); names are exact where the
  // listing won, and otherwise the next reconciliation brings them.
  expect(live.map((r) => r.state)).toEqual(want.map((c) => c.state));
  await reconcile({ db: h.database.db, connections: source(), log, scrub: noSecrets });
  expect(
    await h.database.db.selectFrom('connections').select(['id', 'name', 'state']).orderBy('id').execute(),
  ).toEqual(want);
});
