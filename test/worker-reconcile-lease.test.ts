/**
 * Every reconciliation a worker runs holds the `reconcile` lease, whatever started it: a new
 * mirror's first poll and a cursor recovery too, not only the schedule. While another replica
 * holds it (a row written here, standing in for that replica), the worker lists nothing; once it
 * is free, the worker reconciles and goes on. In-process `startWorker`, real Postgres, the
 * emulator over HTTP.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateScenario, WorkosModel } from '../emulator/index.ts';
import { readCursor } from '../src/sync/events/cursor.ts';
import { createMetrics } from '../src/worker/metrics.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { type ConnectionsSource, workosConnectionsSource } from '../src/workos/connections-source.ts';
import { workosEventsSource } from '../src/workos/events-source.ts';
import { type CapturedLogs, capturingLogger, noSecrets } from './support/logs.ts';
import { FAST_BACKOFF, type SyncHarness, startHarness } from './support/sync.ts';
import { until } from './support/worker-process.ts';

const DAY = 86_400_000;
let h: SyncHarness;
let worker: Worker | undefined;
let logs: CapturedLogs;
/** Lets a paused listing go, so a failed test still stops its worker. */
let releaseListing: (() => void) | undefined;

afterEach(async () => {
  releaseListing?.();
  releaseListing = undefined;
  await worker?.stop();
  worker = undefined;
  await h.close();
});

function start(connections: ConnectionsSource = workosConnectionsSource(h.workos)) {
  const db = h.database.db;
  logs = capturingLogger();
  worker = startWorker(
    {
      db,
      events: workosEventsSource(h.workos),
      connections,
      log: logs.log,
      scrub: noSecrets,
      metrics: createMetrics({ db, log: logs.log }),
    },
    {
      pollCron: '* * * * * *',
      reconcileCron: '0 0 1 1 *',
      holder: 'this-replica',
      leaseTtlMs: 3_000,
      backoff: FAST_BACKOFF,
      onFatal: (error) => {
        throw error;
      },
    },
  );
}

/** Another replica holds the reconcile lease (until the test deletes its row). */
const holdReconcileLease = () =>
  h.database.db
    .insertInto('leases')
    .values({
      name: 'reconcile',
      holder: 'another-replica',
      acquired_at: new Date(),
      expires_at: new Date(Date.now() + DAY),
    })
    .execute();
const freeReconcileLease = () => h.database.db.deleteFrom('leases').where('name', '=', 'reconcile').execute();
const listings = () => h.emulator.requests.filter((r) => r.path === '/connections').length;
const runs = () => h.database.db.selectFrom('reconciliation_runs').select('status').execute();
const linesSaying = (text: string) => logs.lines().filter((l) => String(l.msg).includes(text)).length;

/**
 * The real source, whose first listing call waits until the test releases it: `reached()` is true
 * once the reconciliation is about to list its first page, with whatever it holds still held.
 */
function pausingFirstListing(): { source: ConnectionsSource; reached(): boolean; release(): void } {
  const real = workosConnectionsSource(h.workos);
  let arrived = false;
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let first = true;
  releaseListing = () => release();
  return {
    reached: () => arrived,
    release,
    source: {
      async listConnections(after) {
        if (first) {
          first = false;
          arrived = true;
          await released;
        }
        return real.listConnections(after);
      },
    },
  };
}

describe('a new mirror`s first reconciliation', () => {
  beforeEach(async () => {
    const model = new WorkosModel({ seed: 14 });
    generateScenario(model, { seed: 14, events: 120 });
    h = await startHarness({ model });
  });

  it(
    'waits while another replica holds the reconcile lease, then runs under it',
    { timeout: 60_000 },
    async () => {
      await holdReconcileLease();
      const listing = pausingFirstListing();
      start(listing.source);
      // Two poll ticks that found the mirror new and the lease taken.
      await until(() => linesSaying('waiting for the reconciliation another replica') >= 2, 20_000);
      expect(listings()).toBe(0);
      expect(h.emulator.requests.filter((r) => r.path === '/events')).toEqual([]);
      expect(await runs()).toEqual([]);

      await freeReconcileLease();
      // The reconciliation, about to list its first page, holds the lease as this replica.
      await until(listing.reached, 20_000, () => 'the reconciliation never listed a page');
      expect(
        await h.database.db
          .selectFrom('leases')
          .select(['name', 'holder'])
          .where('name', '=', 'reconcile')
          .execute(),
      ).toEqual([{ name: 'reconcile', holder: 'this-replica' }]);
      expect(await runs()).toEqual([{ status: 'running' }]);
      listing.release();
      const last = h.emulator.model.events().at(-1)!.id;
      await until(async () => (await readCursor(h.database.db)) === last, 30_000);
      expect(await runs()).toEqual([{ status: 'succeeded' }]);
      // …and gave the lease back when it was done.
      expect(
        await h.database.db.selectFrom('leases').select('name').where('name', '=', 'reconcile').execute(),
      ).toEqual([]);
    },
  );
});

describe('a cursor recovery', () => {
  it(
    'waits for the reconcile lease before it reconciles and restarts the stream',
    { timeout: 60_000 },
    async () => {
      let now = Date.now() - 200 * DAY;
      const model = new WorkosModel({ seed: 15, clock: () => new Date(now), retentionMs: 90 * DAY });
      generateScenario(model, { seed: 15, events: 120, start: new Date(now - 5 * DAY), end: new Date(now) });
      h = await startHarness({ model });
      start();
      const last = model.events().at(-1)!.id;
      await until(async () => (await readCursor(h.database.db)) === last, 30_000);
      await worker!.stop();

      // The stored cursor falls out of retention; meanwhile another replica starts reconciling.
      now += 100 * DAY;
      model.activate(model.createConnection({ name: 'After the gap' }).id);
      await holdReconcileLease();
      const listedBefore = listings();
      start();
      await until(() => h.emulator.requests.some((r) => r.path === '/events' && r.status === 400), 20_000);
      // The recovery found the lease taken, and lists nothing while it waits.
      await until(() => linesSaying('waiting for the reconcile lease another replica holds') === 1, 20_000);
      expect(linesSaying('the Events API rejected the stored cursor')).toBe(1);
      expect(listings()).toBe(listedBefore);
      expect(await readCursor(h.database.db)).toBe(last);

      await freeReconcileLease();
      const newest = model.events().at(-1)!.id;
      await until(async () => (await readCursor(h.database.db)) === newest, 30_000);
      expect(listings()).toBeGreaterThan(listedBefore);
      expect((await runs()).map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    },
  );
});
