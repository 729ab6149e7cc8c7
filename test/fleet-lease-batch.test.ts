/**
 * The leases of many environments at once (src/worker/fleet/lease-batch.ts) on a real Postgres,
 * keyed by environment (the contract migration applied): taken when free or expired, renewed and
 * released only by their holder, a thousand in a statement or two, and two replicas working on
 * overlapping sets at once without a deadlock. Several connections, so a Postgres server only.
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Database } from '../src/db/tables.ts';
import { acquireLeases, heldByOthers, releaseLeases, renewLeases } from '../src/worker/fleet/lease-batch.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());
afterEach(async () => {
  await t.whole.deleteFrom('leases').execute();
});

const envs = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => `env_${String(from + i).padStart(4, '0')}`);

/** Leases as rows: environment → holder, with how far in the future (database time) each expires. */
async function leases() {
  const rows = await t.whole
    .selectFrom('leases')
    .select([
      'environment',
      'name',
      'holder',
      'acquired_at',
      sql<number>`extract(epoch from (expires_at - now())) * 1000`.as('expires_in_ms'),
    ])
    .orderBy('environment')
    .execute();
  return rows.map((r) => ({ ...r, expires_in_ms: Number(r.expires_in_ms) }));
}

async function insertLeases(
  holder: string,
  environments: readonly string[],
  expiresInMs: number,
  name = 'events',
) {
  await t.whole
    .insertInto('leases')
    .values(
      environments.map((environment) => ({
        environment,
        name,
        holder,
        acquired_at: sql<Date>`now() - interval '1 minute'`,
        expires_at: sql<Date>`now() + ${expiresInMs} * interval '1 millisecond'`,
      })),
    )
    .execute();
}

/** A handle of its own, counting the statements it sends. */
function countingHandle(max = 2) {
  let statements = 0;
  const pool = new pg.Pool({ connectionString: t.url, max });
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (event.level === 'query') statements += 1;
    },
  }).withSchema(t.schema);
  return { db, statements: () => statements };
}

it('takes the free and the expired, renews its own, leaves alone what another replica holds', async () => {
  await insertLeases('replica-b', ['env_held'], 60_000);
  await insertLeases('replica-b', ['env_expired'], -1_000);
  await insertLeases('replica-a', ['env_mine'], 1_000);
  await insertLeases('replica-b', ['env_free'], 60_000, 'reconcile'); // another lease of it
  const [mine] = await t.whole
    .selectFrom('leases')
    .select('acquired_at')
    .where('environment', '=', 'env_mine')
    .execute();

  const held = await acquireLeases(
    t.whole,
    'events',
    'replica-a',
    ['env_free', 'env_held', 'env_expired', 'env_mine'],
    30_000,
  );

  expect(held).toEqual(['env_expired', 'env_free', 'env_mine']);
  const rows = await leases();
  expect(rows.filter((r) => r.name === 'events').map((r) => [r.environment, r.holder])).toEqual([
    ['env_expired', 'replica-a'],
    ['env_free', 'replica-a'],
    ['env_held', 'replica-b'],
    ['env_mine', 'replica-a'],
  ]);
  for (const r of rows.filter((r) => r.holder === 'replica-a')) {
    expect(r.expires_in_ms).toBeGreaterThan(29_000);
    expect(r.expires_in_ms).toBeLessThanOrEqual(30_000);
  }
  // Renewing its own keeps when it first took it; a taken-over lease starts afresh.
  expect(rows.find((r) => r.environment === 'env_mine')!.acquired_at).toEqual(mine!.acquired_at);
  expect(rows.find((r) => r.environment === 'env_expired')!.acquired_at.getTime()).toBeGreaterThan(
    mine!.acquired_at.getTime(),
  );
  // The other lease name is untouched.
  expect(rows.find((r) => r.name === 'reconcile')).toMatchObject({
    environment: 'env_free',
    holder: 'replica-b',
  });
});

it('says which are held by another replica now, taking nothing: the fleet starts the others', async () => {
  await insertLeases('replica-b', ['env_held'], 60_000);
  await insertLeases('replica-b', ['env_expired'], -1_000);
  await insertLeases('replica-a', ['env_mine'], 60_000);
  await insertLeases('replica-b', ['env_free'], 60_000, 'reconcile');
  const before = await leases();
  const busy = await heldByOthers(t.whole, 'events', 'replica-a', [
    'env_free',
    'env_held',
    'env_expired',
    'env_mine',
    'env_never',
  ]);
  expect([...busy]).toEqual(['env_held']);
  expect(await heldByOthers(t.whole, 'events', 'replica-a', [])).toEqual(new Set());
  expect((await leases()).map((r) => [r.environment, r.name, r.holder])).toEqual(
    before.map((r) => [r.environment, r.name, r.holder]),
  );
});

