/**
 * The commands of one environment with an environments file, as users run them: child processes,
 * a real Postgres, the emulator serving three WorkOS environments (each its own key and world).
 * `--environment NAME` on backfill, poll, reconcile, certs and status touches that environment's
 * rows only (the others' are compared before and after); without it a file of several is one line
 * and exit 2, as is an unknown name; `status` without it lists every environment, in lines and in
 * JSON; no key is ever printed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { type CliResult, runCli } from './support/cli.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

const ENVIRONMENTS = ['alpha', 'beta', 'gamma'] as const;
type Name = (typeof ENVIRONMENTS)[number];
const keyOf = (name: string) => `sk_test_envcmd_${name}_must_not_print`;
const SECRETS = [...ENVIRONMENTS.map(keyOf), keyOf('default')];

let emulator: Emulator;
let t: TestDatabase;
let dir: string;
let file: string;

beforeAll(async () => {
  t = await createTestDatabase();
  emulator = await startEmulator({ apiKey: keyOf('default') });
  for (const [i, name] of ENVIRONMENTS.entries()) {
    const model = new WorkosModel({ environment: name, seed: 40 + i });
    generateScenario(model, { seed: 40 + i, events: 150 });
    emulator.addEnvironment(name, { apiKey: keyOf(name), model });
  }
  dir = mkdtempSync(join(tmpdir(), 'workos-sync-environments-commands-'));
  file = join(dir, 'environments.yaml');
  writeFileSync(
    file,
    `environments:\n${ENVIRONMENTS.map((n) => `  - name: ${n}\n    api_key_env: KEY_${n.toUpperCase()}\n`).join('')}`,
  );
});

afterAll(async () => {
  await emulator?.close();
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: t.url,
    WORKOS_API_URL: emulator.url,
    WORKOS_SYNC_ENVIRONMENTS_FILE: file,
    ...Object.fromEntries(ENVIRONMENTS.map((n) => [`KEY_${n.toUpperCase()}`, keyOf(n)])),
    ...extra,
  };
}

const outputs: CliResult[] = [];
async function cli(args: readonly string[], extra: Record<string, string> = {}): Promise<CliResult> {
  const result = await runCli(args, env(extra));
  outputs.push(result);
  return result;
}

/** Every row of an environment, every column (synced_at included: a rewrite changes it). */
async function rowsOf(name: string): Promise<string> {
  const db = t.environment(name);
  const tables = [
    'connections',
    'connection_domains',
    'connection_certificates',
    'organizations',
    'organization_domains',
    'events',
    'reconciliation_runs',
    'sync_state',
    'leases',
  ] as const;
  const all: Record<string, unknown[]> = {};
  for (const table of tables) {
    const rows = await db.selectFrom(table).selectAll().execute();
    all[table] = rows.map((row) => JSON.stringify(row)).sort();
  }
  return JSON.stringify(all);
}

const lastEventOf = (name: Name) => emulator.environment(name)!.model.events().at(-1)!.id;
const liveOf = (name: Name) =>
  emulator
    .environment(name)!
    .model.liveConnections()
    .map((c) => String(c.id))
    .sort();
async function mirroredLive(name: string): Promise<string[]> {
  const rows = await t
    .environment(name)
    .selectFrom('connections')
    .select('id')
    .where('deleted_at', 'is', null)
    .execute();
  return rows.map((r) => r.id).sort();
}

