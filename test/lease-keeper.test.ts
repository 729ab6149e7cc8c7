/**
 * The lease keeper on a real Postgres, with its races forced into the bad order: a barrier in
 * front of the database holds a renewal until the release has run. Several connections, so a
 * Postgres server only.
 */

import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_ENVIRONMENT, scopedToEnvironment } from '../src/db/environment-scope.ts';
import type { Database } from '../src/db/tables.ts';
import { acquireLease } from '../src/sync/lease.ts';
import { LeaseKeeper } from '../src/worker/lease-keeper.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { capturingLogger } from './support/logs.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.close());

/**
 * A Kysely handle whose queries pass a barrier on their way to Postgres: once armed, the first
 * one that matches waits there until `open()`.
 */
function gatedDatabase(url: string) {
  let armed: RegExp | undefined;
  let arrived: () => void = () => {};
  let open: () => void = () => {};
  const held: Promise<unknown>[] = [];
  const pool = new pg.Pool({ connectionString: url });
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (text: string, values?: unknown[]) => Promise<unknown>;
    (client as unknown as { query: typeof query }).query = (text, values) => {
      if (!armed?.test(text)) return query(text, values);
      armed = undefined;
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      arrived();
      const result = gate.then(() => query(text, values));
      held.push(result.catch(() => undefined));
      return result;
    };
  });
  const db = scopedToEnvironment(
    new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }).withSchema(database.schema),
    database.schema,
    DEFAULT_ENVIRONMENT,
  );
  return {
    db,
    /** Holds the next query matching `pattern`; resolves once one is held. */
    hold(pattern: RegExp): Promise<void> {
      armed = pattern;
      return new Promise((resolve) => {
        arrived = resolve;
      });
    },
    /** Lets the held query go, and waits until it has run. */
    async open(): Promise<void> {
      open();
      await Promise.all(held);
    },
    close: () => db.destroy(),
  };
}

it('a release wins over a renewal already in flight: the standby can take the lease at once', async () => {
  const gated = gatedDatabase(database.url);
  try {
    const logs = capturingLogger();
    const keeper = new LeaseKeeper({ db: gated.db, log: logs.log }, 'events', 'replica-a', 600);
    expect(await keeper.ensure()).toBeDefined();

    // The keeper's own timer starts a renewal; the barrier keeps it from reaching Postgres.
    await gated.hold(/"leases"/);
    await keeper.release();
    expect(await database.db.selectFrom('leases').selectAll().execute()).toEqual([]);
    // Only now does the renewal reach the database: after the delete, as a slow one would.
    await gated.open();

    expect(await database.db.selectFrom('leases').selectAll().execute()).toEqual([]);
    expect(await acquireLease(database.db, 'events', 'replica-b', 600)).toBe(true);
    // Nothing was lost, so nothing is reported lost: one acquisition, one release.
    expect(logs.lines().map((l) => l.msg)).toEqual(['lease acquired', 'lease released']);
  } finally {
    await gated.close();
    await database.reset();
  }
});

it('a renewal that finds another holder aborts the signal and says so once', async () => {
  const logs = capturingLogger();
  const keeper = new LeaseKeeper({ db: database.db, log: logs.log }, 'events', 'replica-a', 60_000);
  const signal = await keeper.ensure();
  await database.db.updateTable('leases').set({ holder: 'replica-b' }).execute();
  await Promise.all([keeper.recheck(new Error('session ended')), keeper.recheck()]);
  expect(signal?.aborted).toBe(true);
  const lost = logs.lines().filter((l) => l.level === 40);
  expect(lost).toHaveLength(1);
  expect(lost[0]).toMatchObject({ lease: 'events', msg: expect.stringMatching(/^lease taken over/) });
  // and it stands by: the other holder keeps the lease
  expect(await keeper.ensure()).toBeUndefined();
  expect(await database.db.selectFrom('leases').select('holder').execute()).toEqual([
    { holder: 'replica-b' },
  ]);
  await database.reset();
});
