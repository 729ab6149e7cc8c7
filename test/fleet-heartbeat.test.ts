/**
 * The fleet's heartbeats (src/worker/fleet/heartbeat.ts) on a real Postgres: live by the
 * database's clock, a dead replica dropping out after the TTL and its row deleted later by whoever
 * heartbeats (a bounded number at a time), a clean leave, and replicas heartbeating and pruning
 * at once. Several connections, so a Postgres server only.
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import type { Database } from '../src/db/tables.ts';
import {
  DEFAULT_HEARTBEAT_TTL_MS,
  heartbeat,
  leaveFleet,
  liveWorkers,
  PRUNE_AFTER_TTLS,
  PRUNE_LIMIT,
} from '../src/worker/fleet/heartbeat.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());
afterEach(async () => {
  vi.useRealTimers();
  await t.db.deleteFrom('workers').execute();
});

const beat = (id: string, environments = 0, db = t.db) =>
  heartbeat(db, { id, release: '0.1.0', environments });

/** Puts a replica's last heartbeat `ms` in the database's past. */
async function age(id: string, ms: number): Promise<void> {
  await t.db
    .updateTable('workers')
    .set({ heartbeat_at: sql<Date>`now() - ${ms} * interval '1 millisecond'` })
    .where('id', '=', id)
    .execute();
}

function separateHandle(): Kysely<Database> {
  const pool = new pg.Pool({ connectionString: t.url, max: 2 });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }).withSchema(t.schema);
}

it('a heartbeat registers the replica, then refreshes its row: started_at kept, the rest replaced', async () => {
  await beat('replica-a', 0);
  const [first] = await t.db.selectFrom('workers').selectAll().execute();
  await age('replica-a', 5_000);
  await heartbeat(t.db, { id: 'replica-a', release: '0.2.0', environments: 7 });
  const [second] = await t.db.selectFrom('workers').selectAll().execute();
  expect(second).toMatchObject({ id: 'replica-a', release: '0.2.0', environments: 7 });
  expect(second!.started_at).toEqual(first!.started_at);
  expect(second!.heartbeat_at.getTime()).toBeGreaterThanOrEqual(first!.heartbeat_at.getTime());
  expect(await liveWorkers(t.db, 1_000)).toEqual(['replica-a']);
});

it('live by the database clock: the age of the row decides, not the process clock', async () => {
  await beat('replica-a');
  await beat('replica-b');
  await age('replica-b', 10_000);
  expect(await liveWorkers(t.db, 5_000)).toEqual(['replica-a']);
  expect(await liveWorkers(t.db, 20_000)).toEqual(['replica-a', 'replica-b']);

  // This process's clock an hour ahead (or behind) changes nothing: every comparison is now().
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Date.now() + 3_600_000);
  expect(await liveWorkers(t.db, 5_000)).toEqual(['replica-a']);
  vi.setSystemTime(Date.now() - 7_200_000);
  expect(await liveWorkers(t.db, 5_000)).toEqual(['replica-a']);
});

it('a replica that stops heartbeating drops out once its heartbeat is older than the TTL', async () => {
  await beat('replica-a');
  await beat('replica-b');
  const ttlMs = 400;
  expect(await liveWorkers(t.db, ttlMs)).toEqual(['replica-a', 'replica-b']);
  // replica-b dies; replica-a goes on beating.
  const deadline = Date.now() + 5_000;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    await beat('replica-a');
    const live = await liveWorkers(t.db, ttlMs);
    if (live.length === 1) {
      expect(live).toEqual(['replica-a']);
      break;
    }
    expect(Date.now()).toBeLessThan(deadline);
  }
  // Its row is still there (status can show it), until it is PRUNE_AFTER_TTLS TTLs old.
  expect((await t.db.selectFrom('workers').select('id').execute()).map((r) => r.id).sort()).toEqual([
    'replica-a',
    'replica-b',
  ]);
});

it('sorted in code-unit order, whatever the collation', async () => {
  for (const id of ['b', 'B', 'a', 'é', '_', 'A']) await beat(id);
  expect(await liveWorkers(t.db, 5_000)).toEqual(['A', 'B', '_', 'a', 'b', 'é']);
});

