/**
 * The fleet's request budget through the real client: two WorkOS clients, as two replicas would
 * hold them (each its own pool on one database), built by `createWorkosClient` with the gate on
 * the budget, calling the emulator over HTTP with the real SDK. What the emulator receives is the
 * measure: a burst from both makes no more requests than the budget allows (in tokens, against the
 * database's clock), and a 429 one of them gets holds the other back until its `Retry-After` has
 * passed, the SDK's own retry included. Several connections: a Postgres server only.
 */
import type { WorkOS } from '@workos-inc/node';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { loadConfig } from '../src/config.ts';
import { type DatabaseHandle, openDatabase } from '../src/db/connect.ts';
import { BUDGET_NAME, requestBudgetGate } from '../src/sync/request-budget.ts';
import { sleep } from '../src/time.ts';
import { createWorkosClient, getRaw, type RequestGate, urgentWhile } from '../src/workos/client.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { silentLogger } from './support/logs.ts';
import { API_KEY } from './support/sync.ts';

let database: TestDatabase;
let emulator: Emulator;
const handles: DatabaseHandle[] = [];
const stopping = new AbortController();

beforeAll(async () => {
  database = await createTestDatabase();
  const model = new WorkosModel({ seed: 5 });
  generateScenario(model, { seed: 5, events: 20 });
  emulator = await startEmulator({ apiKey: API_KEY, model });
});
afterAll(async () => {
  stopping.abort();
  await emulator.close();
  for (const handle of handles) await handle.close();
  await database.close();
});
beforeEach(async () => {
  await database.db.deleteFrom('request_budget').execute();
  emulator.faults.clear();
});

/** A replica's WorkOS client: its own pool on the shared database, and the gate on the budget. */
async function replicaClient(budget: { requestsPerMinute: number; capacity: number }, maxRetries = 0) {
  const config = loadConfig({ DATABASE_URL: database.url, WORKOS_SYNC_SCHEMA: database.schema });
  const handle = await openDatabase(config.database, silentLogger(), { poolSize: 2 });
  handles.push(handle);
  const gate = requestBudgetGate(handle.db, { ...budget, log: silentLogger(), signal: stopping.signal });
  return createWorkosClient({ apiKey: API_KEY, apiUrl: emulator.url, maxRetries, timeoutMs: 10_000, gate });
}

/** One page of events; `tag` (the page size) tells the two clients' requests apart at the emulator. */
const page = (workos: WorkOS, tag: number) =>
  getRaw(workos, '/events', { events: 'connection.activated', limit: tag, order: 'asc' });
const requestsTagged = (tag: number, from = 0) =>
  emulator.requests.slice(from).filter((r) => r.path === '/events' && r.query.limit === String(tag));

/** The budget's row, with how long its pause still lasts in the database's clock. */
const budgetRow = async () =>
  database.db
    .selectFrom('request_budget')
    .select([
      'tokens',
      sql<string>`refilled_at::text`.as('refilled_at'),
      sql<number>`coalesce(extract(epoch from paused_until - clock_timestamp())::float8 * 1000, 0)`.as(
        'paused_for_ms',
      ),
    ])
    .where('name', '=', BUDGET_NAME)
    .executeTakeFirst();

