/**
 * The fleet's request budget on a real Postgres: the statement computes what the pure arithmetic
 * says; any number of takers on several connections never get more than the burst plus the rate
 * times the time elapsed, counted in tokens against the database's own clock (never a wall-clock
 * bound on speed); a pause makes every taker wait, restarts the bucket empty, and is never cut
 * short by a shorter one; the gate built on it keeps to the same bound without asking Postgres in
 * a loop, and fails open — never hangs — when Postgres cannot answer. Several connections: a
 * Postgres server only.
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { type DatabaseHandle, openDatabase } from '../src/db/connect.ts';
import type { Database } from '../src/db/tables.ts';
import {
  BUDGET_NAME,
  type BucketRate,
  bucketRate,
  MAX_PAUSE_MS,
  pauseFleet,
  requestBudgetGate,
  takeRequestToken,
  takeVerdict,
} from '../src/sync/request-budget.ts';
import { sleep } from '../src/time.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { capturingLogger, silentLogger } from './support/logs.ts';

let database: TestDatabase;
const handles: DatabaseHandle[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  for (const handle of handles) await handle.close();
  await database.close();
});
beforeEach(async () => {
  await database.db.deleteFrom('request_budget').execute();
});

/** Another process's view of the same database: its own pool of `size` connections. */
async function anotherReplica(size = 2): Promise<Kysely<Database>> {
  const config = loadConfig({ DATABASE_URL: database.url, WORKOS_SYNC_SCHEMA: database.schema });
  const handle = await openDatabase(config.database, silentLogger(), { poolSize: size });
  handles.push(handle);
  return handle.db;
}

/** A handle that counts the statements it sends. */
function counting(db: Kysely<Database>) {
  let statements = 0;
  const counted = db.withPlugin({
    transformQuery: (args) => {
      statements++;
      return args.node;
    },
    transformResult: async (args) => args.result,
  });
  return { db: counted, statements: () => statements };
}

/** A fresh row: `tokens` as of now; returns that instant, as the database's text. */
async function startBucket(tokens: number): Promise<string> {
  const { rows } = await sql<{ at: string }>`select now()::text as at`.execute(database.db);
  await database.db
    .insertInto('request_budget')
    .values({ name: BUDGET_NAME, tokens, refilled_at: rows[0]!.at, paused_until: null })
    .execute();
  return rows[0]!.at;
}

/** Milliseconds from `since` to the database's now, in the database's clock. */
async function msSince(since: string): Promise<number> {
  const { rows } = await sql<{
    ms: number;
  }>`select extract(epoch from clock_timestamp() - ${since}::timestamptz)::float8 * 1000 as ms`.execute(
    database.db,
  );
  return rows[0]!.ms;
}

async function row() {
  return database.db
    .selectFrom('request_budget')
    .select([
      'tokens',
      sql<string>`refilled_at::text`.as('refilled_at'),
      sql<string | null>`paused_until::text`.as('paused_until'),
      sql<number>`coalesce(extract(epoch from paused_until - clock_timestamp())::float8 * 1000, 0)`.as(
        'paused_for_ms',
      ),
    ])
    .where('name', '=', BUDGET_NAME)
    .executeTakeFirstOrThrow();
}

