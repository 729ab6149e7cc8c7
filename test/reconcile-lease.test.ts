/**
 * A reconciliation outside the worker — `createWorkosSync().reconcile()` and the CLI's
 * `reconcile` — holds the `reconcile` lease as the worker's does: two never run at once. Held by
 * another process, it waits (saying who holds it) or, with `--no-wait` / `wait: false`, refuses at
 * once (exit 4 / `LeaseHeldError`) having run nothing. A run whose process was killed is not left
 * `running` for ever: the next reconciliation, once it holds the lease, records it as abandoned.
 * The bad orders are forced: a foreign lease row, a hook that holds the first run inside its
 * transaction, a SIGKILL while the listing is slowed. Real Postgres, the emulator, real processes.
 */
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { createWorkosSync, LeaseHeldError } from '../src/index.ts';
import { ABANDONED } from '../src/sync/reconcile/runs.ts';
import { finished, spawnCli } from './support/cli.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { API_KEY } from './support/sync.ts';
import { until } from './support/worker-process.ts';

let emulator: Emulator;
let t: TestDatabase;

beforeAll(async () => {
  const model = new WorkosModel({ seed: 89 });
  generateScenario(model, { seed: 89, events: 20 });
  emulator = await startEmulator({ apiKey: API_KEY, model });
});
afterEach(async () => {
  emulator.faults.clear();
  await t.close();
});
afterAll(() => emulator.close());

const env = () => ({
  DATABASE_URL: t.url,
  WORKOS_API_KEY: API_KEY,
  WORKOS_API_URL: emulator.url,
  WORKOS_SYNC_LEASE_SECONDS: '2',
  LOG_LEVEL: 'info',
});
const runs = () =>
  t.db.selectFrom('reconciliation_runs').select(['id', 'status', 'error']).orderBy('id').execute();
const holdLease = (holder: string) =>
  sql`insert into workos.leases (environment, name, holder, acquired_at, expires_at)
      values ('default', 'reconcile', ${holder}, now(), now() + interval '1 hour')`.execute(t.db);

it('the CLI with --no-wait: exit 4 and one line naming the holder, nothing run', async () => {
  t = await createTestDatabase();
  await holdLease('elsewhere:41:cafe01');
  const result = await finished(spawnCli(['reconcile', '--no-wait'], env()));
  expect(result.code, result.stderr).toBe(4);
  expect(
    result.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('workos-sync:')),
  ).toEqual([
    'workos-sync: the reconcile lease is held by elsewhere:41:cafe01; not waiting for it (--no-wait)',
  ]);
  expect(await runs()).toEqual([]);
});

it('the CLI without it: waits, saying who holds the lease, and runs once it is free', async () => {
  t = await createTestDatabase();
  await holdLease('elsewhere:42:cafe02');
  const child = spawnCli(['reconcile'], env());
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const done = finished(child);
  await until(
    () => stderr.includes('waiting for the reconcile lease'),
    20_000,
    () => stderr,
  );
  expect(stderr).toContain('elsewhere:42:cafe02');
  expect(await runs()).toEqual([]);
  await sql`delete from workos.leases where name = 'reconcile'`.execute(t.db);
  const result = await done;
  expect(result.code, stderr).toBe(0);
  expect((await runs()).map((r) => r.status)).toEqual(['succeeded']);
});

it('the library: a second reconcile while the first holds the lease is refused with wait: false', async () => {
  t = await createTestDatabase();
  let release: () => void = () => {};
  let entered: () => void = () => {};
  const inHook = new Promise<void>((resolve) => {
    entered = resolve;
  });
  const sync = createWorkosSync({
    apiKey: API_KEY,
    apiUrl: emulator.url,
    database: { url: t.url },
    leaseSeconds: 5,
    logger: pino({ level: 'silent' }),
    onChange: () => {
      entered();
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    },
  });
  try {
    await sync.migrate();
    const first = sync.reconcile();
    await inHook; // the first run is inside its write transaction, holding the lease
    const second = await sync.reconcile({ wait: false }).catch((error: unknown) => error);
    expect(second).toBeInstanceOf(LeaseHeldError);
    expect((second as LeaseHeldError).holder).toMatch(/:\d+:[0-9a-f]{6}$/);
    release();
    expect((await first).runId).not.toBeNull();
    expect((await runs()).map((r) => r.status)).toEqual(['succeeded']);
  } finally {
    release();
    await sync.close();
  }
});

it('a reconcile killed mid-run: the next one, once it holds the lease, records that run as abandoned', async () => {
  t = await createTestDatabase();
  // Slow listing pages: the run is under way, its row `running`, when it is killed.
  emulator.faults.add({ kind: 'delay', ms: 3_000, path: '/connections', times: 1 });
  const killed = spawnCli(['reconcile'], env());
  const gone = finished(killed);
  await until(async () => (await runs()).some((r) => r.status === 'running'), 20_000);
  killed.kill('SIGKILL');
  await gone;
  expect((await runs()).map((r) => r.status)).toEqual(['running']);

  const result = await finished(spawnCli(['reconcile'], env()));
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).toContain('recorded as abandoned');
  const [abandoned, next] = await runs();
  expect(abandoned).toMatchObject({ status: 'failed', error: ABANDONED });
  expect(next).toMatchObject({ status: 'succeeded' });
});
