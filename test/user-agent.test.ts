/**
 * Every request to WorkOS says who sends it and what for, so WorkOS support can tell:
 * `User-Agent: workos-sync/<version> (<phase>) workos-node/<sdk version>`, the version read from
 * the package's package.json at run time. The phase is `backfill` or `poll` for events pages
 * (the worker polls), and `reconcile` for every List Connections page, whichever operation
 * reconciles (a new mirror's backfill, a cursor recovery). As the emulator received them, from
 * the real SDK over HTTP: through the library (the sources) and the built CLI (dist/).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { createWorkosSync } from '../src/index.ts';
import { cliEnv } from './support/cli.ts';
import { createDatabaseUrl } from './support/database.ts';
import { API_KEY } from './support/sync.ts';
import { until } from './support/worker-process.ts';

const manifest = (path: string) => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8'));
const version: string = manifest('../package.json').version;
const sdkVersion: string = manifest('../node_modules/@workos-inc/node/package.json').version;
const agent = (phase: string) => `workos-sync/${version} (${phase}) workos-node/${sdkVersion}`;

let emulator: Emulator;
let model: WorkosModel;

beforeAll(async () => {
  model = new WorkosModel({ seed: 7 });
  generateScenario(model, { seed: 7, events: 150 });
  emulator = await startEmulator({ apiKey: API_KEY, model });
});
afterAll(() => emulator.close());

/** The User-Agents each path was requested with while `work` ran. */
async function agentsDuring(work: () => Promise<unknown>): Promise<Record<string, string[]>> {
  const before = emulator.requests.length;
  await work();
  const byPath: Record<string, Set<string | undefined>> = {};
  for (const r of emulator.requests.slice(before)) {
    byPath[r.path] ??= new Set();
    byPath[r.path]!.add(r.userAgent);
  }
  return Object.fromEntries(Object.entries(byPath).map(([path, agents]) => [path, [...agents].map(String)]));
}

const newEvent = () => model.activate(model.createConnection({ name: `UA ${Math.random()}` }).id);

describe('through the library', () => {
  it('backfill, poll, reconcile, a cursor recovery and the worker each say what they are for', async () => {
    const sync = createWorkosSync({
      apiKey: API_KEY,
      apiUrl: emulator.url,
      database: { url: await createDatabaseUrl() },
      pollCron: '* * * * * *',
      http: false,
      logger: pino({ level: 'silent' }),
    });
    try {
      await sync.migrate();
      // A new mirror's backfill starts with a reconciliation: its listing says so.
      expect(await agentsDuring(() => sync.backfill())).toEqual({
        '/connections': [agent('reconcile')],
        '/organizations': [agent('reconcile')],
        '/events': [agent('backfill')],
      });
      newEvent();
      expect(await agentsDuring(() => sync.poll())).toEqual({ '/events': [agent('poll')] });
      expect(await agentsDuring(() => sync.reconcile())).toEqual({
        '/connections': [agent('reconcile')],
        '/organizations': [agent('reconcile')],
      });
      // A domain event lists its organization's connections again: a refresh.
      const { data: organization } = model.createOrganization({ name: 'UA Corp' });
      model.addDomain(organization.id, 'ua.example');
      expect(await agentsDuring(() => sync.poll())).toEqual({
        '/events': [agent('poll')],
        '/connections': [agent('refresh')],
      });

      // The stored cursor refused: confirmed, then recovered by a reconciliation and a restart.
      emulator.faults.add({ kind: 'status', status: 400, path: '/events' });
      newEvent();
      expect(await agentsDuring(() => sync.poll())).toEqual({
        '/events': [agent('poll')],
        '/connections': [agent('reconcile')],
        '/organizations': [agent('reconcile')],
      });
      expect((await sync.status()).lastRecovery).not.toBeNull();

      const worker = sync.start();
      const agents = await agentsDuring(async () => {
        await worker.ready;
        const polled = emulator.requests.length;
        await until(async () => emulator.requests.slice(polled).some((r) => r.path === '/events'), 10_000);
        await worker.stop();
      });
      expect(agents['/events']).toEqual([agent('poll')]);
      // (a scheduled reconciliation, should the hour's tick fall inside this test)
      for (const listing of [...(agents['/connections'] ?? []), ...(agents['/organizations'] ?? [])])
        expect(listing).toBe(agent('reconcile'));
    } finally {
      await sync.close();
    }
  });
});

describe('through the built CLI', () => {
  // Inside the project, so the built files resolve node_modules as dist/ would (as build.test.ts).
  mkdirSync('.test-build', { recursive: true });
  const out = mkdtempSync(join('.test-build', 'dist-ua-'));
  const run = promisify(execFile);
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  beforeAll(async () => {
    await run(process.execPath, [
      'node_modules/typescript/bin/tsc',
      '-p',
      'tsconfig.build.json',
      '--outDir',
      out,
    ]);
    await run(process.execPath, ['scripts/write-bin.mjs', out]);
  }, 180_000);

  it('backfill, poll and reconcile carry the version from package.json and their phase', async () => {
    const env = cliEnv({
      DATABASE_URL: await createDatabaseUrl(),
      WORKOS_API_KEY: API_KEY,
      WORKOS_API_URL: emulator.url,
    });
    const cli = (...args: string[]) => run(process.execPath, [join(out, 'cli.js'), ...args], { env });
    expect(await agentsDuring(() => cli('backfill'))).toEqual({
      '/connections': [agent('reconcile')],
      '/organizations': [agent('reconcile')],
      '/events': [agent('backfill')],
    });
    newEvent();
    expect(await agentsDuring(() => cli('poll'))).toEqual({ '/events': [agent('poll')] });
    expect(await agentsDuring(() => cli('reconcile'))).toEqual({
      '/connections': [agent('reconcile')],
      '/organizations': [agent('reconcile')],
    });
  });
});
