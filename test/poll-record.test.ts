/**
 * A poll whose bookkeeping (`caught_up_at`, `last_poll_error`) cannot be written is neither failed
 * nor silent: `run` goes on polling and applying, says it once when writing it starts failing and
 * once when it works again, and counts every failure in `workos_sync_poll_record_failures_total`.
 * The fault is Postgres refusing the bookkeeping's update (a trigger), not the cursor's. Real
 * Postgres, the emulator, `run` in a child process.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { API_KEY } from './support/sync.ts';
import { startWorkerProcess, until, type WorkerProcess } from './support/worker-process.ts';

let emulator: Emulator;
let t: TestDatabase;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  const model = new WorkosModel({ seed: 83 });
  generateScenario(model, { seed: 83, events: 20 });
  emulator = await startEmulator({ apiKey: API_KEY, model });
  t = await createTestDatabase();
});
afterAll(async () => {
  if (worker && worker.child.exitCode === null) worker.child.kill('SIGKILL');
  await emulator.close();
  await t.close();
});

const lines = (w: WorkerProcess, msg: string) =>
  w
    .logs()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { msg: string; level: number })
    .filter((l) => l.msg.startsWith(msg));

it(
  'run says it once, counts each, goes on applying, and says when it is recorded again',
  { timeout: 90_000 },
  async () => {
    await sql`create function public.refuse_bookkeeping() returns trigger language plpgsql as
    $$ begin raise exception 'the bookkeeping may not be written now'; end $$`.execute(t.db);
    await sql`create trigger refuse_bookkeeping before update on workos.sync_state for each row
    when (new.last_poll_at is distinct from old.last_poll_at and new.cursor is not distinct from old.cursor) execute function public.refuse_bookkeeping()`.execute(
      t.db,
    );
    const w = await startWorkerProcess({
      DATABASE_URL: t.url,
      WORKOS_API_KEY: API_KEY,
      WORKOS_API_URL: emulator.url,
    });
    worker = w;
    const failures = async () => (await w.metric('workos_sync_poll_record_failures_total')) ?? 0;
    await until(
      async () => (await failures()) >= 3,
      30_000,
      () => w.logs(),
    );
    // Polling and applying go on: a new event still reaches the mirror.
    const live = emulator.model.liveConnections().find((c) => c.state !== 'inactive')!;
    emulator.model.deactivate(String(live.id));
    const state = async () =>
      (
        await t.db
          .selectFrom('connections')
          .select('state')
          .where('id', '=', String(live.id))
          .executeTakeFirst()
      )?.state;
    await until(
      async () => (await state()) === 'inactive',
      30_000,
      () => w.logs(),
    );
    expect(lines(w, 'could not record the poll')).toEqual([expect.objectContaining({ level: 40 })]);

    await sql`drop trigger refuse_bookkeeping on workos.sync_state`.execute(t.db);
    await until(
      () => lines(w, 'the poll is recorded again').length === 1,
      30_000,
      () => w.logs(),
    );
    const counted = await failures();
    const { caught_up_at } = await t.db
      .selectFrom('sync_state')
      .select('caught_up_at')
      .where('stream', '=', 'events')
      .executeTakeFirstOrThrow();
    expect(caught_up_at).not.toBeNull();
    await until(
      async () =>
        (
          await t.db
            .selectFrom('sync_state')
            .select('last_poll_at')
            .where('stream', '=', 'events')
            .executeTakeFirstOrThrow()
        ).last_poll_at! > caught_up_at!,
      30_000,
    );
    expect(await failures()).toBe(counted);
    expect(lines(w, 'could not record the poll')).toHaveLength(1);
    w.child.kill('SIGTERM');
    expect((await w.exited).code).toBe(0);
  },
);
