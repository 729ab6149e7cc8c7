/**
 * Pruning as operators meet it: `workos-sync prune` (a dry run, JSON, the lease held by someone
 * else, a retention below the floor) and `run`, whose worker prunes after a reconcile fire and
 * counts it in its metrics, with the oldest event kept as a gauge and in `status`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { runCli } from './support/cli.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { API_KEY } from './support/sync.ts';
import { startWorkerProcess, until } from './support/worker-process.ts';

const DAY = 86_400_000;

describe('prune from the command line', () => {
  const realNow = Date.now();
  let now = realNow - 200 * DAY;
  let emulator: Emulator;
  let database: TestDatabase;
  let env: Record<string, string>;
  let oldEvents: number;

  beforeAll(async () => {
    const model = new WorkosModel({ seed: 51, clock: () => new Date(now) });
    generateScenario(model, { seed: 51, events: 40, start: new Date(realNow - 210 * DAY) });
    now = realNow;
    generateScenario(model, { seed: 52, events: 20, start: new Date(realNow - 5 * DAY) });
    oldEvents = model.events().filter((e) => Date.parse(String(e.created_at)) < realNow - 150 * DAY).length;
    emulator = await startEmulator({ apiKey: API_KEY, model });
    database = await createTestDatabase({ migrate: false });
    env = {
      WORKOS_API_KEY: API_KEY,
      WORKOS_API_URL: emulator.url,
      DATABASE_URL: database.url,
      WORKOS_SYNC_SCHEMA: database.schema,
    };
    const backfill = await runCli(['backfill'], env);
    expect(backfill.code, backfill.stderr).toBe(0);
  });
  const holdPruneLease = () =>
    database.db
      .insertInto('leases')
      .values({
        name: 'prune',
        holder: 'elsewhere:1',
        acquired_at: new Date(),
        expires_at: new Date(Date.now() + 600_000),
      })
      .execute();

  afterAll(async () => {
    await emulator?.close();
    await database?.close();
  });

  it('refuses a retention below the floor in one line, exit 2', async () => {
    const result = await runCli(['prune', '--dry-run'], { ...env, WORKOS_SYNC_EVENTS_RETENTION_DAYS: '30' });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      `workos-sync: WORKOS_SYNC_EVENTS_RETENTION_DAYS must be a whole number of days from 120 (WorkOS's retention and a margin) to 36500, or forever, got "30"`,
    ]);
  });

  it('says what a dry run would prune, and deletes nothing', async () => {
    const count = async () =>
      Number(
        (
          await database.db
            .selectFrom('events')
            .select(database.db.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await count();
    const result = await runCli(['prune', '--dry-run', '--json'], {
      ...env,
      WORKOS_SYNC_EVENTS_RETENTION_DAYS: '150',
    });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ dryRun: true, retentionDays: 150, batches: 0 });
    const total = Object.values(report.pruned as Record<string, number>).reduce((a, b) => a + b, 0);
    // Old events a mirror row points at are kept, so fewer than all of them go, but most do.
    expect(total).toBeGreaterThan(oldEvents / 2);
    expect(total).toBeLessThan(oldEvents);
    expect(await count()).toBe(before);

    const text = await runCli(['prune', '--dry-run'], { ...env, WORKOS_SYNC_EVENTS_RETENTION_DAYS: '150' });
    expect(text.stdout).toBe(
      `dry run: ${total} events older than 150 days would be pruned (applied ${report.pruned.applied}, stale ${report.pruned.stale}, ignored ${report.pruned.ignored}, quarantined 0); nothing was deleted\n`,
    );
  });

  it('exits 4 with --no-wait while another process holds the prune lease', async () => {
    await holdPruneLease();
    try {
      const result = await runCli(['prune', '--no-wait'], {
        ...env,
        WORKOS_SYNC_EVENTS_RETENTION_DAYS: '150',
      });
      expect(result.code).toBe(4);
      expect(result.stderr).toContain(
        'workos-sync: the prune lease is held by elsewhere:1; not waiting for it (--no-wait)',
      );
    } finally {
      await database.db.deleteFrom('leases').where('name', '=', 'prune').execute();
    }
  });

  it('`run` prunes after a reconcile fire, once no one else holds the lease: counted in the metrics, the oldest kept in a gauge and in status', async () => {
    await holdPruneLease();
    const worker = await startWorkerProcess({
      ...env,
      WORKOS_SYNC_EVENTS_RETENTION_DAYS: '150',
      WORKOS_SYNC_RECONCILE_CRON: '* * * * * *',
      LOG_LEVEL: 'debug',
    });
    try {
      await until(
        () => worker.logs().includes('not pruning: another replica holds the prune lease'),
        30_000,
        () => worker.logs(),
      );
      expect(await worker.metric('workos_sync_events_pruned_total', { outcome: 'applied' })).toBe(0);
      await database.db.deleteFrom('leases').where('name', '=', 'prune').execute();
      await until(
        async () =>
          ((await worker.metric('workos_sync_events_pruned_total', { outcome: 'applied' })) ?? 0) > 0,
        30_000,
        () => worker.logs(),
      );
      const age = (await worker.metric('workos_sync_oldest_event_age_seconds'))!;
      const status = await runCli(['status', '--json'], env);
      const oldest = new Date(JSON.parse(status.stdout).oldestEventCreatedAt).getTime();
      // What is left that old is what a mirror row points at; the gauge says how old it is.
      expect(Math.abs(age - (Date.now() - oldest) / 1000)).toBeLessThan(60);
      expect(worker.logs()).toContain('events past retention pruned');
    } finally {
      worker.child.kill('SIGTERM');
      expect((await worker.exited).code).toBe(0);
    }
  });
});
