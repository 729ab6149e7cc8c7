/**
 * `workos-sync run` in a child process, its Postgres behind a proxy the test controls
 * (test/support/tcp-proxy.ts), the emulator over real HTTP: a connection cut while a batch
 * commits, either side of the COMMIT, and a connection gone half-open in the middle of a batch's
 * statement. Each bad order is forced on the wire, at the statement itself. In each, the worker
 * waits the failure out by itself, records it, and ends with every event once, the cursor at the
 * last one and the mirror an uninterrupted backfill gives.
 */
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { readCursor } from '../src/sync/events/cursor.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import {
  cursorMoves,
  expectSameAsCleanBackfill,
  logLines,
  outcomesOf,
  pollErrors,
  recordStreamChanges,
} from './support/fault-record.ts';
import { type PostgresWatch, postgresTarget, proxiedUrl, watchPostgres } from './support/postgres-wire.ts';
import { API_KEY } from './support/sync.ts';
import { type ProxiedConnection, startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';
import { startWorkerProcess, until, type WorkerProcess } from './support/worker-process.ts';

const closers: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

interface Setup {
  readonly model: WorkosModel;
  readonly emulator: Emulator;
  readonly database: TestDatabase;
  readonly proxy: TcpProxy;
  readonly wire: PostgresWatch;
  readonly stream: Awaited<ReturnType<typeof recordStreamChanges>>;
  readonly worker: WorkerProcess;
}

/** A worker caught up on a small scenario, its database reached only through the proxy. */
async function setup(seed: number, env: Record<string, string> = {}): Promise<Setup> {
  const model = new WorkosModel({ seed });
  generateScenario(model, { seed, events: 150 });
  const emulator = await startEmulator({ apiKey: API_KEY, model });
  closers.push(() => emulator.close());
  const database = await createTestDatabase();
  closers.push(() => database.close());
  const stream = await recordStreamChanges(database.whole);
  const proxy = await startTcpProxy(postgresTarget(database.url));
  closers.push(() => proxy.close());
  const wire = watchPostgres(proxy);
  const worker = await startWorkerProcess({
    DATABASE_URL: proxiedUrl(database.url, proxy),
    WORKOS_API_KEY: API_KEY,
    WORKOS_API_URL: emulator.url,
    ...env,
  });
  closers.push(() => worker.child.exitCode === null && worker.child.kill('SIGKILL'));
  await caughtUp(database, model);
  return { model, emulator, database, proxy, wire, stream, worker };
}

async function caughtUp(database: TestDatabase, model: WorkosModel, timeoutMs = 60_000): Promise<void> {
  await until(
    async () => (await readCursor(database.db).catch(() => null)) === model.events().at(-1)?.id,
    timeoutMs,
    () => 'the cursor never reached the last event',
  );
}

/** WorkOS changes: a new connection activated, three others toggled (a few events, one batch). */
function changeWorkos(model: WorkosModel): void {
  model.activate(model.createConnection({ connectionType: 'OktaSAML', domains: ['net.example'] }).id);
  for (const connection of model.liveConnections().slice(0, 3)) {
    if (connection.state === 'active') model.deactivate(String(connection.id));
    else model.activate(String(connection.id));
  }
}

/**
 * At the first statement `picks` — a COMMIT only if its transaction moved the cursor: a batch's —
 * runs `act` on its connection before the proxy forwards the statement, and resolves with it.
 */
function inBatch(
  wire: PostgresWatch,
  picks: (sql: string) => boolean,
  act: (connection: ProxiedConnection) => void,
): Promise<ProxiedConnection> {
  const movedCursor = new WeakSet<ProxiedConnection>();
  return new Promise((resolve) => {
    const stop = wire.onStatement((text, connection) => {
      if (CURSOR_UPDATE.test(text)) movedCursor.add(connection);
      if (!picks(text) || (isCommit(text) && !movedCursor.has(connection))) return;
      stop();
      act(connection);
      resolve(connection);
    });
  });
}

const eventIds = (model: WorkosModel) => model.events().map((e) => String(e.id));
const lastEventId = (model: WorkosModel) => String(model.events().at(-1)!.id);

const CURSOR_UPDATE = /^update "workos"\."sync_state" set "cursor"/;
const isCommit = (text: string) => text.trim().toLowerCase() === 'commit';

/** Whether a failure was recorded, and the last record clears it. */
async function errorCleared(s: Setup): Promise<boolean> {
  const errors = pollErrors(await s.stream.changes());
  return errors.length >= 2 && errors.at(-1) === null;
}

/** The log lines of a poll starting to wait out a failure (one per change of kind). */
function waits(worker: WorkerProcess) {
  return logLines(worker.logs()).filter((l) => l.msg === 'waiting out a transient failure');
}
/** Events the worker's polls found already recorded: each one a page applied twice. */
const duplicatesApplied = (worker: WorkerProcess) =>
  logLines(worker.logs())
    .filter((l) => l.msg === 'poll applied events')
    .reduce((n, l) => n + Number(l.duplicate ?? 0), 0);

describe('a connection cut while a batch commits', () => {
  it(
    'before the COMMIT reaches Postgres: nothing of the batch committed; the next attempt applies it once',
    { timeout: 90_000 },
    async () => {
      const s = await setup(41);
      const before = await readCursor(s.database.db);
      const cut = inBatch(s.wire, isCommit, (connection) => connection.cut());
      const known = s.model.events().length;
      changeWorkos(s.model);
      const connection = await cut;
      expect(connection.forwarded.toTarget).toBeLessThan(connection.received.toTarget);
      await caughtUp(s.database, s.model);

      // The cursor moved once from where the failed batch started, straight to the end: the batch
      // rolled back whole, and the next attempt (on a fresh connection) applied all of it.
      const changes = await s.stream.changes();
      const moves = cursorMoves(changes);
      expect(moves.at(-1)).toBe(`${before} -> ${lastEventId(s.model)}`);
      expect(moves.filter((m) => m.startsWith(`${before} `))).toHaveLength(1);
      // Recorded while it waited (before the batch applied), then cleared; said once in the log.
      expect(pollErrors(changes)).toEqual([
        expect.stringMatching(/^database unavailable: Connection terminated unexpectedly/),
        null,
      ]);
      expect(changes.findIndex((c) => c.kind === 'error')).toBeLessThan(changes.length - 2);
      expect(waits(s.worker)).toEqual([expect.objectContaining({ kind: 'database' })]);
      expect(logLines(s.worker.logs()).map((l) => l.msg)).toContain('recovered; caught up again');
      expect(duplicatesApplied(s.worker)).toBe(0);
      expect(s.worker.child.exitCode).toBeNull();
      const changed = eventIds(s.model).slice(known);
      expect(await outcomesOf(s.database, changed)).toEqual(changed.map(() => 'applied'));
      await expectSameAsCleanBackfill(s.database, s.emulator.url, eventIds(s.model));
    },
  );

  it(
    'after Postgres committed, before its reply: the batch stands, and the next attempt starts from the cursor it moved',
    { timeout: 90_000 },
    async () => {
      const s = await setup(42);
      const before = await readCursor(s.database.db);
      const committed = inBatch(s.wire, isCommit, (connection) => connection.cutBeforeNext('toClient'));
      const known = s.model.events().length;
      changeWorkos(s.model);
      const connection = await committed;
      await connection.clientClosed;
      // Postgres answered the COMMIT; the answer never reached the worker.
      expect(connection.forwarded.toClient).toBeLessThan(connection.received.toClient);
      // The batch is in the mirror at once; the worker, which heard nothing back, finds out next.
      await caughtUp(s.database, s.model);
      // Its next poll caught up, and cleared the failure it had recorded.
      await until(
        () => errorCleared(s),
        30_000,
        () => s.worker.logs(),
      );

      const changes = await s.stream.changes();
      // The batch moved the cursor once (the commit the worker never heard of), and nothing moved
      // it from there: the next attempt read the stored cursor and found nothing left to apply.
      const moves = cursorMoves(changes);
      expect(moves.at(-1)).toBe(`${before} -> ${lastEventId(s.model)}`);
      expect(moves.filter((m) => m.startsWith(`${before} `))).toHaveLength(1);
      // The failure was recorded after the commit it was about, then cleared.
      const moved = changes.findIndex((c) => c.kind === 'cursor' && c.from === before);
      expect(changes.slice(moved + 1)).toEqual([
        {
          kind: 'error',
          from: null,
          to: expect.stringMatching(/^database unavailable: Connection terminated unexpectedly/),
        },
        { kind: 'error', from: expect.any(String), to: null },
      ]);
      expect(waits(s.worker)).toEqual([expect.objectContaining({ kind: 'database' })]);
      expect(duplicatesApplied(s.worker)).toBe(0);
      const changed = eventIds(s.model).slice(known);
      expect(await outcomesOf(s.database, changed)).toEqual(changed.map(() => 'applied'));
      await expectSameAsCleanBackfill(s.database, s.emulator.url, eventIds(s.model));
    },
  );
});

describe('a half-open Postgres connection', () => {
  it(
    'in the middle of a batch`s statement: found by the reply bound, closed, its session ended by Postgres, and the batch applied on a fresh connection',
    { timeout: 120_000 },
    async () => {
      // Lease 3 s: idle-in-transaction and statement bounds 3 s, lock bound 1 s, reply bound 6 s.
      const s = await setup(43, { WORKOS_SYNC_LEASE_SECONDS: '3' });
      let halfOpenAt = 0;
      // The batch's insert of its events goes to Postgres, which runs it; its reply never comes.
      const marked = inBatch(
        s.wire,
        (text) => /^insert into "workos"\."events"/.test(text),
        (connection) => {
          const stop = s.proxy.onChunk((direction, _chunk, c) => {
            if (direction !== 'toClient' || c !== connection) return;
            stop();
            halfOpenAt = performance.now();
            c.halfOpen();
          });
        },
      );
      const known = s.model.events().length;
      changeWorkos(s.model);
      const connection = await marked;
      const pid = s.wire.pidOf(connection)!;
      // Where the batch commits in the end.
      const committed = inBatch(s.wire, isCommit, () => undefined);
      const sessionOf = async () =>
        (
          await sql<{ state: string }>`select state from pg_stat_activity where pid = ${pid}`.execute(
            s.database.whole,
          )
        ).rows[0];

      // Postgres ends the abandoned session, idle in the transaction that holds the cursor row...
      await until(
        async () => (await sessionOf()) === undefined,
        30_000,
        () => `session ${pid} never ended`,
      );
      const endedAfterMs = performance.now() - halfOpenAt;
      // ... which the worker cannot hear: it gives up on the silent connection itself, and closes it.
      await connection.clientClosed;
      const foundAfterMs = performance.now() - halfOpenAt;
      await caughtUp(s.database, s.model);
      const appliedAfterMs = performance.now() - halfOpenAt;
      console.log(
        `half-open, lease 3 s: Postgres ended the abandoned session ${Math.round(endedAfterMs)} ms after the line went silent, the worker closed the connection after ${Math.round(foundAfterMs)} ms and caught up after ${Math.round(appliedAfterMs)} ms`,
      );
      expect((await committed).id).not.toBe(connection.id);

      const silence = waits(s.worker).find((l) => JSON.stringify(l.err).includes('stopped answering'));
      expect(silence, s.worker.logs()).toMatchObject({ kind: 'database' });
      expect(String((silence!.err as { message: string }).message)).toMatch(
        /^the database stopped answering: no reply from the database within 6000 ms/,
      );
      expect(pollErrors(await s.stream.changes())[0]).toMatch(/^the database stopped answering/);
      expect(duplicatesApplied(s.worker)).toBe(0);
      expect(s.worker.child.exitCode).toBeNull();
      const changed = eventIds(s.model).slice(known);
      expect(await outcomesOf(s.database, changed)).toEqual(changed.map(() => 'applied'));
      await expectSameAsCleanBackfill(s.database, s.emulator.url, eventIds(s.model));
    },
  );
});
