/**
 * The engine's database layer behind a network that fails (test/support/tcp-proxy.ts between it
 * and a real Postgres), in process: a connection that goes half-open — mid-transaction or
 * mid-statement, or outside any — is found by the client's reply bound (session-limits.ts,
 * reply-deadline.ts), closed rather than pooled again (the application's own pool's too), and its
 * abandoned session ended by Postgres, so a fresh connection takes the cursor row; a transaction
 * that lifted its limits keeps no reply bound; and a connection cut while a batch commits, either
 * side of the COMMIT, neither loses nor doubles the batch: the stored cursor says which happened,
 * and the fence refuses the batch sent again after a commit its client never heard of. The worker's
 * own behaviour over the same faults, as a process: test/network-worker-postgres.test.ts.
 */
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { type DatabaseHandle, openDatabase } from '../src/db/connect.ts';
import { liftStatementLimits } from '../src/db/engine-dialect.ts';
import { DEFAULT_ENVIRONMENT, scopedToEnvironment } from '../src/db/environment-scope.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { replyDeadlineMs, sessionLimitsFor } from '../src/db/session-limits.ts';
import type { Database } from '../src/db/tables.ts';
import { CursorMovedError, RetryableError } from '../src/errors.ts';
import { applyPage, type PageToApply } from '../src/sync/events/apply-page.ts';
import { lockCursor, readCursor } from '../src/sync/events/cursor.ts';
import { createDatabaseUrl } from './support/database.ts';
import { connectionEvent } from './support/events.ts';
import { silentLogger } from './support/logs.ts';
import { type PostgresWatch, postgresTarget, proxiedUrl, watchPostgres } from './support/postgres-wire.ts';
import { type ProxiedConnection, startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';
import { until } from './support/worker-process.ts';

/** Lease 1.5 s: idle-in-transaction and statement bounds 1.5 s, lock bound 0.5 s, reply bound 3 s. */
const LEASE_SECONDS = '1.5';

let url: string;
let admin: pg.Client;
let proxy: TcpProxy;
let wire: PostgresWatch;
const handles: DatabaseHandle[] = [];

beforeAll(async () => {
  url = await createDatabaseUrl();
  admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const setup = await open(url);
  await migrateToLatest(setup.db, 'workos');
});
afterEach(async () => {
  for (const h of handles.splice(0)) await h.close();
  wire?.stop();
  await proxy?.close();
  await admin.query(`update workos.sync_state set cursor = null where stream = 'events'`);
  await admin.query(
    'delete from workos.events; delete from workos.connection_domains; delete from workos.connections',
  );
});
afterAll(() => admin.end());

async function open(
  at: string,
  env: Record<string, string> = {},
  poolSize?: number,
): Promise<DatabaseHandle> {
  const config = loadConfig({ DATABASE_URL: at, WORKOS_SYNC_LEASE_SECONDS: LEASE_SECONDS, ...env }).database;
  const handle = await openDatabase(config, silentLogger(), { poolSize });
  handles.push(handle);
  return handle;
}

/** The engine's handle through a fresh proxy, one connection in its pool unless told otherwise. */
async function throughProxy(poolSize = 1): Promise<Kysely<Database>> {
  proxy = await startTcpProxy(postgresTarget(url));
  wire = watchPostgres(proxy);
  const handle = await open(proxiedUrl(url, proxy), {}, poolSize);
  return scopedToEnvironment(handle.db, 'workos', DEFAULT_ENVIRONMENT);
}

async function rejection(work: Promise<unknown>): Promise<Error> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected the work to fail').toBeInstanceOf(Error);
  return error as Error;
}

const alive = async (pid: number) =>
  ((await admin.query('select 1 from pg_stat_activity where pid = $1', [pid])).rowCount ?? 0) > 0;

/**
 * At the first statement `picks`, runs `act` on its connection before the proxy forwards it (so
 * `act` decides what becomes of the statement), and resolves with that connection.
 */
function atStatement(
  picks: (sql: string) => boolean,
  act: (connection: ProxiedConnection) => void,
): Promise<ProxiedConnection> {
  return new Promise((resolve) => {
    const stop = wire.onStatement((text, connection) => {
      if (!picks(text)) return;
      stop();
      act(connection);
      resolve(connection);
    });
  });
}

