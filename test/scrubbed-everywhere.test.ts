/**
 * Secrets never reach a stored row, through the entry points users have: an error whose text
 * quotes the API key is stored with the key as `[redacted]` — in `sync_state.last_poll_error` when
 * an application's hook fails with it (the library's poll waits the failure out and records it),
 * in `reconciliation_runs.error` when WorkOS (or a proxy before it) answers a listing with a
 * refusal that echoes it, from the library and from the CLI's `reconcile`. The scrubber's own unit
 * tests cannot see whether the runs are handed the real one: these read the rows the runs wrote.
 * (The CLI has no hooks, and no error it waits out quotes WorkOS's words, so its polls store
 * nothing that could hold the key.) Real Postgres, the emulator, real child processes.
 */
import pino from 'pino';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { createWorkosSync } from '../src/index.ts';
import { finished, spawnCli } from './support/cli.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { API_KEY } from './support/sync.ts';

const ECHO = { message: `upstream refused the request of ${API_KEY}` };
let emulator: Emulator;
let t: TestDatabase;

beforeAll(async () => {
  const model = new WorkosModel({ seed: 79 });
  generateScenario(model, { seed: 79, events: 20 });
  emulator = await startEmulator({ apiKey: API_KEY, model });
});
afterEach(async () => {
  emulator.faults.clear();
  await t.close();
});
afterAll(() => emulator.close());

const lastPollError = async () =>
  (
    await t.db
      .selectFrom('sync_state')
      .select('last_poll_error')
      .where('stream', '=', 'events')
      .executeTakeFirst()
  )?.last_poll_error ?? null;
const runErrors = async () =>
  (await t.db.selectFrom('reconciliation_runs').select('error').where('status', '=', 'failed').execute()).map(
    (r) => r.error,
  );

function expectRedacted(text: string | null): void {
  expect(text).not.toBeNull();
  expect(text).not.toContain(API_KEY);
  expect(text).toContain('[redacted]');
}

it('the library: a hook failing with the key in its error, and a refused listing echoing it, are stored redacted', async () => {
  t = await createTestDatabase();
  const sync = createWorkosSync({
    apiKey: API_KEY,
    apiUrl: emulator.url,
    database: { url: t.url },
    logger: pino({ level: 'silent' }),
    onChange: () => {
      throw new Error(`the CRM refused ${API_KEY}`);
    },
  });
  try {
    await sync.migrate();
    await expect(sync.poll({ hookAttempts: 2, backoff: { initialMs: 1, maxMs: 1 } })).rejects.toThrow(
      'an onChange hook failed',
    );
    expectRedacted(await lastPollError());

    emulator.faults.add({ kind: 'status', status: 400, body: ECHO, path: '/connections', times: 1_000 });
    await expect(sync.reconcile()).rejects.toThrow();
    const [error] = await runErrors();
    expectRedacted(error ?? null);
  } finally {
    await sync.close();
  }
});

it('the CLI: a refused listing echoing the key is stored redacted, and said redacted', async () => {
  t = await createTestDatabase();
  const env = { DATABASE_URL: t.url, WORKOS_API_KEY: API_KEY, WORKOS_API_URL: emulator.url };
  emulator.faults.add({ kind: 'status', status: 400, body: ECHO, path: '/connections', times: 1_000 });
  const reconciled = await finished(spawnCli(['reconcile'], env));
  expect(reconciled.code).not.toBe(0);
  expect(reconciled.stderr).not.toContain(API_KEY);
  const [error] = await runErrors();
  expectRedacted(error ?? null);
});
