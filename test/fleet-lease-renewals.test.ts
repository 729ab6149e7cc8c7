/**
 * Many environments' leases renewed as one (src/worker/fleet/lease-renewals.ts) on a real
 * Postgres, with the same guarantees each keeper gives on its own timer (test/lease-keeper.test.ts):
 * a renewal that reaches the database after a release re-creates nothing, a lease found taken
 * over aborts that environment's work only and says so once, a renewal failing for longer than the
 * lease lives gives every lease up, and an answer about a holding that is over changes nothing.
 * The races are forced into the bad order with a barrier in front of the batch's database.
 * Several connections, so a Postgres server only.
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Database } from '../src/db/tables.ts';
import { acquireLease } from '../src/sync/lease.ts';
import { LeaseRenewals } from '../src/worker/fleet/lease-renewals.ts';
import { LeaseKeeper } from '../src/worker/lease-keeper.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { type CapturedLogs, capturingLogger } from './support/logs.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());
afterEach(async () => {
  await t.whole.deleteFrom('leases').execute();
});

const ENVIRONMENTS = ['alpha', 'beta', 'gamma'];

/**
 * The whole database through a barrier: once armed, the first query matching is held — before it
 * is sent (`before`), or after it ran, its answer held back (`after`) — until `open()`.
 */
function gatedDatabase(url: string) {
  let armed: { pattern: RegExp; when: 'before' | 'after' } | undefined;
  let arrived: () => void = () => {};
  let open: () => void = () => {};
  const held: Promise<unknown>[] = [];
  const sent: string[] = [];
  const pool = new pg.Pool({ connectionString: url });
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (text: string, values?: unknown[]) => Promise<unknown>;
    (client as unknown as { query: typeof query }).query = (text, values) => {
      sent.push(text);
      if (!armed?.pattern.test(text)) return query(text, values);
      const { when } = armed;
      armed = undefined;
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      let result: Promise<unknown>;
      if (when === 'before') {
        arrived();
        result = gate.then(() => query(text, values));
      } else {
        const ran = query(text, values);
        result = ran.then(async (answer) => {
          arrived();
          await gate;
          return answer;
        });
      }
      held.push(result.catch(() => undefined));
      return result;
    };
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }).withSchema(t.schema);
  return {
    db,
    /** Every statement sent through it. */
    sent,
    hold(pattern: RegExp, when: 'before' | 'after' = 'before'): Promise<void> {
      armed = { pattern, when };
      return new Promise((resolve) => {
        arrived = resolve;
      });
    },
    async open(): Promise<void> {
      open();
      await Promise.all(held);
    },
    close: () => db.destroy(),
  };
}

/** A keeper per environment, all renewed by `renewals`, logging to one capture. */
function keepers(renewals: LeaseRenewals, logs: CapturedLogs, ttlMs: number) {
  return new Map(
    ENVIRONMENTS.map((name) => [
      name,
      new LeaseKeeper({ db: t.environment(name), log: logs.log, renewals }, 'events', 'replica-a', ttlMs),
    ]),
  );
}

/** Each lease row: environment → holder, with how far in the future (database time) it expires. */
async function leases() {
  const rows = await t.whole
    .selectFrom('leases')
    .select([
      'environment',
      'holder',
      sql<number>`extract(epoch from (expires_at - now())) * 1000`.as('expires_in_ms'),
    ])
    .where('name', '=', 'events')
    .orderBy('environment')
    .execute();
  return rows.map((r) => ({ ...r, expires_in_ms: Number(r.expires_in_ms) }));
}

