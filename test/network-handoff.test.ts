/**
 * Lease hand-offs under network faults: two `run` processes on one database, each through its own
 * proxy to Postgres (test/support/tcp-proxy.ts). A latency spike hits the holder's path just as
 * its batch begins: its renewals arrive late, the lease expires, the standby takes it and applies
 * the same events; when the spike ends, the former holder's batch — fetched after the cursor as it
 * was — reaches Postgres after the new holder's commit, and the cursor fence refuses it whole. And
 * the holder's Postgres blackholed: the standby takes over, the holder gives its lease up once its
 * renewals fail (the reply bound), and stands by after the heal. Each time nothing is applied
 * twice or lost, and both settle with one holder.
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
import { type PostgresWatch, postgresTarget, proxiedUrl, watchPostgres } from './support/postgres-wire.ts';
import { API_KEY } from './support/sync.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';
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

interface Pair {
  readonly model: WorkosModel;
  readonly emulatorUrl: string;
  readonly database: TestDatabase;
  readonly stream: Awaited<ReturnType<typeof recordStreamChanges>>;
  /** A's path to Postgres, and what it carries (read from A's first connection on). */
  readonly toA: TcpProxy;
  readonly wire: PostgresWatch;
  /** A holds the events lease and is caught up; B stands by. */
  readonly a: WorkerProcess;
  readonly b: WorkerProcess;
}

async function twoWorkers(seed: number, leaseSeconds: number): Promise<Pair> {
  const model = new WorkosModel({ seed });
  generateScenario(model, { seed, events: 150 });
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
  const wire = watchPostgres(toA);
  const env = (proxy: TcpProxy) => ({
    DATABASE_URL: proxiedUrl(database.url, proxy),
    WORKOS_API_KEY: API_KEY,
    WORKOS_API_URL: emulator.url,
    WORKOS_SYNC_LEASE_SECONDS: String(leaseSeconds),
  });
  const a = await startWorkerProcess(env(toA));
  closers.push(() => a.child.exitCode === null && a.child.kill('SIGKILL'));
  await caughtUp(database, model);
  expect(await leaseHeld(a)).toBe(1);
  const b = await startWorkerProcess(env(toB));
  closers.push(() => b.child.exitCode === null && b.child.kill('SIGKILL'));
  await until(async () => (await leaseHeld(b)) === 0, 10_000);
  return { model, emulatorUrl: emulator.url, database, stream, toA, wire, a, b };
}

/** B holds the events lease and has applied everything WorkOS holds. */
async function tookOverAndApplied(p: Pair): Promise<void> {
  await until(
    async () =>
      (await holderOf(p.database))?.includes(`:${p.b.child.pid}:`) === true &&
      (await readCursor(p.database.db)) === p.model.events().at(-1)?.id,
    30_000,
    () => `B never took over and applied:\n${p.b.logs()}`,
  );
}

/**
 * Settled: one holder, B, which goes on applying while A stands by; and nothing twice (no batch
 * moved the cursor from the same place twice, no poll found an event already recorded), nothing
 * lost (every event since `known` applied, once; the mirror a clean backfill's).
 */
async function expectSettledExactly(p: Pair, known: number): Promise<void> {
  await until(
    async () => (await leaseHeld(p.a)) === 0,
    30_000,
    () => p.a.logs(),
  );
  changeWorkos(p.model, 'settled.example');
  await caughtUp(p.database, p.model);
  expect(await holderOf(p.database)).toContain(`:${p.b.child.pid}:`);
  expect([await leaseHeld(p.a), await leaseHeld(p.b)]).toEqual([0, 1]);
  const moves = cursorMoves(await p.stream.changes());
  expect(new Set(moves.map((m) => m.split(' -> ')[0])).size).toBe(moves.length);
  expect(duplicatesApplied(p.a) + duplicatesApplied(p.b)).toBe(0);
  const ids = p.model.events().map((e) => String(e.id));
  const changed = ids.slice(known);
  expect(await outcomesOf(p.database, changed)).toEqual(changed.map(() => 'applied'));
  expect([p.a.child.exitCode, p.b.child.exitCode]).toEqual([null, null]);
  await expectSameAsCleanBackfill(p.database, p.emulatorUrl, ids);
}

it(
  'the holder`s batch delayed past its lease: the standby takes over and applies; the late batch is fenced, and one holder remains',
  { timeout: 120_000 },
  async () => {
    const p = await twoWorkers(61, LEASE_SECONDS);
    const { model, database, toA, wire, a } = p;

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
    await tookOverAndApplied(p);
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
      () => logLines(a.logs()).some((l) => /^lease (lost|taken over)/.test(String(l.msg))),
      30_000,
      () => a.logs(),
    );
    console.log(
      `latency spike, lease ${LEASE_SECONDS} s: B held the lease and had applied ${Math.round(takenAfterMs)} ms after A's batch began; A's batch then fenced`,
    );
    await expectSettledExactly(p, known);
  },
);

it(
  'the holder`s Postgres blackholed: the standby takes over and applies; the holder gives the lease up by itself, and after the heal stands by',
  { timeout: 120_000 },
  async () => {
    // Lease 3 s: the reply bound is 6 s, after which A's renewals fail instead of hanging.
    const p = await twoWorkers(62, 3);
    const known = p.model.events().length;
    p.toA.blackhole();
    const blackholedAt = performance.now();
    changeWorkos(p.model, 'blackhole.example');
    await tookOverAndApplied(p);
    const takenAfterMs = performance.now() - blackholedAt;
    await until(
      () =>
        logLines(p.a.logs()).some(
          (l) => l.msg === 'cannot renew the lease; stopping after the page in flight',
        ),
      30_000,
      () => p.a.logs(),
    );
    const gaveUpAfterMs = performance.now() - blackholedAt;
    console.log(
      `Postgres blackholed, lease 3 s: B took over and applied ${Math.round(takenAfterMs)} ms after, A gave the lease up after ${Math.round(gaveUpAfterMs)} ms`,
    );
    p.toA.heal();
    await expectSettledExactly(p, known);
  },
);
