/**
 * The engine's Postgres sessions: they name themselves in pg_stat_activity, every transaction
 * carries the bounds derived from the lease (and nothing outside one does), and what those bounds
 * end — a lock wait, a statement, a session idle in its transaction — is a transient failure to
 * wait out, never a fatal one. Needs a server (several sessions), so not on the embedded database.
 */
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { type DatabaseHandle, openDatabase } from '../src/db/connect.ts';
import { liftStatementLimits } from '../src/db/engine-dialect.ts';
import { classifyDatabaseError } from '../src/db/errors.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { sessionLimitsFor } from '../src/db/session-limits.ts';
import type { Database } from '../src/db/tables.ts';
import { FatalError, RetryableError } from '../src/errors.ts';
import { lockCursor, recordPoll } from '../src/sync/events/cursor.ts';
import { runCli } from './support/cli.ts';
import { createDatabaseUrl } from './support/database.ts';
import { silentLogger } from './support/logs.ts';
import { until } from './support/worker-process.ts';

let url: string;
let admin: pg.Client;
const handles: DatabaseHandle[] = [];

beforeAll(async () => {
  url = await createDatabaseUrl();
  admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const setup = await open();
  await migrateToLatest(setup.db, 'workos');
});
afterEach(async () => {
  for (const h of handles.splice(0)) await h.close();
});
afterAll(() => admin.end());

async function open(
  env: Record<string, string> = {},
  options: { url?: string; poolSize?: number } = {},
): Promise<DatabaseHandle> {
  const config = loadConfig({ DATABASE_URL: options.url ?? url, ...env }).database;
  const handle = await openDatabase(config, silentLogger(), { poolSize: options.poolSize });
  handles.push(handle);
  return handle;
}

const backendPid = async (db: Kysely<Database>) =>
  (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db)).rows[0]!.pid;

async function activity(pid: number) {
  const { rows } = await admin.query<{ application_name: string; state: string }>(
    'select application_name, state from pg_stat_activity where pid = $1',
    [pid],
  );
  return rows[0];
}

async function rejection(work: Promise<unknown>): Promise<Error> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected the work to fail').toBeInstanceOf(Error);
  return error as Error;
}

describe('application_name', () => {
  it('is workos-sync by default, as pg_stat_activity shows it', async () => {
    const { db } = await open();
    const pid = await backendPid(db);
    expect(await activity(pid)).toMatchObject({ application_name: 'workos-sync' });
  });

  it('DATABASE_URL`s application_name wins', async () => {
    const named = new URL(url);
    named.searchParams.set('application_name', 'billing-sync');
    const { db } = await open({}, { url: named.toString() });
    const pid = await backendPid(db);
    expect(await activity(pid)).toMatchObject({ application_name: 'billing-sync' });
  });
});