describe('--environment on the commands of one environment', () => {
  it('backfill, poll, reconcile, certs and status each touch their environment only', async () => {
    expect((await cli(['migrate'])).code).toBe(0);
    const untouched = async () => ({
      beta: await rowsOf('beta'),
      gamma: await rowsOf('gamma'),
      default: await rowsOf('default'),
    });

    // backfill alpha: alpha's world mirrored; nobody else's rows changed.
    const before = await untouched();
    const alpha = await cli(['backfill', '--environment', 'alpha', '--json']);
    expect(alpha.code, alpha.stderr).toBe(0);
    expect(JSON.parse(alpha.stdout)).toMatchObject({ caughtUp: true, cursor: lastEventOf('alpha') });
    expect(await mirroredLive('alpha')).toEqual(liveOf('alpha'));
    expect(await untouched()).toEqual(before);

    // backfill beta: alpha's rows as they were.
    const alphaRows = await rowsOf('alpha');
    const beta = await cli(['backfill', '--environment', 'beta']);
    expect(beta.code, beta.stderr).toBe(0);
    expect(beta.stdout).toMatch(/^backfill caught up in /);
    expect(await mirroredLive('beta')).toEqual(liveOf('beta'));
    expect(await rowsOf('alpha')).toBe(alphaRows);

    // poll alpha after alpha's world changed: alpha moves, beta does not.
    const model = emulator.environment('alpha')!.model;
    model.activate(String(model.createConnection({ name: 'after the backfill' }).id));
    const betaRows = await rowsOf('beta');
    const gammaRows = await rowsOf('gamma');
    const poll = await cli(['poll', '--environment', 'alpha', '--json']);
    expect(poll.code, poll.stderr).toBe(0);
    expect(JSON.parse(poll.stdout)).toMatchObject({ caughtUp: true, cursor: lastEventOf('alpha') });
    expect(await mirroredLive('alpha')).toEqual(liveOf('alpha'));
    expect(await rowsOf('beta')).toBe(betaRows);

    // reconcile beta: a run recorded in beta; alpha's rows as they were.
    const alphaAfterPoll = await rowsOf('alpha');
    const reconcile = await cli(['reconcile', '--environment', 'beta', '--json']);
    expect(reconcile.code, reconcile.stderr).toBe(0);
    expect(JSON.parse(reconcile.stdout).counts).toMatchObject({ seen: liveOf('beta').length, deleted: 0 });
    expect(await rowsOf('alpha')).toBe(alphaAfterPoll);
    const runs = await t.whole
      .selectFrom('reconciliation_runs')
      .select(['environment', 'id'])
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(runs.environment).toBe('beta');
    expect(await rowsOf('gamma')).toBe(gammaRows);

    // certs alpha: alpha's certificates, none of beta's connections.
    const certs = await cli(['certs', '--environment', 'alpha', '--json']);
    expect(certs.code, certs.stderr).toBe(0);
    const listed = (JSON.parse(certs.stdout) as { connection_id: string }[]).map((r) => r.connection_id);
    const alphaCertificates = await t
      .environment('alpha')
      .selectFrom('expiring_certificates')
      .select('connection_id')
      .execute();
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.sort()).toEqual(alphaCertificates.map((r) => r.connection_id).sort());
    const betaConnections = new Set(await mirroredLive('beta'));
    expect(listed.filter((id) => betaConnections.has(id))).toEqual([]);

    // status beta: beta's report, named.
    const status = await cli(['status', '--environment', 'beta', '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      environment: 'beta',
      cursor: lastEventOf('beta'),
      counts: { liveConnections: liveOf('beta').length },
      lastReconciliation: { status: 'succeeded' },
      database: expect.stringMatching(/^Postgres /),
    });
    const human = await cli(['status', '--environment', 'alpha']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^environment\s+alpha$/m);
    expect(human.stdout).toMatch(new RegExp(`^cursor\\s+${lastEventOf('alpha')} `, 'm'));

    // Nothing of gamma's, which nobody named, and nothing but the migrations' of default.
    expect(await rowsOf('gamma')).toBe(gammaRows);
    expect(await rowsOf('default')).toBe(before.default);
  }, 120_000);

  it('status without --environment lists every environment, in lines and in JSON', async () => {
    // alpha held by a replica, beta failing with an error that (as an older release stored it)
    // carries its key: scrubbed when printed.
    const until = new Date(Date.now() + 60_000);
    await t
      .environment('alpha')
      .insertInto('leases')
      .values({ name: 'events', holder: 'replica-a', acquired_at: new Date(), expires_at: until })
      .execute();
    await t
      .environment('beta')
      .updateTable('sync_state')
      .set({ last_poll_error: `WorkOS rejected ${keyOf('beta')}` })
      .where('stream', '=', 'events')
      .execute();
    const json = await cli(['status', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const all = JSON.parse(json.stdout) as {
      database: string;
      environments: { environment: string; [field: string]: unknown }[];
    };
    expect(all.database).toMatch(/^Postgres /);
    // The declared three (gamma not started yet), and default: the migrations made its rows.
    expect(all.environments.map((e) => e.environment)).toEqual(['alpha', 'beta', 'default', 'gamma']);
    const byName = Object.fromEntries(all.environments.map((e) => [e.environment, e]));
    expect(byName.alpha).toMatchObject({
      declared: true,
      started: true,
      cursor: lastEventOf('alpha'),
      lease: { holder: 'replica-a', expiresAt: until.toISOString(), expired: false },
      lastPollError: null,
      quarantined: 0,
      counts: { liveConnections: liveOf('alpha').length },
    });
    expect(byName.beta).toMatchObject({
      cursor: lastEventOf('beta'),
      lastReconciliation: { status: 'succeeded' },
    });
    expect(byName.gamma).toMatchObject({
      declared: true,
      started: false,
      cursor: null,
      lastReconciliation: null,
    });
    expect(byName.default).toMatchObject({ declared: false, started: true, cursor: null });
    // Each entry has the single environment's fields.
    const single = JSON.parse((await cli(['status', '--environment', 'alpha', '--json'])).stdout);
    const { database: _database, ...fields } = single;
    expect(Object.keys(byName.alpha!).sort()).toEqual([...Object.keys(fields), 'declared', 'started'].sort());

    const human = await cli(['status']);
    expect(human.code, human.stderr).toBe(0);
    const lines = human.stdout.split('\n');
    expect(lines[0]).toMatch(/^database +Postgres /);
    expect(lines[1]).toBe(`environments  4 (3 declared in ${file})`);
    expect(lines[3]).toMatch(
      /^environment +cursor +lag +lease +last reconciliation +quarantined +last poll error$/,
    );
    expect(lines[4]).toMatch(
      new RegExp(
        `^alpha +${lastEventOf('alpha')} +[\\d.]+ s +replica-a until ${until.toISOString()} +succeeded at \\S+Z +0 +none$`,
      ),
    );
    expect(lines[5]).toMatch(
      new RegExp(
        `^beta +${lastEventOf('beta')} +[\\d.]+ s +none +succeeded at \\S+Z +0 +WorkOS rejected \\[redacted\\]$`,
      ),
    );
    expect(lines[6]).toMatch(/^default +none +unknown +none +never +0 +none$/);
    expect(lines[7]).toMatch(/^gamma +none +unknown +none +never +0 +none$/);
    expect(lines.slice(8)).toEqual([
      'not started yet (declared, nothing synced): gamma',
      'no longer declared (its rows are kept, nothing polls it): default',
      '',
    ]);
    // (A process whose file does not declare beta would not know its key to scrub: put it back.)
    await t
      .environment('beta')
      .updateTable('sync_state')
      .set({ last_poll_error: null })
      .where('stream', '=', 'events')
      .execute();
  }, 60_000);
});

describe('which environment: exit 2, one line, before anything is opened', () => {
  it.each([['backfill'], ['poll'], ['reconcile'], ['certs']])(
    '%s without --environment, the file declaring several',
    async (command) => {
      const result = await cli([command]);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `workos-sync: ${file} declares "alpha", "beta", "gamma": pick the environment this command is for with --environment NAME\n`,
      );
    },
  );

  it.each([['backfill'], ['poll'], ['reconcile'], ['certs'], ['status']])(
    '%s --environment with a name the file does not declare',
    async (command) => {
      const result = await cli([command, '--environment', 'staging']);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `workos-sync: environment "staging" is not declared: ${file} declares "alpha", "beta", "gamma"\n`,
      );
    },
  );

  it('without a file: only default, which is also what no flag means', async () => {
    const result = await runCli(['poll', '--environment', 'alpha'], {
      DATABASE_URL: t.url,
      WORKOS_API_URL: emulator.url,
      WORKOS_API_KEY: keyOf('default'),
    });
    outputs.push(result);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'workos-sync: environment "alpha" is not configured: without an environments file (WORKOS_SYNC_ENVIRONMENTS_FILE) there is one environment, "default"\n',
    );
    // --environment default is the settings' environment, as no flag is.
    const named = await runCli(['status', '--environment', 'default', '--json'], { DATABASE_URL: t.url });
    expect(named.code, named.stderr).toBe(0);
    expect(JSON.parse(named.stdout)).toMatchObject({ environment: 'default', cursor: null });
  });

  it('a file that declares one environment needs no flag: the commands are for it', async () => {
    const one = join(dir, 'gamma.yaml');
    writeFileSync(one, 'environments:\n  - name: gamma\n    api_key_env: KEY_GAMMA\n');
    const before = await rowsOf('alpha');
    const backfill = await cli(['backfill', '--json'], { WORKOS_SYNC_ENVIRONMENTS_FILE: one });
    expect(backfill.code, backfill.stderr).toBe(0);
    expect(JSON.parse(backfill.stdout)).toMatchObject({ caughtUp: true, cursor: lastEventOf('gamma') });
    expect(await mirroredLive('gamma')).toEqual(liveOf('gamma'));
    expect(await rowsOf('alpha')).toBe(before);
    // status, with a file: the list (of the mirror's four, one declared)
    const status = await cli(['status', '--json'], { WORKOS_SYNC_ENVIRONMENTS_FILE: one });
    const listed = JSON.parse(status.stdout).environments as { environment: string; declared: boolean }[];
    expect(listed.map((e) => [e.environment, e.declared])).toEqual([
      ['alpha', false],
      ['beta', false],
      ['default', false],
      ['gamma', true],
    ]);
  }, 60_000);
});

it('no key printed by any of it', () => {
  expect(outputs.length).toBeGreaterThan(20);
  for (const output of outputs)
    for (const secret of SECRETS) expect(output.stdout + output.stderr).not.toContain(secret);
});
