/**
 * The session bounds derived from the lease (`db/session-limits.ts`) hold wherever users meet the
 * engine: through `createWorkosSync` with each `database` form — its own pool from a URL, the
 * application's `pg.Pool`, the application's Kysely — every transaction the engine opens carries
 * them (read inside one, by the hook that runs in it); and through the CLI, where a foreign
 * session holding the cursor row makes `poll` give up its lock wait after `lock_timeout` and wait
 * the failure out, instead of hanging behind the lock. An embedding application's pool gets no
 * less protection against a frozen process than the CLI's own. Real Postgres, the emulator.
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { createWorkosSync, type WorkosSync } from '../src/index.ts';
import { finished, spawnCli } from './support/cli.ts';
import { createDatabaseUrl } from './support/database.ts';
import { API_KEY } from './support/sync.ts';
import { until } from './support/worker-process.ts';

const LEASE_SECONDS = 6;
/** What sessionLimitsFor(6 s) gives, as Postgres shows the settings. */
const BOUNDS = { idle: '6s', lock: '2s', statement: '6s' };

let emulator: Emulator;
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  const model = new WorkosModel({ seed: 73 });
  generateScenario(model, { seed: 73, events: 30 });
  emulator = await startEmulator({ apiKey: API_KEY, model });
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(() => emulator.close());

type Form = 'url' | 'pool' | 'kysely';

async function syncOn(form: Form, url: string, seen: Record<string, string>[]): Promise<WorkosSync> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  closers.push(() => pool.end());
  const database =
    form === 'url'
      ? { url }
      : form === 'pool'
        ? { pool }
        : { kysely: new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) }) };
  const sync = createWorkosSync({
    apiKey: API_KEY,
    apiUrl: emulator.url,
    database,
    leaseSeconds: LEASE_SECONDS,
    logger: pino({ level: 'silent' }),
    onChange: async (trx) => {
      const { rows } = await sql<Record<string, string>>`
        select current_setting('idle_in_transaction_session_timeout') as idle,
               current_setting('lock_timeout') as lock,
               current_setting('statement_timeout') as statement`.execute(trx);
      seen.push(rows[0]!);
    },
  });
  closers.push(() => sync.close());
  await sync.migrate();
  return sync;
}

describe.each(['url', 'pool', 'kysely'] as const)('createWorkosSync with { %s }', (form) => {
  it('every transaction of a backfill and of a reconciliation carries the bounds', async () => {
    const url = await createDatabaseUrl();
    const seen: Record<string, string>[] = [];
    const sync = await syncOn(form, url, seen);
    await sync.backfill();
    await sync.reconcile();
    expect(seen.length).toBeGreaterThan(1);
    for (const bounds of seen) expect(bounds).toEqual(BOUNDS);
    // And a statement of the application's outside the engine's transactions is not bounded.
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    closers.push(() => admin.end());
    expect((await admin.query('show lock_timeout')).rows[0].lock_timeout).toBe('0');
  });
});

it('the CLI: a foreign session holding the cursor row makes poll give up its wait after lock_timeout, and wait it out', async () => {
  const url = await createDatabaseUrl();
  const env = {
    DATABASE_URL: url,
    WORKOS_API_KEY: API_KEY,
    WORKOS_API_URL: emulator.url,
    WORKOS_SYNC_LEASE_SECONDS: String(LEASE_SECONDS),
    LOG_LEVEL: 'info',
  };
  const first = await finished(spawnCli(['backfill'], env));
  expect(first.code, first.stderr).toBe(0);
  emulator.model.activate(String(emulator.model.liveConnections()[0]!.id));

  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  closers.push(() => holder.end());
  await holder.query('begin');
  await holder.query(`select 1 from workos.sync_state where stream = 'events' for update`);
  const child = spawnCli(['poll'], env);
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const done = finished(child);
  // Without lock_timeout the poll would sit behind the lock with nothing to say.
  await until(
    () => stderr.includes('55P03') || /lock timeout/i.test(stderr),
    20_000,
    () => stderr,
  );
  expect(child.exitCode).toBeNull();
  await holder.query('rollback');
  const result = await done;
  expect(result.code, stderr).toBe(0);
});