describe('bounds derived from the lease', () => {
  const settings = async (db: Kysely<Database>) =>
    (
      await sql<Record<string, string>>`select current_setting('idle_in_transaction_session_timeout') as idle,
        current_setting('lock_timeout') as lock, current_setting('statement_timeout') as statement`.execute(
        db,
      )
    ).rows[0];

  it('every transaction carries them; statements outside one, and the session after it, do not', async () => {
    expect(sessionLimitsFor(30_000)).toEqual({
      idleInTransactionMs: 30_000,
      lockTimeoutMs: 10_000,
      statementTimeoutMs: 30_000,
    });
    const { db } = await open({ WORKOS_SYNC_LEASE_SECONDS: '6' });
    expect(await db.transaction().execute((trx) => settings(trx))).toEqual({
      idle: '6s',
      lock: '2s',
      statement: '6s',
    });
    const unbounded = { idle: '0', lock: '0', statement: '0' };
    expect(await settings(db)).toEqual(unbounded);
    // the same session, after its transaction committed
    const { db: single } = await open({ WORKOS_SYNC_LEASE_SECONDS: '6' }, { poolSize: 1 });
    const pid = await backendPid(single);
    await single.transaction().execute(async (trx) => expect(await backendPid(trx)).toBe(pid));
    expect(await settings(single)).toEqual(unbounded);
  });

  it('migrations and user queries lift the statement and lock bounds, not the idle one', async () => {
    const { db } = await open({ WORKOS_SYNC_LEASE_SECONDS: '6' });
    const lifted = await db.transaction().execute(async (trx) => {
      await liftStatementLimits(trx);
      return settings(trx);
    });
    expect(lifted).toEqual({ idle: '6s', lock: '0', statement: '0' });
  });

  it('`workos-sync sql` runs the user`s query unbounded: one longer than the statement bound succeeds', async () => {
    // Lease 0.3 s: 300 ms statement bound, 100 ms lock bound. The query sleeps 1 s.
    const result = await runCli(
      [
        'sql',
        `select current_setting('idle_in_transaction_session_timeout') as idle,
           current_setting('lock_timeout') as lock, current_setting('statement_timeout') as statement,
           pg_sleep(1)::text as slept`,
        '--json',
      ],
      { DATABASE_URL: url, WORKOS_API_KEY: 'sk_test_unused', WORKOS_SYNC_LEASE_SECONDS: '0.3' },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([{ idle: '300ms', lock: '0', statement: '0', slept: '' }]);
  });

  it('a migration waits for another one`s lock longer than the statement and lock bounds', async () => {
    const { db } = await open({ WORKOS_SYNC_LEASE_SECONDS: '0.3' });
    // Another process is migrating: it holds the migration lock.
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      const otherPid = (await other.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      await other.query('begin');
      await other.query("select pg_advisory_xact_lock(hashtext('workos-sync:migrate:workos'))");
      let migrated = false;
      const migrating = migrateToLatest(db, 'workos').finally(() => {
        migrated = true;
      });
      migrating.catch(() => undefined); // awaited below; a failure before that is reported there, not as unhandled
      // The migration's lock wait outlasts both bounds (300 ms, 100 ms) several times over.
      await until(async () => {
        const { rows } = await admin.query<{ waited: boolean }>(
          `select clock_timestamp() - query_start > interval '1 second' as waited from pg_stat_activity
            where wait_event_type = 'Lock' and query like '%pg_advisory_xact_lock%' and pid <> $1`,
          [otherPid],
        );
        return rows[0]?.waited === true || migrated;
      }, 20_000);
      expect(migrated).toBe(false);
      await other.query('rollback');
      expect(await migrating).toEqual({ applied: [], awaitingFinalize: [] });
    } finally {
      await other.end();
    }
  });
});

describe('what the bounds end is transient', () => {
  it('a server that does not answer: the error is transient where it arises, for any caller', async () => {
    const { db } = await open({}, { url: 'postgres://sync@127.0.0.1:1/nowhere' });
    const error = await rejection(sql`select 1`.execute(db));
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ kind: 'database' });
    expect(error.message).toMatch(/^database unavailable: .*ECONNREFUSED/);
  });

  it('a refused value is not: its SQLSTATE reaches the caller as Postgres sent it', async () => {
    const { db } = await open();
    const error = await rejection(sql`select 'x'::int`.execute(db));
    expect(error).not.toBeInstanceOf(RetryableError);
    expect((error as { code?: string }).code).toBe('22P02');
  });

  it('a protocol violation (08P01: a statement over the parameter limit) is fatal, naming the statement`s shape', async () => {
    const { db } = await open();
    const ids = Array.from({ length: 70_000 }, (_, i) => `conn_${i}`);
    const error = await rejection(db.selectFrom('connections').select('id').where('id', 'in', ids).execute());
    expect(error).toBeInstanceOf(FatalError);
    expect(error).not.toBeInstanceOf(RetryableError);
    expect(error.message).toMatch(
      /^the database refused a statement as a protocol violation \(08P01\), which no retry fixes \("select "id" from "workos"\."connections" where "id" in \(\$1, \$2, .*…" with 70,000 parameters\): /,
    );
    // The values bound are not in it.
    expect(error.message).not.toContain('conn_1');
    expect((error.cause as { code?: string }).code).toBe('08P01');
  });

  it.each([
    ['pgbouncer cannot connect to server', RetryableError],
    ['no more connections allowed (max_client_conn)', RetryableError],
    ['bind message supplies 4464 parameters, but prepared statement "" requires 70000', FatalError],
  ])('08P01 "%s": %o (PgBouncer`s own failures are the server being away)', (message, kind) => {
    const classified = classifyDatabaseError(Object.assign(new Error(message), { code: '08P01' }));
    expect(classified).toBeInstanceOf(kind);
    if (kind === FatalError) expect(classified).not.toBeInstanceOf(RetryableError);
  });

  it('a lock wait longer than lock_timeout (55P03): another session holds the cursor row', async () => {
    const { db } = await open({ WORKOS_SYNC_LEASE_SECONDS: '0.6' });
    await admin.query('begin');
    try {
      await admin.query(`select * from workos.sync_state for update`);
      // Classified where it arose (the engine's driver): the caller gets a transient error.
      const error = await rejection(db.transaction().execute((trx) => lockCursor(trx, null)));
      expect(error).toBeInstanceOf(RetryableError);
      expect(error).toMatchObject({ kind: 'database' });
      expect((error.cause as { code?: string }).code).toBe('55P03');
      expect(error.message).toMatch(/^a database lock wait timed out/);
    } finally {
      await admin.query('rollback');
    }
  });

  it('a statement longer than statement_timeout (57014)', async () => {
    const { db } = await open({ WORKOS_SYNC_LEASE_SECONDS: '0.3' });
    const error = await rejection(db.transaction().execute((trx) => sql`select pg_sleep(30)`.execute(trx)));
    expect(error).toBeInstanceOf(RetryableError);
    expect((error.cause as { code?: string }).code).toBe('57014');
  });

  it('a session Postgres ended for idling in its transaction (25P03, then a dropped connection)', async () => {
    const { db } = await open({ WORKOS_SYNC_LEASE_SECONDS: '0.3' });
    const error = await rejection(
      db.transaction().execute(async (trx) => {
        const pid = await backendPid(trx);
        // The client goes quiet mid-transaction, as a stopped process would, until the server
        // has ended the session.
        await until(
          async () => (await activity(pid)) === undefined,
          10_000,
          () => 'session never ended',
        );
        await sql`select 1`.execute(trx);
      }),
    );
    expect(error, error.message).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ kind: 'database' });
    // the pool dropped the dead connection: the next attempt works
    expect((await sql<{ one: number }>`select 1 as one`.execute(db)).rows).toEqual([{ one: 1 }]);
  });

  it('the error Postgres sends as it ends an idle transaction (25P03)', async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const ended = new Promise<Error>((resolve) => client.once('error', resolve));
    await client.query('set idle_in_transaction_session_timeout = 50');
    await client.query('begin');
    const error = await ended;
    await client.end().catch(() => undefined);
    expect((error as { code?: string }).code).toBe('25P03');
    const classified = classifyDatabaseError(error);
    expect(classified).toBeInstanceOf(RetryableError);
    expect(classified.message).toMatch(/^the database ended an idle transaction of this process/);
  });

  it('a poll record never waits on the cursor row another session holds: it is skipped', async () => {
    const { db } = await open();
    const lastPollAt = async () =>
      (await admin.query("select last_poll_at from workos.sync_state where stream = 'events'")).rows[0]
        .last_poll_at;
    await admin.query('begin');
    try {
      await admin.query(`select * from workos.sync_state for update`);
      const before = await lastPollAt();
      await recordPoll(db, { caughtUp: true, error: null });
      expect(await lastPollAt()).toEqual(before);
    } finally {
      await admin.query('rollback');
    }
    await recordPoll(db, { caughtUp: true, error: null });
    expect(await lastPollAt()).toBeInstanceOf(Date);
  });

  it('outside a transaction nothing is bounded', async () => {
    const { db } = await open({ WORKOS_SYNC_LEASE_SECONDS: '0.3' });
    await expect(sql`select pg_sleep(0.6)`.execute(db)).resolves.toBeDefined();
  });
});