it('renews every member in one statement per chunk, and only while they hold their lease', async () => {
  const logs = capturingLogger();
  const gated = gatedDatabase(t.url);
  try {
    const renewals = new LeaseRenewals(gated.db, 'events', 'replica-a', 60_000, { chunkSize: 2 });
    const kept = keepers(renewals, logs, 60_000);
    for (const keeper of kept.values()) expect(await keeper.ensure()).toBeDefined();
    expect(renewals.size).toBe(3);
    await t.whole.updateTable('leases').set({ expires_at: sql<Date>`now() + interval '1 second'` }).execute();

    await renewals.renewNow();
    // Three environments in chunks of two: two statements, where three keepers sent three.
    expect(gated.sent.filter((text) => /"leases"/.test(text))).toHaveLength(2);
    for (const row of await leases()) expect(row.expires_in_ms).toBeGreaterThan(55_000);

    // A member that released is renewed no more.
    await kept.get('beta')!.release();
    expect(renewals.size).toBe(2);
    await t.whole.updateTable('leases').set({ expires_at: sql<Date>`now() + interval '1 second'` }).execute();
    await renewals.renewNow();
    expect(gated.sent.filter((text) => /"leases"/.test(text))).toHaveLength(3);
    expect((await leases()).map((r) => [r.environment, r.expires_in_ms > 55_000])).toEqual([
      ['alpha', true],
      ['gamma', true],
    ]);
    for (const keeper of kept.values()) await keeper.release();
    expect(renewals.size).toBe(0);
    renewals.close();
    expect(logs.lines().filter((l) => Number(l.level) >= 40)).toEqual([]);
  } finally {
    await gated.close();
  }
});

it('a release wins over a batch renewal already in flight: nothing re-created, nothing reported lost', async () => {
  const gated = gatedDatabase(t.url);
  try {
    const logs = capturingLogger();
    const renewals = new LeaseRenewals(gated.db, 'events', 'replica-a', 60_000);
    const kept = keepers(renewals, logs, 60_000);
    for (const keeper of kept.values()) expect(await keeper.ensure()).toBeDefined();

    // The batch's renewal is held before it reaches Postgres; alpha is released meanwhile.
    const held = gated.hold(/"leases"/);
    const renewing = renewals.renewNow();
    await held;
    await kept.get('alpha')!.release();
    expect((await leases()).map((r) => r.environment)).toEqual(['beta', 'gamma']);
    // Only now does the renewal run: after the delete, as a slow one would.
    await gated.open();
    await renewing;

    expect((await leases()).map((r) => r.environment)).toEqual(['beta', 'gamma']);
    expect(await acquireLease(t.environment('alpha'), 'events', 'replica-b', 60_000)).toBe(true);
    expect(kept.get('beta')!.holds()).toBe(true);
    expect(kept.get('gamma')!.holds()).toBe(true);
    const alpha = logs.lines().filter((l) => l.lease === 'events' && l.level !== 20);
    expect(alpha.map((l) => l.msg)).toEqual([
      'lease acquired',
      'lease acquired',
      'lease acquired',
      'lease released',
    ]);
    renewals.close();
  } finally {
    await gated.close();
  }
});

it('a lease found taken over aborts that environment only, and says so once', async () => {
  const logs = capturingLogger();
  const renewals = new LeaseRenewals(t.whole, 'events', 'replica-a', 60_000);
  const kept = keepers(renewals, logs, 60_000);
  const signals = new Map<string, AbortSignal | undefined>();
  for (const [name, keeper] of kept) signals.set(name, await keeper.ensure());
  await t.whole
    .updateTable('leases')
    .set({ holder: 'replica-b' })
    .where('environment', '=', 'beta')
    .execute();

  await Promise.all([renewals.renewNow(), renewals.renewNow()]);
  expect(signals.get('beta')?.aborted).toBe(true);
  expect(signals.get('alpha')?.aborted).toBe(false);
  expect(signals.get('gamma')?.aborted).toBe(false);
  const lost = logs.lines().filter((l) => l.level === 40);
  expect(lost).toEqual([
    expect.objectContaining({ lease: 'events', msg: expect.stringMatching(/^lease taken over/) }),
  ]);
  expect(renewals.size).toBe(2);
  // It stands by: the other replica keeps beta's lease.
  expect(await kept.get('beta')!.ensure()).toBeUndefined();
  expect((await leases()).map((r) => [r.environment, r.holder])).toEqual([
    ['alpha', 'replica-a'],
    ['beta', 'replica-b'],
    ['gamma', 'replica-a'],
  ]);
  renewals.close();
});