it('renews a thousand in ceil(1000 / chunk) statements, only the rows this holder holds, and says which it still holds', async () => {
  const all = envs(1000);
  const mine = all.filter((_, i) => i % 2 === 0);
  const theirs = all.filter((_, i) => i % 2 === 1);
  await insertLeases('replica-a', mine, 1_000);
  await insertLeases('replica-b', theirs, 1_000);

  const counting = countingHandle();
  try {
    const still = await renewLeases(counting.db, 'events', 'replica-a', [...all].reverse(), 30_000, {
      chunkSize: 250,
    });
    expect(still).toEqual(mine);
    expect(counting.statements()).toBe(4);
    // The default chunk: two statements for a thousand.
    const again = await renewLeases(counting.db, 'events', 'replica-a', all, 30_000);
    expect(again).toEqual(mine);
    expect(counting.statements()).toBe(6);
  } finally {
    await counting.db.destroy();
  }
  const rows = await leases();
  for (const r of rows) {
    if (r.holder === 'replica-a') expect(r.expires_in_ms).toBeGreaterThan(29_000);
    else expect(r.expires_in_ms).toBeLessThanOrEqual(1_000);
  }
});

it('a renewal never brings back a lease: not one released, not one taken over', async () => {
  await insertLeases('replica-a', ['env_1', 'env_2', 'env_3'], 10_000);
  expect(await releaseLeases(t.whole, 'events', 'replica-a', ['env_1'])).toEqual(['env_1']);
  await t.whole
    .updateTable('leases')
    .set({ holder: 'replica-b' })
    .where('environment', '=', 'env_2')
    .execute();

  expect(await renewLeases(t.whole, 'events', 'replica-a', ['env_1', 'env_2', 'env_3'], 30_000)).toEqual([
    'env_3',
  ]);
  expect((await leases()).map((r) => [r.environment, r.holder])).toEqual([
    ['env_2', 'replica-b'],
    ['env_3', 'replica-a'],
  ]);
});

it('an expired lease nobody took is still its holder’s to renew, as with a single lease', async () => {
  await insertLeases('replica-a', ['env_1'], -5_000);
  expect(await renewLeases(t.whole, 'events', 'replica-a', ['env_1'], 30_000)).toEqual(['env_1']);
});

it('releases only its own, and returns them', async () => {
  await insertLeases('replica-a', envs(5), 10_000);
  await insertLeases('replica-b', envs(5, 5), 10_000);
  expect(await releaseLeases(t.whole, 'events', 'replica-a', envs(10), { chunkSize: 3 })).toEqual(envs(5));
  expect((await leases()).map((r) => r.holder)).toEqual(Array(5).fill('replica-b'));
  expect(await releaseLeases(t.whole, 'events', 'replica-a', envs(10))).toEqual([]);
});

it('nothing to do, no statement; duplicates counted once', async () => {
  const counting = countingHandle();
  try {
    expect(await renewLeases(counting.db, 'events', 'replica-a', [], 30_000)).toEqual([]);
    expect(await releaseLeases(counting.db, 'events', 'replica-a', [])).toEqual([]);
    expect(await acquireLeases(counting.db, 'events', 'replica-a', [], 30_000)).toEqual([]);
    expect(counting.statements()).toBe(0);
    expect(await acquireLeases(counting.db, 'events', 'replica-a', ['env_1', 'env_1'], 30_000)).toEqual([
      'env_1',
    ]);
  } finally {
    await counting.db.destroy();
  }
});

it('two replicas taking, renewing and releasing overlapping sets at once: one holder each, no deadlock', async () => {
  const a = countingHandle(4);
  const b = countingHandle(4);
  try {
    const all = envs(400);
    let seed = 3;
    const shuffled = () =>
      [...all].sort(() => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31 - 0.5;
      });
    for (let round = 0; round < 15; round++) {
      // Both want everything, in different orders, in small chunks: the worst case for lock order.
      const [heldA, heldB] = await Promise.all([
        acquireLeases(a.db, 'events', 'replica-a', shuffled(), 30_000, { chunkSize: 50 }),
        acquireLeases(b.db, 'events', 'replica-b', shuffled(), 30_000, { chunkSize: 50 }),
      ]);
      expect(heldA.filter((e) => heldB.includes(e))).toEqual([]);
      const rows = await leases();
      expect(rows).toHaveLength(all.length);
      expect(rows.filter((r) => r.holder === 'replica-a').map((r) => r.environment)).toEqual(heldA);

      // Each renews its own while trying to take the other's, and gives back a part.
      const [stillA, , releasedB] = await Promise.all([
        renewLeases(a.db, 'events', 'replica-a', shuffled(), 30_000, { chunkSize: 50 }),
        acquireLeases(b.db, 'events', 'replica-b', shuffled(), 30_000, { chunkSize: 50 }),
        releaseLeases(b.db, 'events', 'replica-b', shuffled().slice(0, 200), { chunkSize: 50 }),
      ]);
      expect(stillA).toEqual(heldA);
      for (const environment of releasedB) expect(heldA).not.toContain(environment);
      await Promise.all([
        releaseLeases(a.db, 'events', 'replica-a', all),
        releaseLeases(b.db, 'events', 'replica-b', all),
      ]);
    }
    expect(await leases()).toEqual([]);
  } finally {
    await a.db.destroy();
    await b.db.destroy();
  }
});