describe('two replicas` clients on one budget', () => {
  it(
    'a burst of 10 calls makes only the requests the budget allows, then all of them, once each',
    {
      timeout: 30_000,
    },
    async () => {
      // 60 a minute, a burst of 3: a request a second after the first three.
      const budget = { requestsPerMinute: 60, capacity: 3 };
      const [a, b] = [await replicaClient(budget), await replicaClient(budget)];
      const { rows } = await sql<{ at: string }>`insert into ${sql.id(database.schema, 'request_budget')}
      (name, tokens, refilled_at) values (${BUDGET_NAME}, ${budget.capacity}, now()) returning refilled_at::text as at`.execute(
        database.db,
      );
      const started = rows[0]!.at;
      const before = emulator.requests.length;

      const calls = Array.from({ length: 10 }, (_, i) => page(i % 2 === 0 ? a : b, i % 2 === 0 ? 1 : 2));
      await sleep(1500);
      const sent = emulator.requests.length - before;
      const { rows: span } = await sql<{
        ms: number;
      }>`select extract(epoch from clock_timestamp() - ${started}::timestamptz)::float8 * 1000 as ms`.execute(
        database.db,
      );
      // In tokens: the burst, and one a second since the bucket was full.
      expect(sent).toBeLessThanOrEqual(Math.floor(budget.capacity + span[0]!.ms / 1000));
      expect(sent).toBeGreaterThanOrEqual(budget.capacity);

      await Promise.all(calls);
      const made = emulator.requests.slice(before);
      expect(made).toHaveLength(10);
      expect(made.every((r) => r.status === 200)).toBe(true);
      expect(requestsTagged(1, before)).toHaveLength(5);
      expect(requestsTagged(2, before)).toHaveLength(5);
    },
  );

  it(
    'a 429 one gets pauses the other too, for its Retry-After; the SDK`s own retry waits as well',
    {
      timeout: 30_000,
    },
    async () => {
      // Tokens to spare: only the pause holds anyone back.
      const budget = { requestsPerMinute: 6000, capacity: 20 };
      const a = await replicaClient(budget, 1);
      const b = await replicaClient(budget, 0);
      const before = emulator.requests.length;
      emulator.faults.add({ kind: 'status', status: 429, retryAfter: 1, path: '/events' });

      // A's first attempt is answered 429 (Retry-After: 1); the SDK retries it after a second.
      const first = page(a, 1);
      const until = async (check: () => Promise<boolean> | boolean) => {
        const deadline = Date.now() + 10_000;
        while (!(await check())) {
          if (Date.now() > deadline) throw new Error('not within 10 s');
          await sleep(5);
        }
      };
      await until(async () => ((await budgetRow())?.paused_for_ms ?? 0) > 0);
      expect(requestsTagged(1, before).map((r) => r.status)).toEqual([429]);

      // B asks while the fleet is paused: nothing reaches WorkOS until the pause is over.
      const second = page(b, 2);
      while (((await budgetRow())?.paused_for_ms ?? 0) > 20) {
        expect(requestsTagged(2, before)).toEqual([]);
        await sleep(10);
      }
      // When B's request (and A's retry) arrives, the database says the pause has ended.
      await until(() => requestsTagged(2, before).length > 0);
      expect((await budgetRow())!.paused_for_ms).toBeLessThanOrEqual(0);
      await until(() => requestsTagged(1, before).length > 1);
      expect((await budgetRow())!.paused_for_ms).toBeLessThanOrEqual(0);

      await Promise.all([first, second]);
      expect(requestsTagged(1, before).map((r) => r.status)).toEqual([429, 200]);
      expect(requestsTagged(2, before).map((r) => r.status)).toEqual([200]);
    },
  );

  it('a 429 that reaches the caller (no retries left) has paused the fleet all the same', async () => {
    const budget = { requestsPerMinute: 6000, capacity: 20 };
    const a = await replicaClient(budget, 0);
    emulator.faults.add({ kind: 'status', status: 429, retryAfter: 2, path: '/events' });
    await expect(page(a, 1)).rejects.toMatchObject({ name: 'RateLimitExceededException' });
    const paused = await budgetRow();
    expect(paused!.paused_for_ms).toBeGreaterThan(1500);
    expect(paused!.paused_for_ms).toBeLessThanOrEqual(2000);
    expect(paused!.tokens).toBe(0);
  });
});

describe('a request`s priority reaches the gate', () => {
  it('urgent within `urgentWhile` (its retries too), routine outside it, even while an urgent call runs', async () => {
    const seen: { path: string; priority: string | undefined }[] = [];
    const recording: RequestGate = {
      async beforeRequest(_signal, priority) {
        seen.push({ path: 'attempt', priority: priority?.() });
      },
      rateLimited: () => undefined,
    };
    const workos = createWorkosClient({
      apiKey: API_KEY,
      apiUrl: emulator.url,
      maxRetries: 1,
      gate: recording,
    });
    const priorities = () => seen.splice(0).map((s) => s.priority);
    // The first attempt is refused with a 500: the SDK's retry is urgent too.
    emulator.faults.add({ kind: 'status', status: 500, path: '/events' });
    await urgentWhile(
      () => true,
      () => page(workos, 7),
    );
    expect(priorities()).toEqual(['urgent', 'urgent']);
    // One urgent call and one routine call at once: each keeps its own.
    await Promise.all([
      urgentWhile(
        () => true,
        () => page(workos, 10),
      ),
      page(workos, 8),
    ]);
    expect(priorities().sort()).toEqual(['routine', 'urgent']);
    await page(workos, 9);
    expect(priorities()).toEqual(['routine']);
    expect(requestsTagged(7)).toHaveLength(2);
  });
});