/** Each taker takes as fast as it can until `ms` have passed; the grants of each. */
async function hammer(takers: Kysely<Database>[], rate: BucketRate, ms: number): Promise<number[]> {
  const deadline = performance.now() + ms;
  return Promise.all(
    takers.map(async (db) => {
      let grants = 0;
      while (performance.now() < deadline) if ((await takeRequestToken(db, rate)).granted) grants++;
      return grants;
    }),
  );
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
/** 60 a minute, a burst of 3. */
const SLOW = bucketRate(60, 3);

interface BudgetState {
  readonly tokens: number;
  readonly ageMs: number;
  readonly pausedMs: number;
  /** The rate's urgent reserve (SLOW has none). */
  readonly reserve?: number;
  readonly priority?: 'urgent' | 'routine';
}

describe('one take', () => {
  it('the first take ever makes the row, full, and takes from it', async () => {
    expect(await takeRequestToken(database.db, SLOW)).toEqual({ granted: true });
    expect(await row()).toMatchObject({ tokens: 2, paused_until: null });
  });

  // Each row set `ageMs` ago; the take a few ms later: within 50 ms (0.05 of a token) of the pure verdict.
  it.each([
    ['a full bucket', { tokens: 3, ageMs: 0, pausedMs: 0 }],
    ['an empty bucket half a token ago', { tokens: 0, ageMs: 500, pausedMs: 0 }],
    ['a bucket refilled past its capacity', { tokens: 0.5, ageMs: 10_000, pausedMs: 0 }],
    ['a paused full bucket', { tokens: 3, ageMs: 0, pausedMs: 800 }],
    ['a paused bucket that has tokens', { tokens: 0, ageMs: 2000, pausedMs: 300 }],
    ['a bucket a little short of a token', { tokens: 0.2, ageMs: 300, pausedMs: 0 }],
    ['a routine take from the urgent reserve alone', { tokens: 1, ageMs: 0, pausedMs: 0, reserve: 1 }],
    [
      'an urgent take from the urgent reserve alone',
      { tokens: 1, ageMs: 0, pausedMs: 0, reserve: 1, priority: 'urgent' as const },
    ],
    ['a routine take beyond the urgent reserve', { tokens: 2.2, ageMs: 0, pausedMs: 0, reserve: 1 }],
    ['a routine take short of the urgent reserve', { tokens: 0.4, ageMs: 0, pausedMs: 0, reserve: 2 }],
  ])('computes what takeVerdict says: %s', async (_name, state: BudgetState) => {
    const rate = { ...SLOW, urgentReserve: state.reserve ?? 0 };
    await database.db
      .insertInto('request_budget')
      .values({
        name: BUDGET_NAME,
        tokens: state.tokens,
        refilled_at: sql<Date>`now() - ${state.ageMs} * interval '1 millisecond'`,
        paused_until: state.pausedMs ? sql<Date>`now() + ${state.pausedMs} * interval '1 millisecond'` : null,
      })
      .execute();
    const before = await row();
    const expected = takeVerdict(
      { tokens: state.tokens, elapsedMs: state.ageMs, pausedForMs: state.pausedMs },
      rate,
      state.priority,
    );
    const take = await takeRequestToken(database.db, rate, state.priority);
    const after = await row();
    expect(take.granted).toBe(expected.take.granted);
    if (take.granted) {
      expect(after.tokens).toBeGreaterThanOrEqual(expected.tokensLeft);
      expect(after.tokens).toBeLessThanOrEqual(expected.tokensLeft + 0.05);
    } else {
      // A refused take writes nothing; its wait is the pure one, less the few ms since the row was set.
      expect(after).toMatchObject({ tokens: before.tokens, refilled_at: before.refilled_at });
      const wait = (expected.take as { waitMs: number }).waitMs;
      expect((take as { waitMs: number }).waitMs).toBeLessThanOrEqual(wait);
      expect((take as { waitMs: number }).waitMs).toBeGreaterThanOrEqual(wait - 50);
    }
  });

  it('is never taken inside a transaction of the caller`s, nor is a pause, nor a gate built on one', async () => {
    await expect(database.db.transaction().execute((trx) => takeRequestToken(trx, SLOW))).rejects.toThrow(
      /never inside a transaction/,
    );
    await expect(database.db.transaction().execute((trx) => pauseFleet(trx, 1000))).rejects.toThrow(
      /never inside a transaction/,
    );
    await expect(
      database.db
        .transaction()
        .execute(async (trx) => requestBudgetGate(trx, { requestsPerMinute: 60, log: silentLogger() })),
    ).rejects.toThrow(/never inside a transaction/);
  });
});

describe('many takers on several connections', () => {
  it('never get more than the burst plus the rate times the time elapsed, in tokens', async () => {
    const rate = bucketRate(600, 5); // 10 a second, a burst of 5
    const replicas = await Promise.all([
      anotherReplica(),
      anotherReplica(),
      anotherReplica(),
      anotherReplica(),
    ]);
    const takers = replicas.flatMap((db) => [db, db]); // 8 takers on 8 connections
    const started = await startBucket(rate.capacity);
    const grants = sum(await hammer(takers, rate, 1000));
    const last = await row();
    const { rows } = await sql<{
      ms: number;
    }>`select extract(epoch from ${last.refilled_at}::timestamptz - ${started}::timestamptz)::float8 * 1000 as ms`.execute(
      database.db,
    );
    const spanMs = rows[0]!.ms;
    // Every token granted came from the burst or from the refill up to the last grant; what is
    // left in the bucket was not granted.
    expect(grants + last.tokens).toBeLessThanOrEqual(rate.capacity + spanMs * rate.perMs + 1e-9);
    expect(grants).toBeLessThanOrEqual(rate.capacity + spanMs * rate.perMs);
    // And the takers did contend: the burst and some of the refill went.
    expect(grants).toBeGreaterThan(rate.capacity);
  });

  it('a pause makes every taker wait until it ends, and the bucket restarts empty', async () => {
    const rate = bucketRate(600, 5);
    const takers = await Promise.all([
      anotherReplica(1),
      anotherReplica(1),
      anotherReplica(1),
      anotherReplica(1),
    ]);
    await startBucket(rate.capacity);
    await pauseFleet(takers[0]!, 600);
    const paused = await row();
    expect(paused.tokens).toBe(0);
    expect(paused.refilled_at).toBe(paused.paused_until);

    // Every taker, asked while the pause lasts, is refused, and told to wait no longer than it and
    // the refill of a token beyond the urgent reserve (a routine take's).
    while ((await row()).paused_for_ms > 100) {
      for (const take of await Promise.all(takers.map((db) => takeRequestToken(db, rate)))) {
        expect(take.granted).toBe(false);
        expect((take as { waitMs: number }).waitMs).toBeLessThanOrEqual(
          600 + (1 + rate.urgentReserve) / rate.perMs,
        );
      }
      await sleep(50);
    }

    // After it: only what refilled since its end, no burst.
    await until(async () => (await row()).paused_for_ms <= 0);
    const grants = sum(await hammer(takers, rate, 500));
    const last = await row();
    const { rows } = await sql<{
      ms: number;
    }>`select extract(epoch from ${last.refilled_at}::timestamptz - ${paused.paused_until}::timestamptz)::float8 * 1000 as ms`.execute(
      database.db,
    );
    expect(grants + last.tokens).toBeLessThanOrEqual(rows[0]!.ms * rate.perMs + 1e-9);
    expect(grants).toBeGreaterThan(0);
  });

  it('a take that waited for the row counts on from the newest count, never back to its own start', async () => {
    await startBucket(3);
    const other = await anotherReplica(1);
    let commit: () => void = () => {};
    let locked: () => void = () => {};
    const holding = new Promise<void>((resolve) => {
      locked = resolve;
    });
    let written = '';
    // Another take holds the row, and counts it a second ahead of the waiting take's start.
    const holder = database.db.transaction().execute(async (trx) => {
      await trx.selectFrom('request_budget').select('name').forUpdate().execute();
      locked();
      await new Promise<void>((resolve) => {
        commit = resolve;
      });
      const { rows } = await sql<{ at: string }>`update ${sql.id(database.schema, 'request_budget')}
        set refilled_at = clock_timestamp() + interval '1 second' returning refilled_at::text as at`.execute(
        trx,
      );
      written = rows[0]!.at;
    });
    // The waiting take starts only once the row is held: started before, it would take at once.
    await holding;
    const waiting = takeRequestToken(other, SLOW);
    await until(async () => {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'`.execute(database.db);
      return rows[0]!.n > 0;
    });
    commit();
    await holder;
    expect(await waiting).toEqual({ granted: true });
    expect(await row()).toMatchObject({ tokens: 2, refilled_at: written });
  });

  it('a pause never shortens a longer one, a longer one extends it, and none lasts past the cap', async () => {
    await pauseFleet(database.db, 10_000);
    const first = await row();
    expect(first).toMatchObject({ tokens: 0 });
    expect(first.paused_for_ms).toBeGreaterThan(9000);

    await pauseFleet(database.db, 100);
    expect((await row()).paused_until).toBe(first.paused_until);

    await pauseFleet(database.db, 20_000);
    const longer = await row();
    expect(longer.paused_for_ms).toBeGreaterThan(first.paused_for_ms);

    await database.db.deleteFrom('request_budget').execute();
    await pauseFleet(database.db, 3_600_000);
    expect((await row()).paused_for_ms).toBeLessThanOrEqual(MAX_PAUSE_MS);
  });
});

describe('the gate on the budget', () => {
  it.each([
    ['routine', () => 'routine' as const],
    // Half of them urgent, arriving behind heads of both kinds: a head woken for an urgent one
    // must not go on asking without sleeping.
    ['half urgent', (i: number) => (i % 2 === 0 ? ('urgent' as const) : ('routine' as const))],
  ])(
    'replicas` gates together keep to the bound, without asking Postgres in a loop (%s)',
    async (_kind, priorityOf) => {
      const rate = bucketRate(600, 5);
      const stop = new AbortController();
      const replicas = (await Promise.all([anotherReplica(), anotherReplica(), anotherReplica()])).map(
        counting,
      );
      const gates = replicas.map((r) =>
        requestBudgetGate(r.db, {
          requestsPerMinute: 600,
          capacity: 5,
          log: silentLogger(),
          signal: stop.signal,
        }),
      );
      const started = await startBucket(rate.capacity);
      let granted = 0;
      const waits = gates.flatMap((gate) =>
        Array.from({ length: 10 }, (_, i) =>
          gate
            .beforeRequest(undefined, () => priorityOf(i))
            .then(
              () => granted++,
              () => undefined,
            ),
        ),
      );
      await sleep(1000);
      const grantedBy = granted;
      const spanMs = await msSince(started);
      stop.abort();
      await Promise.all(waits);

      expect(grantedBy).toBeLessThanOrEqual(rate.capacity + spanMs * rate.perMs);
      expect(grantedBy).toBeGreaterThan(rate.capacity);
      // Within a process only the head of the queue asks: about one statement per token per
      // replica, where 30 waiters asking on their own would send thousands.
      const statements = sum(replicas.map((r) => r.statements()));
      expect(statements).toBeLessThan(grantedBy + 3 * 2 * (spanMs * rate.perMs + 2));
    },
  );

  it('fails open when Postgres is down, and uses it again once it answers', async () => {
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    let down = false;
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({
        pool: {
          connect: () =>
            down
              ? Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
              : pool.connect(),
          end: () => pool.end(),
          options: pool.options,
        },
      }),
    }).withSchema(database.schema);
    try {
      const logs = capturingLogger();
      const gate = requestBudgetGate(db, {
        requestsPerMinute: 60,
        capacity: 50,
        log: logs.log,
        retryDatabaseAfterMs: 50,
      });
      await gate.beforeRequest();
      expect((await row()).tokens).toBe(49);

      down = true;
      for (let i = 0; i < 5; i++) await gate.beforeRequest();
      expect(
        logs
          .lines()
          .filter((l) => l.level === 40)
          .map((l) => l.msg),
      ).toEqual([expect.stringContaining('cannot be read: spending a local budget of the same rate')]);
      // Spent locally: the fleet's row is as it was.
      expect((await row()).tokens).toBe(49);

      down = false;
      await sleep(60);
      await gate.beforeRequest();
      // Taken from the fleet's row again (a token a second: far less than one refilled meanwhile).
      expect((await row()).tokens).toBeLessThan(48.5);
      expect(
        logs
          .lines()
          .filter((l) => l.level === 30)
          .map((l) => l.msg),
      ).toEqual(['the WorkOS request budget in Postgres answers again']);
    } finally {
      await db.destroy();
    }
  });

  it('never hangs on a row held by someone else: past statementTimeoutMs it fails open', async () => {
    await startBucket(5);
    const logs = capturingLogger();
    const gate = requestBudgetGate(database.db, {
      requestsPerMinute: 600,
      capacity: 5,
      log: logs.log,
      statementTimeoutMs: 200,
    });
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const locked = new Promise<void>((resolve) => {
      void database.db.transaction().execute(async (trx) => {
        await trx.selectFrom('request_budget').select('name').forUpdate().execute();
        resolve();
        await held;
      });
    });
    await locked;
    try {
      await gate.beforeRequest();
      expect(logs.text()).toContain('no answer from Postgres within 200 ms');
    } finally {
      release();
    }
  });
});

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await sleep(20);
  }
}