/** From now on, drops `connection`'s replies: half-open as soon as the next one arrives. */
function halfOpenAtReply(connection: ProxiedConnection): void {
  const stop = proxy.onChunk((direction, _chunk, c) => {
    if (direction !== 'toClient' || c !== connection) return;
    stop();
    c.halfOpen();
  });
}

describe('a half-open connection is found by the reply bound, closed, and replaced', () => {
  it('the bound follows the lease: the statement bound plus a lease period, never under a second', () => {
    expect(replyDeadlineMs(sessionLimitsFor(30_000))).toBe(60_000);
    expect(replyDeadlineMs(sessionLimitsFor(1_500))).toBe(3_000);
    expect(replyDeadlineMs(sessionLimitsFor(300))).toBe(1_000);
  });

  it.each([
    ['mid-transaction: the statement never reaches Postgres', 'before'],
    ['mid-statement: Postgres runs it, its reply never comes back', 'after'],
  ] as const)('%s', async (_name, when) => {
    const db = await throughProxy();
    const marked = atStatement(
      (text) => text.includes('half-open here'),
      (connection) => (when === 'before' ? connection.halfOpen() : halfOpenAtReply(connection)),
    );
    const failed = rejection(
      db.transaction().execute(async (trx) => {
        await lockCursor(trx, null);
        await sql`select 'half-open here'`.execute(trx);
      }),
    );
    const connection = await marked;
    const pid = wire.pidOf(connection)!;
    const error = await failed;
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ kind: 'database' });
    expect(error.message).toMatch(
      /^the database stopped answering: no reply from the database within 3000 ms/,
    );
    // The client closed the connection; the proxy never told the server.
    await connection.clientClosed;
    expect(connection.damaged).toBe(true);

    // Postgres ends the session it abandoned (idle in its transaction, holding the cursor row)...
    await until(
      async () => !(await alive(pid)),
      20_000,
      () => `session ${pid} never ended`,
    );
    // ... and the same handle, its one pooled connection replaced, takes the row.
    await db.transaction().execute((trx) => lockCursor(trx, null));
    expect(proxy.accepted).toBe(2);
  });

  it('outside a transaction too: a statement whose reply never comes fails, and the next one works', async () => {
    const db = await throughProxy();
    const marked = atStatement(
      (text) => text.includes('unanswered'),
      (connection) => connection.halfOpen(),
    );
    const error = await rejection(sql`select 'unanswered'`.execute(db));
    expect(error).toBeInstanceOf(RetryableError);
    expect(error.message).toMatch(/stopped answering/);
    // At once, on the pool's one connection: a new one, not the silent one handed out again.
    expect((await sql<{ one: number }>`select 1 as one`.execute(db)).rows).toEqual([{ one: 1 }]);
    expect(proxy.accepted).toBe(2);
    await (await marked).clientClosed;
  });

  it('through the application`s own pg.Pool too: the silent client is ended, and its pool drops it', async () => {
    proxy = await startTcpProxy(postgresTarget(url));
    wire = watchPostgres(proxy);
    const pool = new pg.Pool({ connectionString: proxiedUrl(url, proxy), max: 1 });
    const { database } = loadConfig({ DATABASE_URL: url, WORKOS_SYNC_LEASE_SECONDS: LEASE_SECONDS });
    const handle = await openDatabase({ ...database, target: { kind: 'pool', pool } }, silentLogger());
    handles.push(handle);
    try {
      const marked = atStatement(
        (text) => text.includes('unanswered'),
        (connection) => connection.halfOpen(),
      );
      const error = await rejection(sql`select 'unanswered'`.execute(handle.db));
      expect(error.message).toMatch(/^the database stopped answering/);
      // Gone from the pool as the engine gave it back, before the failure reached the caller.
      expect(pool.totalCount).toBe(0);
      await (await marked).clientClosed;
      expect((await pool.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });

  it('a whole blackholed database: a pooled connection`s statement and a new connection both fail, transient; healed, the next works', async () => {
    const db = await throughProxy(2);
    await sql`select 1`.execute(db);
    proxy.blackhole();
    const [pooled, connecting] = await Promise.all([
      // The pooled connection: its statement waits out the reply bound.
      rejection(sql`select 'a'`.execute(db)),
      // A second connection is opened, and its startup is never answered (the pool's 10 s bound).
      rejection(db.transaction().execute((trx) => lockCursor(trx, null))),
    ]);
    expect(pooled).toBeInstanceOf(RetryableError);
    expect(pooled.message).toMatch(/stopped answering/);
    expect(connecting).toBeInstanceOf(RetryableError);
    expect(connecting.message).toMatch(/^database unavailable: timeout exceeded when trying to connect/);
    proxy.heal();
    expect(await readCursor(db)).toBeNull();
  });

  it('a transaction that lifted its limits (a migration`s, `sql`s) waits for its reply as long as it takes', async () => {
    // Lease 0.3 s: a reply bound of 1 s, which the sleep outlasts.
    const handle = await open(url, { WORKOS_SYNC_LEASE_SECONDS: '0.3' });
    const slept = await handle.db.transaction().execute(async (trx) => {
      await liftStatementLimits(trx);
      return (await sql<{ slept: string }>`select pg_sleep(1.5)::text as slept`.execute(trx)).rows;
    });
    expect(slept).toEqual([{ slept: '' }]);
    // The bound comes back with the next transaction on the same connection.
    const error = await rejection(
      handle.db.transaction().execute((trx) => sql`select pg_sleep(0.1) from pg_sleep(1.5)`.execute(trx)),
    );
    expect(error).toBeInstanceOf(RetryableError);
  });
});

describe('a connection cut while a batch commits', () => {
  const batch = (): PageToApply => ({
    expectedCursor: null,
    nextCursor: 'event_cut_2',
    events: [
      connectionEvent(
        'connection.activated',
        { id: 'conn_cut', updated_at: '2026-03-01T00:00:00.000Z' },
        { id: 'event_cut_1' },
      ),
      connectionEvent(
        'connection.deactivated',
        { id: 'conn_cut', updated_at: '2026-03-01T00:01:00.000Z' },
        { id: 'event_cut_2' },
      ),
    ],
  });
  const recorded = async () =>
    (await admin.query('select id, outcome from workos.events order by seq')).rows as {
      id: string;
      outcome: string;
    }[];
  const stateOf = async () =>
    (await admin.query(`select state from workos.connections where id = 'conn_cut'`)).rows[0]?.state;

  it('before the COMMIT reaches Postgres: nothing committed, and the batch sent again applies once', async () => {
    const db = await throughProxy();
    const cut = atStatement(isCommit, (connection) => connection.cut());
    const error = await rejection(applyPage({ db, log: silentLogger() }, batch()));
    expect((await cut).forwarded.toTarget).toBeLessThan((await cut).received.toTarget);
    expect(error).toBeInstanceOf(RetryableError);
    expect(await recorded()).toEqual([]);
    expect(await readCursor(db)).toBeNull();

    await applyPage({ db, log: silentLogger() }, batch());
    expect(await recorded()).toEqual([
      { id: 'event_cut_1', outcome: 'applied' },
      { id: 'event_cut_2', outcome: 'applied' },
    ]);
    expect(await readCursor(db)).toBe('event_cut_2');
    expect(await stateOf()).toBe('inactive');
  });

  it('after Postgres committed, before its reply: the batch is in, and sent again the fence refuses it', async () => {
    const db = await throughProxy();
    const committed = atStatement(isCommit, (connection) => connection.cutBeforeNext('toClient'));
    const error = await rejection(applyPage({ db, log: silentLogger() }, batch()));
    const connection = await committed;
    expect(error).toBeInstanceOf(RetryableError);
    // How the batch ended: its COMMIT's connection lost, not the rollback that could not follow.
    expect(error.message).toBe('database unavailable: Connection terminated unexpectedly');
    expect(connection.forwarded.toClient).toBeLessThan(connection.received.toClient);
    // The client could not know; the database does: the batch and the cursor's move committed.
    const before = await recorded();
    expect(before).toEqual([
      { id: 'event_cut_1', outcome: 'applied' },
      { id: 'event_cut_2', outcome: 'applied' },
    ]);
    expect(await readCursor(db)).toBe('event_cut_2');

    // The same batch again, from the cursor it was fetched after: refused whole, nothing twice.
    const again = await rejection(applyPage({ db, log: silentLogger() }, batch()));
    expect(again).toBeInstanceOf(CursorMovedError);
    expect(again.message).toContain('event_cut_2');
    expect(await recorded()).toEqual(before);
    expect(await stateOf()).toBe('inactive');
  });
});

const isCommit = (text: string) => text.trim().toLowerCase() === 'commit';