it('a renewal failing keeps the leases while younger than their lifetime, then gives them all up', async () => {
  const logs = capturingLogger();
  // A database that cannot be reached: every batch statement fails.
  const unreachable = new Kysely<Database>({
    dialect: new PostgresDialect({
      pool: new pg.Pool({
        connectionString: 'postgres://nobody@127.0.0.1:1/none',
        connectionTimeoutMillis: 500,
      }),
    }),
  });
  try {
    const ttlMs = 1_500;
    const renewals = new LeaseRenewals(unreachable, 'events', 'replica-a', ttlMs);
    const kept = keepers(renewals, logs, ttlMs);
    const signals = await Promise.all([...kept.values()].map((k) => k.ensure()));
    await renewals.renewNow();
    expect(signals.every((s) => s && !s.aborted)).toBe(true);
    expect(logs.lines().filter((l) => l.level === 40)).toEqual([]);

    await new Promise((resolve) => setTimeout(resolve, ttlMs));
    await renewals.renewNow();
    expect(signals.every((s) => s?.aborted)).toBe(true);
    const lost = logs.lines().filter((l) => l.level === 40);
    expect(lost.map((l) => l.msg)).toEqual(
      Array(3).fill('cannot renew the lease; stopping after the page in flight'),
    );
    expect(renewals.size).toBe(0);
  } finally {
    await unreachable.destroy();
  }
});

it('an answer about a holding that is over changes nothing, even once the lease is taken again', async () => {
  const logs = capturingLogger();
  const renewals = new LeaseRenewals(t.whole, 'events', 'replica-a', 60_000);
  const alpha = keepers(renewals, logs, 60_000).get('alpha')!;
  await alpha.ensure();
  // A renewal begun while it was held, answered after a release and a new take.
  const stale = alpha.begin()!;
  await alpha.release();
  expect(alpha.begin()).toBeUndefined(); // released: nothing to renew
  const again = await alpha.ensure();
  stale.end('refused');
  stale.end({ failed: new Error('too late to matter') });
  expect(again?.aborted).toBe(false);
  expect(alpha.holds()).toBe(true);
  expect(logs.lines().filter((l) => l.level === 40)).toEqual([]);
  await alpha.release();
  renewals.close();
});

it('a batch answer computed before a lease was lost and taken again, delivered after, changes nothing', async () => {
  const gated = gatedDatabase(t.url);
  try {
    const logs = capturingLogger();
    const renewals = new LeaseRenewals(gated.db, 'events', 'replica-a', 60_000);
    const kept = keepers(renewals, logs, 60_000);
    for (const keeper of kept.values()) await keeper.ensure();
    // Another replica holds alpha now, behind the keeper's back: the batch finds it not ours...
    await t.whole
      .updateTable('leases')
      .set({ holder: 'replica-b' })
      .where('environment', '=', 'alpha')
      .execute();
    const answered = gated.hold(/"leases"/, 'after');
    const renewing = renewals.renewNow();
    await answered;
    // ...and before that answer arrives, the keeper gives up, the other replica lets go, and the
    // keeper takes alpha again.
    await kept.get('alpha')!.release();
    await t.whole.deleteFrom('leases').where('environment', '=', 'alpha').execute();
    const again = await kept.get('alpha')!.ensure();
    expect(again).toBeDefined();
    await gated.open();
    await renewing;

    // The stale "not yours" was about the holding that ended: the new one goes on.
    expect(again?.aborted).toBe(false);
    expect(logs.lines().filter((l) => l.level === 40)).toEqual([]);
    expect((await leases()).map((r) => [r.environment, r.holder])).toEqual([
      ['alpha', 'replica-a'],
      ['beta', 'replica-a'],
      ['gamma', 'replica-a'],
    ]);
    for (const keeper of kept.values()) await keeper.release();
    renewals.close();
  } finally {
    await gated.close();
  }
});

it('refuses a lease of another name, holder or lifetime', () => {
  const renewals = new LeaseRenewals(t.whole, 'events', 'replica-a', 60_000);
  const logs = capturingLogger();
  for (const keeper of [
    new LeaseKeeper({ db: t.environment('alpha'), log: logs.log }, 'reconcile', 'replica-a', 60_000),
    new LeaseKeeper({ db: t.environment('alpha'), log: logs.log }, 'events', 'replica-b', 60_000),
    new LeaseKeeper({ db: t.environment('alpha'), log: logs.log }, 'events', 'replica-a', 30_000),
  ])
    expect(() => renewals.join(keeper)).toThrow(/cannot join the renewals/);
});
