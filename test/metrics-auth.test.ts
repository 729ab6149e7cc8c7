/**
 * `run` with `WORKOS_SYNC_HTTP_BASIC_AUTH`: its `/metrics` answers only a scrape that gives the
 * credentials (a server bound beyond loopback), the probes stay open, and the password is in no
 * line the process writes. Real Postgres, the emulator, `run` in a child process.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { API_KEY } from './support/sync.ts';
import { startWorkerProcess, until, type WorkerProcess } from './support/worker-process.ts';

const PASSWORD = 'scrape-me-please-1';
let emulator: Emulator;
let t: TestDatabase;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  const model = new WorkosModel({ seed: 97 });
  generateScenario(model, { seed: 97, events: 10 });
  emulator = await startEmulator({ apiKey: API_KEY, model });
  t = await createTestDatabase();
});
afterAll(async () => {
  if (worker && worker.child.exitCode === null) worker.child.kill('SIGKILL');
  await emulator.close();
  await t.close();
});

it('asks a scrape for the credentials, leaves the probes open, and never writes the password', async () => {
  const w = await startWorkerProcess({
    DATABASE_URL: t.url,
    WORKOS_API_KEY: API_KEY,
    WORKOS_API_URL: emulator.url,
    WORKOS_SYNC_HTTP_BASIC_AUTH: `prometheus:${PASSWORD}`,
    LOG_LEVEL: 'debug',
  });
  worker = w;
  const metrics = `${w.url}/metrics`;
  expect((await fetch(metrics)).status).toBe(401);
  const authorization = `Basic ${Buffer.from(`prometheus:${PASSWORD}`).toString('base64')}`;
  await until(async () => (await fetch(metrics, { headers: { authorization } })).status === 200, 10_000);
  expect(await (await fetch(metrics, { headers: { authorization } })).text()).toContain(
    'workos_sync_polls_total',
  );
  expect((await fetch(`${w.url}/healthz`)).status).toBe(200);
  w.child.kill('SIGTERM');
  expect((await w.exited).code).toBe(0);
  expect(w.logs()).not.toContain(PASSWORD);
  expect(w.logs()).not.toContain(authorization.slice(6));
});
