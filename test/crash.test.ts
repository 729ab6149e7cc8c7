/**
 * Invariant 1 with real processes: `backfill` is killed with SIGKILL at random points and
 * restarted; the result equals a clean run's, every event is recorded exactly once, and the
 * cursor is the last event id.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { readCursor } from '../src/sync/events/cursor.ts';
import { finished, spawnCli } from './support/cli.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { mirrorOf } from './support/mirror.ts';
import { API_KEY } from './support/sync.ts';

const EVENTS = 6_000;
const KILLS = 6;
let emulator: Emulator;
let t: TestDatabase;

beforeAll(async () => {
  const model = new WorkosModel({ seed: 99 });
  generateScenario(model, { seed: 99, events: EVENTS });
  emulator = await startEmulator({ apiKey: API_KEY, model });
  t = await createTestDatabase();
});
afterAll(async () => {
  await emulator.close();
  await t.close();
});

const recorded = async () =>
  (await t.db.selectFrom('events').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;

it(`survives ${KILLS} SIGKILLs mid-backfill and ends exact`, { timeout: 240_000 }, async () => {
  const env = { DATABASE_URL: t.url, WORKOS_API_KEY: API_KEY, WORKOS_API_URL: emulator.url };
  // Seeded, so a failure can be replayed; different points each kill.
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const killedAt: number[] = [];

  for (let kill = 0; kill < KILLS; kill++) {
    const before = await recorded();
    const target = before + 1 + Math.floor(random() * ((EVENTS - before) / (KILLS - kill + 1)));
    const child = spawnCli(['backfill'], env);
    const exit = finished(child);
    while ((await recorded()) < target && child.exitCode === null) await sleep(5);
    // land anywhere: between pages, mid-transaction, mid-fetch
    await sleep(Math.floor(random() * 40));
    child.kill('SIGKILL');
    const result = await exit;
    killedAt.push(await recorded());
    expect(result.signal === 'SIGKILL' || result.code === 0).toBe(true);
  }

  const last = await finished(spawnCli(['backfill'], env));
  expect(last.code).toBe(0);
  expect(last.stderr).not.toMatch(/error|warn/i);
  console.log(
    `crash test: ${EVENTS} events, killed with SIGKILL after ${killedAt.join(', ')} recorded events`,
  );

  // The kills landed at different points, not all before the first page or after the last.
  expect(new Set(killedAt).size).toBeGreaterThan(1);
  expect(killedAt.some((n) => n > 0 && n < EVENTS)).toBe(true);

  const ids = (await t.db.selectFrom('events').select('id').orderBy('seq').execute()).map((r) => r.id);
  expect(ids).toEqual(emulator.model.events().map((e) => e.id));
  expect(new Set(ids).size).toBe(EVENTS);
  expect(await readCursor(t.db)).toBe(emulator.model.events().at(-1)!.id);

  // The same backfill, never interrupted, on a database of its own.
  const clean = await createTestDatabase({ migrate: false });
  try {
    const run = await finished(spawnCli(['backfill'], { ...env, DATABASE_URL: clean.url }));
    expect(run.code).toBe(0);
    expect(await mirrorOf(t.db)).toEqual(await mirrorOf(clean.db));
    const outcomes = (db: typeof t.db) =>
      db.selectFrom('events').select(['id', 'outcome']).orderBy('seq').execute();
    expect(await outcomes(t.db)).toEqual(await outcomes(clean.db));
  } finally {
    await clean.close();
  }
});