it('a clean leave deletes the row at once', async () => {
  await beat('replica-a');
  await beat('replica-b');
  await leaveFleet(t.db, 'replica-b');
  expect(await liveWorkers(t.db, 60_000)).toEqual(['replica-a']);
  await leaveFleet(t.db, 'replica-b'); // twice is harmless
  expect(await t.db.selectFrom('workers').select('id').execute()).toEqual([{ id: 'replica-a' }]);
});

it('dead rows are deleted by whoever heartbeats, once PRUNE_AFTER_TTLS TTLs old, PRUNE_LIMIT at a time', async () => {
  const ttlMs = 1_000;
  const pruneAge = ttlMs * PRUNE_AFTER_TTLS;
  await t.db
    .insertInto('workers')
    .values(
      Array.from({ length: 250 }, (_, i) => ({
        id: `dead-${i}`,
        release: '0.0.9',
        heartbeat_at: sql<Date>`now() - ${pruneAge + 1_000 + i} * interval '1 millisecond'`,
      })),
    )
    .execute();
  // Dead, but not for long enough to be deleted: kept.
  await t.db
    .insertInto('workers')
    .values({
      id: 'recently-dead',
      release: '0.1.0',
      heartbeat_at: sql<Date>`now() - ${ttlMs * 3} * interval '1 millisecond'`,
    })
    .execute();
  await beat('replica-b');

  const pruned: number[] = [];
  for (let i = 0; i < 4; i++)
    pruned.push(
      (await heartbeat(t.db, { id: 'replica-a', release: '0.1.0', environments: 0 }, { ttlMs })).pruned,
    );
  expect(pruned).toEqual([PRUNE_LIMIT, PRUNE_LIMIT, 250 - 2 * PRUNE_LIMIT, 0]);
  expect((await t.db.selectFrom('workers').select('id').execute()).map((r) => r.id).sort()).toEqual([
    'recently-dead',
    'replica-a',
    'replica-b',
  ]);
  // The oldest go first; a limit of its own bounds one heartbeat's work.
  await t.db
    .insertInto('workers')
    .values([
      { id: 'old', release: '0', heartbeat_at: sql<Date>`now() - interval '1 day'` },
      { id: 'older', release: '0', heartbeat_at: sql<Date>`now() - interval '2 days'` },
    ])
    .execute();
  expect(
    await heartbeat(t.db, { id: 'replica-a', release: '0.1.0', environments: 0 }, { ttlMs, pruneLimit: 1 }),
  ).toEqual({
    pruned: 1,
  });
  expect(
    (await t.db.selectFrom('workers').select('id').where('id', 'like', 'old%').execute()).map((r) => r.id),
  ).toEqual(['old']);
  // With the defaults, a dead row outlives any lease it held (the reconcile lease lives 60 s).
  expect(DEFAULT_HEARTBEAT_TTL_MS * PRUNE_AFTER_TTLS).toBeGreaterThan(60_000);
});

it('two replicas heartbeating and pruning at once: both live, every dead row deleted once, no error', async () => {
  const a = separateHandle();
  const b = separateHandle();
  try {
    await t.db
      .insertInto('workers')
      .values(
        Array.from({ length: 300 }, (_, i) => ({
          id: `dead-${i}`,
          release: '0.0.9',
          heartbeat_at: sql<Date>`now() - interval '1 hour'`,
        })),
      )
      .execute();
    const run = async (db: Kysely<Database>, id: string) => {
      let pruned = 0;
      for (let i = 0; i < 20; i++) {
        pruned += (
          await heartbeat(db, { id, release: '0.1.0', environments: i }, { ttlMs: 1_000, pruneLimit: 10 })
        ).pruned;
        expect(await liveWorkers(db, 5_000)).toContain(id);
      }
      return pruned;
    };
    const [prunedA, prunedB] = await Promise.all([run(a, 'replica-a'), run(b, 'replica-b')]);
    expect(prunedA + prunedB).toBe(300);
    expect(await liveWorkers(t.db, 5_000)).toEqual(['replica-a', 'replica-b']);
    expect(await t.db.selectFrom('workers').select(['id', 'environments']).orderBy('id').execute()).toEqual([
      { id: 'replica-a', environments: 19 },
      { id: 'replica-b', environments: 19 },
    ]);
  } finally {
    await a.destroy();
    await b.destroy();
  }
});
