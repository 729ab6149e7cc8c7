/**
 * A latency spike during a lease hand-off: two `run` processes on one database, each through its
 * own proxy (test/support/tcp-proxy.ts). The spike hits the holder's path to Postgres just as its
 * batch begins: its lease renewals arrive late, the lease expires, the standby takes it and applies
 * the same events. When the spike ends, the former holder's batch — begun, fetched after the
 * cursor as it was — reaches Postgres after the new holder's commit, and the cursor fence refuses
 * it whole. Nothing is applied twice or lost, and both settle with one holder.
 */
import { afterEach, expect, it } from 'vitest';
import { generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { readCursor } from '../src/sync/events/cursor.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import {
  cursorMoves,
  expectSameAsCleanBackfill,
  logLines,
  outcomesOf,
  recordStreamChanges,
} from './support/fault-record.ts';
import { postgresTarget, proxiedUrl, watchPostgres } from './support/postgres-wire.ts';
import { API_KEY } from './support/sync.ts';
import { startTcpProxy } from './support/tcp-proxy.ts';
import { startWorkerProcess, until, type WorkerProcess } from './support/worker-process.ts';

const closers: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/**
 * Lease 6 s: renewed every 2 s, a reply bound of 12 s. The spike lasts about one lease period
 * (the expiry, the standby's next tick, its batch), inside the holder's reply bound: its delayed
 * statements are answered, not given up on.
 */
const LEASE_SECONDS = 6;

async function caughtUp(database: TestDatabase, model: WorkosModel): Promise<void> {
  await until(
    async () => (await readCursor(database.db).catch(() => null)) === model.events().at(-1)?.id,
    60_000,
    () => 'the cursor never reached the last event',
  );
}

function changeWorkos(model: WorkosModel, domain: string): void {
  model.activate(model.createConnection({ connectionType: 'OktaSAML', domains: [domain] }).id);
  for (const connection of model.liveConnections().slice(0, 3)) {
    if (connection.state === 'active') model.deactivate(String(connection.id));
    else model.activate(String(connection.id));
  }
}

const leaseHeld = (worker: WorkerProcess) => worker.metric('workos_sync_lease_held', { lease: 'events' });
const holderOf = async (database: TestDatabase) =>
  (await database.db.selectFrom('leases').select('holder').where('name', '=', 'events').executeTakeFirst())
    ?.holder;
const duplicatesApplied = (worker: WorkerProcess) =>
  logLines(worker.logs())
    .filter((l) => l.msg === 'poll applied events')
    .reduce((n, l) => n + Number(l.duplicate ?? 0), 0);

it(
  'the holder`s batch delayed past its lease: the standby takes over and applies; the late batch is fenced, and one holder remains',
  { timeout: 120_000 },
  async () => {
    const model = new WorkosModel({ seed: 61 });
    generateScenario(model, { seed: 61, events: 150 });
    const emulator = await startEmulator({ apiKey: API_KEY, model });
    closers.push(() => emulator.close());
    const database = await createTestDatabase();
    closers.push(() => database.close());
    const stream = await recordStreamChanges(database.whole);
    const [toA, toB] = [
      await startTcpProxy(postgresTarget(database.url)),
      await startTcpProxy(postgresTarget(database.url)),
    ];
    closers.push(
      () => toA.close(),
      () => toB.close(),
    );
    // Read from A's first connection on: a connection already open cannot be read.
    const wire = watchPostgres(toA);
    const env = (proxy: typeof toA) => ({
      DATABASE_URL: proxiedUrl(database.url, proxy),
      WORKOS_API_KEY: API_KEY,
      WORKOS_API_URL: emulator.url,
      WORKOS_SYNC_LEASE_SECONDS: String(LEASE_SECONDS),
    });
    const a = await startWorkerProcess(env(toA));
    closers.push(() => a.child.exitCode === null && a.child.kill('SIGKILL'));
    await caughtUp(database, model);
    expect(await leaseHeld(a)).toBe(1);
    const b = await startWorkerProcess(env(toB));
    closers.push(() => b.child.exitCode === null && b.child.kill('SIGKILL'));
    await until(async () => (await leaseHeld(b)) === 0, 10_000);

    // The spike starts as A's batch begins: its `begin` and everything A sends after it, its
    // renewals too, wait on the wire until the test ends the spike.
    const before = await readCursor(database.db);
    const known = model.events().length;
    const spiked = new Promise<number>((resolve) => {
      const stop = wire.onStatement((text) => {
        if (!text.startsWith('begin; set local idle_in_transaction_session_timeout')) return;
        stop();
        toA.latency({ toTarget: 120_000 });
        resolve(performance.now());
      });
    });
    changeWorkos(model, 'spike.example');
    const spikeAt = await spiked;

    // A's lease runs out unrenewed; B takes it and applies the batch A had begun.
    await until(
      async () =>
        (await holderOf(database))?.includes(`:${b.child.pid}:`) === true &&
        (await readCursor(database.db)) === model.events().at(-1)?.id,
      30_000,
      () => `B never took over and applied:\n${b.logs()}`,
    );
    const takenAfterMs = performance.now() - spikeAt;
    toA.latency({ toTarget: 0 });

    // The spike is over: A's batch reaches Postgres after B's commit, and the fence refuses it.
    const fenced = () =>
      logLines(a.logs()).find((l) => l.msg === 'another writer moved the cursor; continuing from it');
    await until(
      () => fenced() !== undefined,
      30_000,
      () => a.logs(),
    );
    expect((fenced()!.err as { message: string }).message).toBe(
      `the cursor moved from ${before} to ${model.events().at(-1)!.id} under this writer`,
    );
    // A learns it lost the lease, and stands by.
    await until(
      async () => (await leaseHeld(a)) === 0,
      30_000,
      () => a.logs(),
    );
    expect(logLines(a.logs()).map((l) => l.msg)).toContainEqual(
      expect.stringMatching(/^lease (lost|taken over)/),
    );
    console.log(
      `latency spike, lease ${LEASE_SECONDS} s: B held the lease and had applied ${Math.round(takenAfterMs)} ms after A's batch began; A's batch then fenced`,
    );

    // Settled: one holder, B, which goes on applying; A stays a standby.
    changeWorkos(model, 'after-spike.example');
    await caughtUp(database, model);
    expect(await holderOf(database)).toContain(`:${b.child.pid}:`);
    expect([await leaseHeld(a), await leaseHeld(b)]).toEqual([0, 1]);

    // Nothing twice: no batch moved the cursor from the same place twice, no poll found an event
    // already recorded; nothing lost: every event applied once, the mirror a clean backfill's.
    const moves = cursorMoves(await stream.changes());
    expect(new Set(moves.map((m) => m.split(' -> ')[0])).size).toBe(moves.length);
    expect(duplicatesApplied(a) + duplicatesApplied(b)).toBe(0);
    const ids = model.events().map((e) => String(e.id));
    const changed = ids.slice(known);
    expect(await outcomesOf(database, changed)).toEqual(changed.map(() => 'applied'));
    expect([a.child.exitCode, b.child.exitCode]).toEqual([null, null]);
    await expectSameAsCleanBackfill(database, emulator.url, ids);
  },
);
