/**
 * The library's environments (`sync.environment(name)`, `sync.environmentsStatus()`), on a real
 * Postgres and the emulator serving two WorkOS environments besides `default`: each environment's
 * methods reach its rows only, with a WorkOS client of its own key behind the process's request
 * gate; an unknown name and a top-level call with several declared are ConfigErrors naming the
 * environments; an environment other than `default` is not written before the keys are finalized.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { migrations } from '../migrations/index.ts';
import { loadConfig } from '../src/config.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { ConfigError, createWorkosSync } from '../src/index.ts';
import { workosSyncFrom } from '../src/workos-sync.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

const keyOf = (name: string) => `sk_test_library_env_${name}_secret`;
const quiet = () => pino({ level: 'silent' });

let emulator: Emulator;
let dir: string;
let file: string;
const databases: TestDatabase[] = [];

beforeAll(async () => {
  const model = new WorkosModel({ seed: 59 });
  generateScenario(model, { seed: 59, events: 60 });
  emulator = await startEmulator({ apiKey: keyOf('default'), model });
  for (const [i, name] of ['alpha', 'beta'].entries()) {
    const model = new WorkosModel({ environment: name, seed: 60 + i });
    generateScenario(model, { seed: 60 + i, events: 120 });
    emulator.addEnvironment(name, { apiKey: keyOf(name), model });
  }
  dir = mkdtempSync(join(tmpdir(), 'workos-sync-library-environments-'));
  file = join(dir, 'environments.yaml');
  writeFileSync(
    file,
    'environments:\n  - name: alpha\n    api_key_env: KEY_ALPHA\n  - name: beta\n    api_key_env: KEY_BETA\n',
  );
});

afterAll(async () => {
  await emulator?.close();
  for (const t of databases) await t.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function syncOn(t: TestDatabase) {
  const config = loadConfig(
    { DATABASE_URL: t.url, WORKOS_API_URL: emulator.url, KEY_ALPHA: keyOf('alpha'), KEY_BETA: keyOf('beta') },
    { WORKOS_SYNC_ENVIRONMENTS_FILE: file },
  );
  return workosSyncFrom(config, { logger: quiet() });
}

async function fresh(): Promise<TestDatabase> {
  const t = await createTestDatabase();
  databases.push(t);
  return t;
}

const lastEventOf = (name: string) => emulator.environment(name)!.model.events().at(-1)!.id;

describe('sync.environment(name)', () => {
  it('each environment its own rows and its own key; every status at once', async () => {
    const t = await fresh();
    const sync = syncOn(t);
    try {
      const alpha = sync.environment('alpha');
      expect(sync.environment('alpha')).toBe(alpha);
      expect(alpha.name).toBe('alpha');
      const beta = sync.environment('beta');

      expect((await alpha.backfill()).totals).toMatchObject({ caughtUp: true, cursor: lastEventOf('alpha') });
      // alpha's requests with alpha's key only; nothing of beta's yet
      const environments = new Set(emulator.requests.map((r) => r.environment));
      expect(environments.has('alpha') && !environments.has('beta')).toBe(true);
      expect(await t.environment('beta').selectFrom('connections').select('id').execute()).toEqual([]);

      // beta's WorkOS client is behind the process's request gate: the fleet paused, it waits.
      await t.whole
        .updateTable('request_budget')
        .set({ paused_until: sql<Date>`now() + interval '2 seconds'` })
        .execute();
      const started = performance.now();
      const polled = emulator.requests.length;
      expect(await beta.poll()).toMatchObject({ caughtUp: true, cursor: lastEventOf('beta') });
      expect(performance.now() - started).toBeGreaterThan(1_500);
      expect(emulator.requests.slice(polled).every((r) => r.environment === 'beta')).toBe(true);

      const alphaRows = await t.environment('alpha').selectFrom('connections').selectAll().execute();
      expect((await beta.reconcile()).counts).toMatchObject({ deleted: 0 });
      expect(await t.environment('alpha').selectFrom('connections').selectAll().execute()).toEqual(alphaRows);

      const betaIds = new Set(
        (await t.environment('beta').selectFrom('connections').select('id').execute()).map((r) => r.id),
      );
      const certificates = await alpha.certificates();
      expect(certificates.length).toBeGreaterThan(0);
      expect(certificates.filter((c) => betaIds.has(c.connection_id))).toEqual([]);

      // Error texts scrubbed, of every environment's key.
      await t
        .environment('alpha')
        .updateTable('sync_state')
        .set({ last_poll_error: `rejected ${keyOf('alpha')} and ${keyOf('beta')}` })
        .where('stream', '=', 'events')
        .execute();
      expect(await alpha.status()).toMatchObject({
        cursor: lastEventOf('alpha'),
        lastPollError: 'rejected [redacted] and [redacted]',
        database: expect.stringMatching(/^Postgres /),
      });
      const all = await sync.environmentsStatus();
      expect(all.database).toMatch(/^Postgres /);
      expect(all.environments.map((e) => [e.environment, e.declared, e.started, e.cursor])).toEqual([
        ['alpha', true, true, lastEventOf('alpha')],
        ['beta', true, true, lastEventOf('beta')],
        ['default', false, true, null],
      ]);
      expect(all.environments[0]!.lastPollError).toBe('rejected [redacted] and [redacted]');
      expect(all.environments[1]!.lastReconciliation).toMatchObject({ status: 'succeeded' });
    } finally {
      await sync.close();
    }
  }, 60_000);

  it('an unknown name, and the top level with several declared: ConfigErrors naming the environments', async () => {
    const sync = syncOn(await fresh());
    try {
      expect(() => sync.environment('staging')).toThrow(
        new ConfigError(`environment "staging" is not declared: ${file} declares "alpha", "beta"`),
      );
      for (const call of [() => sync.poll(), () => sync.status(), () => sync.certificates()]) {
        await expect(call()).rejects.toThrow(
          new ConfigError(
            `${file} declares "alpha", "beta": pick the environment this command is for with sync.environment(name)`,
          ),
        );
      }
    } finally {
      await sync.close();
    }
  });

  it('without a file: default only, which the top level means', async () => {
    const t = await fresh();
    const sync = createWorkosSync({
      apiKey: keyOf('default'),
      apiUrl: emulator.url,
      database: { url: t.url },
      logger: quiet(),
    });
    try {
      expect(() => sync.environment('alpha')).toThrow(
        new ConfigError(
          'environment "alpha" is not configured: without an environments file (WORKOS_SYNC_ENVIRONMENTS_FILE) there is one environment, "default"',
        ),
      );
      const defaults = sync.environment('default');
      await defaults.backfill();
      expect((await defaults.status()).cursor).toBe(lastEventOf('default'));
      expect((await sync.status()).cursor).toBe(lastEventOf('default'));
      expect((await sync.environmentsStatus()).environments.map((e) => e.environment)).toEqual(['default']);
    } finally {
      await sync.close();
    }
  });

  it('an environment other than default is not written until the keys are led by the environment', async () => {
    // A schema that existed before this release: 0007 waits for `migrate --finalize`.
    const t = await createTestDatabase({ migrate: false });
    databases.push(t);
    await sql`create schema ${sql.id(t.schema)}`.execute(t.whole);
    await sql`create table ${sql.id(t.schema, 'schema_migrations')} (name text primary key, applied_at timestamptz not null default now())`.execute(
      t.whole,
    );
    await t.whole.transaction().execute((trx) => migrations['0001_initial'].up(trx));
    await sql`insert into ${sql.id(t.schema, 'schema_migrations')} (name) values ('0001_initial')`.execute(
      t.whole,
    );
    expect((await migrateToLatest(t.whole, t.schema)).awaitingFinalize).toEqual(['0007_environment_keys']);

    const sync = syncOn(t);
    try {
      const refused = new ConfigError(
        'environment "alpha" needs the keys led by the environment: run `workos-sync migrate --finalize` once every replica runs this release',
      );
      await expect(sync.environment('alpha').poll()).rejects.toThrow(refused);
      await expect(sync.environment('alpha').reconcile()).rejects.toThrow(refused);
      // reading is harmless
      expect(await sync.environment('alpha').status()).toMatchObject({ cursor: null });
      await sync.migrate({ finalize: true });
      expect(await sync.environment('alpha').poll()).toMatchObject({ caughtUp: true });
    } finally {
      await sync.close();
    }
  }, 60_000);
});
