/**
 * `workos-sync doctor` as an operator runs it, against the emulator and a real Postgres, with each
 * fault injected in turn: what it prints (one line a check), and its exit code.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { runCli } from './support/cli.ts';
import { createDatabaseUrl, createTestDatabase, type TestDatabase } from './support/database.ts';
import { applyGrants, createLogin, dropRoles, PASSWORD, query, urlAs } from './support/roles.ts';
import { API_KEY } from './support/sync.ts';
import { freePort } from './support/worker-process.ts';

/** The lines of a text report, as `status check` pairs (the finding after). */
function lines(stdout: string): { status: string; check: string; text: string }[] {
  return stdout
    .trimEnd()
    .split('\n')
    .map((line) => {
      const [, status, check, text] = /^(ok|WARN|FAIL|skip)\s+(.+?)\s{2,}(.*)$/.exec(line)!;
      return { status: status!, check: check!, text: text! };
    });
}

const statusOf = (stdout: string, check: string) => lines(stdout).find((l) => l.check === check);

describe('workos-sync doctor', () => {
  let emulator: Emulator;
  let database: TestDatabase;
  let env: Record<string, string>;
  const suffix = randomBytes(3).toString('hex');
  const roles: string[] = [];
  beforeAll(async () => {
    const model = new WorkosModel({ seed: 61 });
    generateScenario(model, { seed: 61, events: 40 });
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
  afterAll(async () => {
    if (roles.length > 0) await dropRoles([database.url], roles);
    await emulator?.close();
    await database?.close();
  });

  it('a healthy deployment: every check ok (certificates may warn), exit 0', async () => {
    const result = await runCli(['doctor'], env);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const checks = lines(result.stdout);
    expect(checks.map((c) => c.check)).toEqual([
      'settings',
      'database',
      'privileges',
      'migrations',
      'workos key',
      'host clock',
      'database clock',
      'cursor',
      'webhook secret',
      'certificates',
    ]);
    for (const c of checks.filter((c) => c.check !== 'certificates')) expect(c.status, c.text).toBe('ok');
    expect(statusOf(result.stdout, 'workos key')?.text).toBe(
      'WorkOS accepted the key: sk_test_…, a test environment',
    );
    expect(statusOf(result.stdout, 'cursor')?.text).toMatch(
      /^cursor event_\w+, its event [\d.]+ days old, still served by WorkOS$/,
    );
    expect(result.stdout).not.toContain(API_KEY);

    const json = await runCli(['doctor', '--json'], env);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.ok).toBe(true);
    expect(report.checks).toHaveLength(10);
  });

  it('a key WorkOS rejects', async () => {
    const result = await runCli(['doctor'], { ...env, WORKOS_API_KEY: 'sk_test_not_this_one' });
    expect(result.code).toBe(1);
    expect(statusOf(result.stdout, 'workos key')).toMatchObject({ status: 'FAIL' });
    expect(statusOf(result.stdout, 'workos key')?.text).toMatch(
      /WorkOS rejected the API key \(401 .*→ set the environment's secret API key/,
    );
    expect(result.stdout).not.toContain('sk_test_not_this_one');
  });

  it('WorkOS out of reach', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const result = await runCli(['doctor'], { ...env, WORKOS_API_URL: closed });
    expect(result.code).toBe(1);
    expect(statusOf(result.stdout, 'workos key')).toMatchObject({ status: 'FAIL' });
    expect(statusOf(result.stdout, 'workos key')?.text).toContain(
      `→ check WORKOS_API_URL (${closed}/) and that this host reaches it`,
    );
  });

  it('a cursor WorkOS no longer takes, and one past the shorter documented retention', async () => {
    const state = () =>
      database.db
        .selectFrom('sync_state')
        .selectAll()
        .where('stream', '=', 'events')
        .executeTakeFirstOrThrow();
    const saved = await state();
    try {
      await database.db
        .updateTable('sync_state')
        .set({ cursor: 'event_of_another_environment' })
        .where('stream', '=', 'events')
        .execute();
      const refused = await runCli(['doctor'], env);
      expect(refused.code).toBe(1);
      expect(statusOf(refused.stdout, 'cursor')).toMatchObject({ status: 'FAIL' });
      expect(statusOf(refused.stdout, 'cursor')?.text).toMatch(
        /^WorkOS refuses the cursor event_of_another_environment.*another WorkOS environment/,
      );

      await database.db
        .updateTable('sync_state')
        .set({ cursor: saved.cursor, last_event_created_at: new Date(Date.now() - 40 * 86_400_000) })
        .where('stream', '=', 'events')
        .execute();
      const old = await runCli(['doctor'], env);
      expect(old.code).toBe(0);
      expect(statusOf(old.stdout, 'cursor')).toMatchObject({ status: 'WARN' });
      expect(statusOf(old.stdout, 'cursor')?.text).toMatch(
        /its event 40\.0 days old, is past WorkOS's shorter documented retention \(30 days\)/,
      );
    } finally {
      await database.db
        .updateTable('sync_state')
        .set({ cursor: saved.cursor, last_event_created_at: saved.last_event_created_at })
        .where('stream', '=', 'events')
        .execute();
    }
  });

  it('a webhook secret pasted with its quotes', async () => {
    const result = await runCli(['doctor'], { ...env, WORKOS_WEBHOOK_SECRET: '"whsec_0123456789abcdef"' });
    expect(result.code).toBe(1);
    expect(statusOf(result.stdout, 'webhook secret')).toMatchObject({ status: 'FAIL' });
    expect(result.stdout).not.toContain('0123456789abcdef');
  });

  it('an environments file: each environment checked on its own lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'doctor-'));
    const file = join(dir, 'environments.yaml');
    writeFileSync(
      file,
      [
        'environments:',
        '  - name: production',
        '    api_key_env: PROD_KEY',
        '  - name: staging',
        '    api_key_env: STAGING_KEY',
        '',
      ].join('\n'),
    );
    try {
      const { WORKOS_API_KEY: _key, ...shared } = env;
      const result = await runCli(['doctor'], {
        ...shared,
        WORKOS_SYNC_ENVIRONMENTS_FILE: file,
        PROD_KEY: API_KEY,
        STAGING_KEY: 'sk_test_staging_but_not_known',
      });
      expect(result.code).toBe(1);
      const byCheck = Object.fromEntries(lines(result.stdout).map((l) => [l.check, l.status]));
      expect(byCheck).toMatchObject({
        'production: workos key': 'WARN', // a test key for an environment named production
        'production: cursor': 'ok',
        'staging: workos key': 'FAIL',
        'host clock': 'ok',
      });
      expect(statusOf(result.stdout, 'production: workos key')?.text).toMatch(
        /a sk_test_… key, of a test environment, for the environment named "production"/,
      );
      expect(result.stdout).not.toContain('sk_test_staging_but_not_known');

      const one = await runCli(['doctor', '--environment', 'production'], {
        ...shared,
        WORKOS_SYNC_ENVIRONMENTS_FILE: file,
        PROD_KEY: API_KEY,
        STAGING_KEY: 'x',
      });
      expect(one.code, one.stdout).toBe(0);
      expect(one.stdout).not.toContain('staging:');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a malformed setting: the one check, exit 2', async () => {
    const result = await runCli(['doctor'], { ...env, WORKOS_SYNC_LEASE_SECONDS: 'soon' });
    expect(result.code).toBe(2);
    expect(lines(result.stdout)).toEqual([
      {
        status: 'FAIL',
        check: 'settings',
        text: `WORKOS_SYNC_LEASE_SECONDS must be a number of seconds between 0 and 86400, got "soon" → set it as the README's Configuration says`,
      },
    ]);
  });

  it('the database out of reach: the checks that need it skipped', async () => {
    const nowhere = `postgres://postgres@127.0.0.1:${await freePort()}/mirror`;
    const result = await runCli(['doctor'], { ...env, DATABASE_URL: nowhere });
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(lines(result.stdout).map((l) => [l.check, l.status])).toEqual([
      ['settings', 'ok'],
      ['database', 'FAIL'],
      ['privileges', 'skip'],
      ['migrations', 'skip'],
      ['workos key', 'ok'],
      ['host clock', 'ok'],
      ['webhook secret', 'ok'],
    ]);
    expect(statusOf(result.stdout, 'database')?.text).toMatch(/→ check DATABASE_URL/);
  });

  it('a new database: nothing migrated yet, a warning', async () => {
    const result = await runCli(['doctor'], { ...env, DATABASE_URL: await createDatabaseUrl() });
    expect(result.code, result.stdout).toBe(0);
    expect(statusOf(result.stdout, 'migrations')).toMatchObject({
      status: 'WARN',
      text: expect.stringMatching(/^nothing migrated yet/),
    });
    expect(statusOf(result.stdout, 'cursor')).toMatchObject({ status: 'skip' });
  });

  it('the roles `grants --print-sql` makes: a writer passes, a reader fails; a role that may not create the schema fails', async () => {
    const groups = {
      owner: `doctor_owner_${suffix}`,
      writer: `doctor_writer_${suffix}`,
      reader: `doctor_reader_${suffix}`,
    };
    await applyGrants(database.url, [
      '--schema',
      database.schema,
      ...Object.entries(groups).flatMap(([kind, role]) => [`--${kind}`, role]),
    ]);
    const writer = await createLogin(database.url, 'doctor_w', groups.writer);
    const reader = await createLogin(database.url, 'doctor_r', groups.reader);
    const nobody = await createLogin(database.url, 'doctor_n', 'pg_monitor');
    roles.push(writer.name, reader.name, nobody.name, ...Object.values(groups));

    const asWriter = await runCli(['doctor'], { ...env, DATABASE_URL: writer.url });
    expect(asWriter.code, asWriter.stdout).toBe(0);
    expect(statusOf(asWriter.stdout, 'privileges')).toEqual({
      status: 'ok',
      check: 'privileges',
      text: `role ${writer.name} reads and writes ${database.schema}'s 13 tables, no DDL (a writer)`,
    });
    expect(asWriter.stdout).not.toContain(PASSWORD);

    const asReader = await runCli(['doctor'], { ...env, DATABASE_URL: reader.url });
    expect(asReader.code).toBe(1);
    expect(statusOf(asReader.stdout, 'privileges')?.text).toMatch(
      new RegExp(
        `^role ${reader.name} may not read and write connection_certificates, connection_domains, connections, … \\(\\d+\\) in ${database.schema}: the worker writes every table → grant the writer role`,
      ),
    );

    // An application's login given the tables to read as well (as the README says extras go):
    // reading is not writing.
    const tablesReader = await createLogin(database.url, 'doctor_t', groups.reader);
    roles.push(tablesReader.name);
    await query(
      database.url,
      `grant select on all tables in schema ${database.schema} to ${tablesReader.name}`,
    );
    const asTablesReader = await runCli(['doctor'], { ...env, DATABASE_URL: tablesReader.url });
    expect(asTablesReader.code).toBe(1);
    expect(statusOf(asTablesReader.stdout, 'privileges')?.text).toMatch(
      new RegExp(
        `^role ${tablesReader.name} may not read and write connection_certificates, connection_domains, connections, …`,
      ),
    );

    const asNobody = await runCli(['doctor'], {
      ...env,
      DATABASE_URL: urlAs(await createDatabaseUrl(), nobody.name),
    });
    expect(asNobody.code).toBe(1);
    expect(statusOf(asNobody.stdout, 'privileges')?.text).toMatch(
      new RegExp(
        `^schema ${database.schema} does not exist, and role ${nobody.name} may not create it → run \`workos-sync migrate\` once as the owner role`,
      ),
    );
  });
});

describe('workos-sync doctor: clocks', () => {
  it("WorkOS's clock ten minutes ahead of this host's (and the database's)", async () => {
    const model = new WorkosModel({ seed: 62, clockOffsetMs: 600_000 });
    const emulator = await startEmulator({ apiKey: API_KEY, model });
    const database = await createTestDatabase();
    try {
      const result = await runCli(['doctor'], {
        WORKOS_API_KEY: API_KEY,
        WORKOS_API_URL: emulator.url,
        DATABASE_URL: database.url,
        WORKOS_SYNC_SCHEMA: database.schema,
      });
      expect(result.code).toBe(1);
      expect(statusOf(result.stdout, 'host clock')).toMatchObject({ status: 'FAIL' });
      expect(statusOf(result.stdout, 'host clock')?.text).toMatch(
        /^this host's clock is (59\d|60\d)\.\d s behind WorkOS's: webhook signatures fail/,
      );
      expect(statusOf(result.stdout, 'database clock')).toMatchObject({ status: 'FAIL' });
    } finally {
      await emulator.close();
      await database.close();
    }
  });
});
