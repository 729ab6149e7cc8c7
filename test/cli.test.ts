/**
 * The command line as users run it: real child processes, real Postgres, the emulator over HTTP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { migrations } from '../migrations/index.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/connect.ts';
import { runCli } from './support/cli.ts';
import { createDatabaseUrl } from './support/database.ts';
import { silentLogger } from './support/logs.ts';
import { API_KEY } from './support/sync.ts';

let emulator: Emulator;
beforeAll(async () => {
  const model = new WorkosModel({ seed: 11 });
  generateScenario(model, { seed: 11, events: 1_500 });
  // Organizations WorkOS made before the events retained: only a listing brings them.
  model.createOrganization({ name: 'Acme', domains: ['acme.example'], silent: true });
  model.createOrganization({ name: 'Globex', domains: ['globex.example', 'globex.io'], silent: true });
  emulator = await startEmulator({ apiKey: API_KEY, model });
});
afterAll(() => emulator.close());

describe('configuration errors: one line naming the setting, exit code 2', () => {
  it.each([
    [{ WORKOS_SYNC_SCHEMA: 'Robert"); drop table' }, 'WORKOS_SYNC_SCHEMA'],
    [{ DATABASE_URL: 'mysql://localhost/x' }, 'DATABASE_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ WORKOS_API_URL: 'not a url' }, 'WORKOS_API_URL'],
    [{ WORKOS_SYNC_POLL_CRON: 'every minute' }, 'WORKOS_SYNC_POLL_CRON'],
    [{ WORKOS_SYNC_HTTP_PORT: '99999' }, 'WORKOS_SYNC_HTTP_PORT'],
    [{ DATABASE_URL: 'postgres://sync:100%pure-pw@localhost/db' }, 'DATABASE_URL'],
  ])('%o', async (env, name) => {
    const result = await runCli(['status'], env);
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(name);
    expect(lines[0]).not.toContain('pure-pw');
  });

  it('a command that calls WorkOS without WORKOS_API_KEY', async () => {
    const result = await runCli(['poll'], { DATABASE_URL: await createDatabaseUrl() });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      'workos-sync: WORKOS_API_KEY is not set: this command calls WorkOS and needs an API key',
    );
  });

  it('a malformed --since', async () => {
    const result = await runCli(['backfill', '--since', 'last tuesday'], {
      WORKOS_API_KEY: API_KEY,
      DATABASE_URL: await createDatabaseUrl(),
    });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      'workos-sync: --since must be an ISO 8601 date or time, got "last tuesday"',
    );
  });

  it('an unknown command', async () => {
    expect((await runCli(['frobnicate'], {})).code).toBe(2);
  });
});

describe('migrate', () => {
  it('--print-sql prints the pending migrations and applies nothing', async () => {
    const url = await createDatabaseUrl();
    const result = await runCli(['migrate', '--print-sql', '--schema', 'mirror'], { DATABASE_URL: url });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('create schema if not exists "mirror";');
    expect(result.stdout).toMatch(/create table "mirror"\."connections"/);
    expect(result.stdout).toMatch(/create view "mirror"\."expiring_certificates"/);
    expect(await schemaExists(url, 'mirror')).toBe(false);
  });

  it('is safe when several processes start at once', async () => {
    const url = await createDatabaseUrl();
    const results = await Promise.all([1, 2, 3, 4].map(() => runCli(['migrate'], { DATABASE_URL: url })));
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    const all = Object.keys(migrations);
    expect(results.filter((r) => r.stdout.includes(`applied ${all.length} migration`))).toHaveLength(1);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query('select name from workos.schema_migrations');
    await client.end();
    expect(rows).toEqual(all.map((name) => ({ name })));
  });
});

describe('certs', () => {
  it('lists certificates most urgent first; --fail-if-expiring exits 3 inside the window', async () => {
    const url = await createDatabaseUrl();
    const env = { DATABASE_URL: url, WORKOS_API_KEY: API_KEY, WORKOS_API_URL: emulator.url };
    expect((await runCli(['backfill'], env)).code).toBe(0);
    const all = await runCli(['certs', '--json'], env);
    expect(all.code).toBe(0);
    const rows = JSON.parse(all.stdout) as { expiry_date: string; days_left: number }[];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.map((r) => r.expiry_date)).toEqual([...rows.map((r) => r.expiry_date)].sort());
    const soon = await runCli(['certs', '--expiring-within', '30d', '--fail-if-expiring'], env);
    const inWindow = rows.filter((r) => r.days_left < 30).length;
    expect(soon.code).toBe(inWindow > 0 ? 3 : 0);
    expect(soon.stdout).toContain(`(${inWindow} row`);
    const none = await runCli(['certs', '--expiring-within', '0d', '--fail-if-expiring', '--json'], env);
    const expired = rows.filter((r) => r.days_left < 0).length;
    expect(none.code).toBe(expired > 0 ? 3 : 0);
    expect((await runCli(['certs', '--expiring-within', 'soon'], env)).code).toBe(2);
  });
});

describe('the embedded database', () => {
  it('refuses a second process with a clear error instead of sharing the folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'workos-sync-lock-'));
    const config = loadConfig({ WORKOS_SYNC_DATA_DIR: dir });
    const held = await openDatabase(config.database, silentLogger());
    try {
      const second = await runCli(['status'], { WORKOS_SYNC_DATA_DIR: dir });
      expect(second.code).toBe(1);
      expect(second.stderr.trim()).toBe(
        `workos-sync: the embedded database in ${dir} is in use by process ${process.pid}; stop it, or set DATABASE_URL to share a Postgres server`,
      );
    } finally {
      await held.close();
    }
    const after = await runCli(['status', '--json'], { WORKOS_SYNC_DATA_DIR: dir });
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout).cursor).toBeNull();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('reconcile', () => {
  it('--dry-run prints the drift and writes nothing; without it the run is recorded', async () => {
    const url = await createDatabaseUrl();
    const env = { DATABASE_URL: url, WORKOS_API_KEY: API_KEY, WORKOS_API_URL: emulator.url };
    const live = emulator.model.liveConnections().length;
    const dry = await runCli(['reconcile', '--dry-run'], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^dry run: reconciliation would change the following \(nothing was written\)/);
    expect(dry.stdout).toMatch(new RegExp(`inserted\\s+${live}\\n`));
    // the two organizations WorkOS made silently, and their three domains
    expect(dry.stdout).toMatch(/^organizations\s+2 seen: 2 inserted, 0 updated, 0 deleted$/m);
    expect(dry.stdout).toMatch(/^domains\s+3 seen: 3 inserted, 0 updated, 0 deleted$/m);
    expect(dry.stdout).toMatch(/^ {2}inserted org_\S+ "Globex"$/m);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    expect((await client.query('select count(*)::int as n from workos.connections')).rows[0].n).toBe(0);
    expect((await client.query('select count(*)::int as n from workos.reconciliation_runs')).rows[0].n).toBe(
      0,
    );
    const real = await runCli(['reconcile', '--json'], env);
    expect(real.code).toBe(0);
    expect(JSON.parse(real.stdout).counts).toMatchObject({ inserted: live, deleted: 0 });
    expect((await client.query('select count(*)::int as n from workos.live_connections')).rows[0].n).toBe(
      live,
    );
    await client.end();
  });
});

describe('backfill, poll, status', () => {
  it('--max-pages bounds a backfill and a reconciliation; the next run goes on exactly there', async () => {
    const env = {
      DATABASE_URL: await createDatabaseUrl(),
      WORKOS_API_KEY: API_KEY,
      WORKOS_API_URL: emulator.url,
    };
    const bounded = await runCli(['backfill', '--max-pages', '3', '--json'], env);
    expect(bounded.code, bounded.stderr).toBe(0);
    expect(JSON.parse(bounded.stdout)).toMatchObject({ pages: 3, events: 300, caughtUp: false });
    const human = await runCli(['poll', '--max-pages', '2'], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^poll stopped at --max-pages \(run it again to go on\)/);
    const rest = await runCli(['backfill', '--json'], env);
    expect(JSON.parse(rest.stdout)).toMatchObject({ events: 1_000, caughtUp: true, duplicate: 0 });

    const reconcile = await runCli(['reconcile', '--max-pages', '1'], env);
    expect(reconcile.code).toBe(0);
    expect(reconcile.stdout).toMatch(
      /stopped at --max-pages, 1 page\(s\) into the listing: run it again to continue/,
    );
    // The next bounded run goes on from the second page, to the listing's end.
    const live = emulator.model.liveConnections().length;
    expect(live).toBeGreaterThan(100);
    const onward = await runCli(['reconcile', '--max-pages', '100', '--json'], env);
    expect(onward.code, onward.stderr).toBe(0);
    expect(JSON.parse(onward.stdout)).toMatchObject({
      listingComplete: true,
      pages: Math.ceil(live / 100) - 1,
      counts: { seen: live - 100, deleted: 0 },
    });
    expect((await runCli(['reconcile', '--max-pages', 'ten'], env)).stderr.trim()).toBe(
      'workos-sync: --max-pages must be a whole number of pages >= 1, got "ten"',
    );
  });

  it('backfill applies the whole history; poll finds nothing more; status reports it', async () => {
    const url = await createDatabaseUrl();
    const env = { DATABASE_URL: url, WORKOS_API_KEY: API_KEY, WORKOS_API_URL: emulator.url };
    const backfill = await runCli(['backfill'], env);
    // stderr carries progress only: a new database is reconciled first
    expect(backfill.stderr).toMatch(
      /^backfill: reconciled \d+ listed connections, \d+ organizations and \d+ domains first\n/,
    );
    expect(backfill.stderr).not.toMatch(/error|warn/i);
    expect(backfill.code).toBe(0);
    expect(backfill.stdout).toMatch(/^backfill caught up in /);
    expect(backfill.stdout).toMatch(/events\s+1,500 \(/);

    const poll = await runCli(['poll', '--json'], env);
    expect(poll.code).toBe(0);
    expect(JSON.parse(poll.stdout)).toMatchObject({ events: 0, caughtUp: true });

    const status = await runCli(['status', '--json'], env);
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout);
    expect(report.cursor).toBe(emulator.model.events().at(-1)!.id);
    expect(report.counts.events.applied + report.counts.events.stale).toBe(1_500);
    expect(report).toHaveProperty('cursorAgeSeconds');
    expect(report).toHaveProperty('lastPollAt');
    // The library's Dates, printed as ISO strings.
    expect(report.lastEventCreatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(report).toHaveProperty('lagSeconds');
    expect(report).toHaveProperty('lease', null);
    expect(report.lastReconciliation).toMatchObject({
      status: 'succeeded',
      seen: emulator.model.liveConnections().length,
    });
    expect(report).toHaveProperty('quarantined', 0);

    const human = await runCli(['status'], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^cursor\s+event_/m);
  });

  it('backfill on a mirror that predates organizations says so, reconciles them in, and backfills nothing again', async () => {
    const url = await createDatabaseUrl();
    const env = { DATABASE_URL: url, WORKOS_API_KEY: API_KEY, WORKOS_API_URL: emulator.url };
    expect((await runCli(['backfill'], env)).code).toBe(0);
    // As the previous release leaves it: no organizations, no run that listed them.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('delete from workos.organization_domains; delete from workos.organizations');
      await client.query('update workos.reconciliation_runs set organizations_listed = false');
      const upgraded = await runCli(['backfill'], env);
      expect(upgraded.code).toBe(0);
      expect(upgraded.stderr).toMatch(
        /^backfill: this mirror had never listed organizations \(it predates them\): reconciled first, [\d,]+ connections, \d+ organizations and \d+ domains; no new backfill needed\n/,
      );
      expect(upgraded.stdout).toMatch(/events\s+0 \(/);
      const { rows } = await client.query('select count(*)::int as n from workos.organizations');
      expect(rows[0].n).toBe(emulator.model.liveOrganizations().length);
      const again = await runCli(['backfill'], env);
      expect(again.stderr).not.toMatch(/reconciled/);
    } finally {
      await client.end();
    }
  });

  it('--since starts a new database at that time', async () => {
    const url = await createDatabaseUrl();
    const events = emulator.model.events();
    const since = String(events[1000]!.created_at);
    const result = await runCli(['backfill', '--since', since, '--json'], {
      DATABASE_URL: url,
      WORKOS_API_KEY: API_KEY,
      WORKOS_API_URL: emulator.url,
    });
    expect(result.code).toBe(0);
    const expected = events.filter((e) => String(e.created_at) >= since).length;
    expect(JSON.parse(result.stdout).events).toBe(expected);
  });

  it('a rejected API key is one clear line and exit 1, and the key is not printed', async () => {
    const wrongKey = 'sk_test_this_key_is_wrong_42';
    const result = await runCli(['poll'], {
      DATABASE_URL: await createDatabaseUrl(),
      WORKOS_API_KEY: wrongKey,
      WORKOS_API_URL: emulator.url,
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      'workos-sync: WorkOS rejected the API key (401 on GET /events): check WORKOS_API_KEY',
    ]);
    expect(result.stdout + result.stderr).not.toContain(wrongKey);
  });

  it('never prints the API key or the database password, even at debug level', async () => {
    const password = 'pw_s3cret_value_77';
    // A database named like its password: then the lines that name the database (the log's
    // "using database", status's first row) carry the password, and must not show it.
    const url = new URL(await createDatabaseUrl(password));
    url.password = password; // the test cluster trusts local connections: any password works
    const env = {
      DATABASE_URL: url.toString(),
      WORKOS_API_KEY: API_KEY,
      WORKOS_API_URL: emulator.url,
      LOG_LEVEL: 'debug',
    };
    emulator.faults.add({ kind: 'status', status: 500, path: '/events' });
    const outputs = [
      await runCli(['backfill'], env),
      await runCli(['status', '--json'], env),
      await runCli(['status'], env),
    ];
    for (const out of outputs) {
      expect(out.code).toBe(0);
      expect(out.stdout + out.stderr).not.toContain(API_KEY);
      expect(out.stdout + out.stderr).not.toContain(password);
    }
    // The provocation worked: something would have shown it.
    expect(outputs[0]!.stderr).toMatch(/"using database".*\[redacted\]|\[redacted\].*"using database"/);
    expect(outputs[2]!.stdout).toMatch(/^database +Postgres .*\[redacted\]/m);
    // An error an older version stored unscrubbed is scrubbed when printed.
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    await client.query('update workos.sync_state set last_poll_error = $1', [
      `rejected ${password} and ${API_KEY}`,
    ]);
    await client.end();
    for (const args of [['status'], ['status', '--json']]) {
      const printed = await runCli(args, env);
      expect(printed.stdout).toContain('rejected [redacted] and [redacted]');
    }
    // and a database error that carries the URL is scrubbed too
    const refused = await runCli(['status'], {
      ...env,
      DATABASE_URL: `postgres://u:${password}@127.0.0.1:1/db`,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).not.toContain(password);
  });
});

async function schemaExists(url: string, schema: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query('select 1 from pg_namespace where nspname = $1', [schema]);
  await client.end();
  return rows.length > 0;
}
