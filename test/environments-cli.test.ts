/**
 * The environments file on the command line, in real child processes on a real Postgres: a bad
 * file is one line naming its line and exit 2 for every command; `environments check` says what
 * the file would change against the database (or that it cannot be read); no key is ever printed.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.ts';
import { createDatabaseUrl } from './support/database.ts';

const dir = mkdtempSync(join(tmpdir(), 'workos-sync-environments-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEYS = {
  PROD_KEY: 'sk_live_prod_key_that_must_not_print_1',
  STAGING_KEY: 'sk_test_staging_key_that_must_not_print_2',
  PROD_WEBHOOK_SECRET: 'whsec_prod_secret_that_must_not_print_3',
};
const SECRETS = Object.values(KEYS);

function file(name: string, ...lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const declared = file(
  'environments.yaml',
  '# production and staging',
  'environments:',
  '  - name: production',
  '    api_key_env: PROD_KEY',
  '    webhook_secret_env: PROD_WEBHOOK_SECRET',
  '  - name: staging',
  '    api_key_env: STAGING_KEY',
  '    poll_cron: "*/30 * * * * *"',
);

const expectNoSecret = (result: { stdout: string; stderr: string }) => {
  for (const secret of SECRETS) expect(result.stdout + result.stderr).not.toContain(secret);
};

describe('a bad environments file: one line naming the file and the line, exit 2, for every command', () => {
  it.each(
    [
      ['status'],
      ['migrate'],
      ['poll'],
      ['run'],
      ['environments', 'check'],
      ['environments', 'check', '--json'],
    ].map((args) => [args.join(' '), args] as const),
  )('%s', async (_command, args) => {
    const result = await runCli(args, {
      PROD_KEY: KEYS.PROD_KEY,
      PROD_WEBHOOK_SECRET: KEYS.PROD_WEBHOOK_SECRET,
      WORKOS_SYNC_ENVIRONMENTS_FILE: declared,
      WORKOS_SYNC_DATA_DIR: join(dir, 'never-opened'),
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `workos-sync: ${declared}:7: environment "staging": api_key_env names STAGING_KEY, which is not set\n`,
    );
    expectNoSecret(result);
  });

  it('a key written into the file is refused, and not printed', async () => {
    const pasted = file(
      'pasted.yaml',
      'environments:',
      '  - name: production',
      `    api_key_env: ${KEYS.PROD_KEY}`,
    );
    const result = await runCli(['environments', 'check', '--environments-file', pasted], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `workos-sync: ${pasted}:3: environment "production": api_key_env holds what looks like an API key: keys do not go in the file; put it in an environment variable and give that variable's name\n`,
    );
    expectNoSecret(result);
  });

  it('WORKOS_API_KEY beside a file that does not name it', async () => {
    const result = await runCli(['status'], {
      ...KEYS,
      WORKOS_API_KEY: 'sk_test_single_key_must_not_print',
      WORKOS_SYNC_ENVIRONMENTS_FILE: declared,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^workos-sync: WORKOS_API_KEY is set, and so is WORKOS_SYNC_ENVIRONMENTS_FILE, /,
    );
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toContain('sk_test_single_key_must_not_print');
  });
});

describe('environments check', () => {
  it('says what the file would change against the mirror, in lines and in JSON, without a key', async () => {
    const url = await createDatabaseUrl();
    const env = { ...KEYS, DATABASE_URL: url };
    expect((await runCli(['migrate'], env)).code).toBe(0);
    // The mirror knows `production` and `old-env`: one sync_state row each (until the keys are
    // finalized, each stream has one row, whichever its environment).
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`update workos.sync_state set environment = 'production' where stream = 'events'`);
      await client.query(`update workos.sync_state set environment = 'old-env' where stream <> 'events'`);
    } finally {
      await client.end();
    }

    const human = await runCli(['environments', 'check', '--environments-file', declared], env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout.split('\n')).toEqual([
      `${declared}: 2 environments, valid`,
      '  production: API key from PROD_KEY, webhook secret from PROD_WEBHOOK_SECRET; polls */5 * * * * *; reconciles 17 * * * *',
      '  staging: API key from STAGING_KEY; polls */30 * * * * *; reconciles 17 * * * *',
      expect.stringMatching(/^against Postgres \S+ \(schema workos\):$/),
      'would start: staging (new: backfill from the start)',
      'no longer declared: old-env — its rows are kept, nothing polls it',
      'unchanged: production',
      '',
    ]);
    expectNoSecret(human);

    const json = await runCli(['environments', 'check', '--json'], {
      ...env,
      WORKOS_SYNC_ENVIRONMENTS_FILE: declared,
    });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      file: declared,
      environments: [
        {
          name: 'production',
          apiKeyEnv: 'PROD_KEY',
          apiKeySet: true,
          webhookSecretEnv: 'PROD_WEBHOOK_SECRET',
          pollCron: '*/5 * * * * *',
          reconcileCron: '17 * * * *',
        },
        {
          name: 'staging',
          apiKeyEnv: 'STAGING_KEY',
          apiKeySet: true,
          webhookSecretEnv: null,
          pollCron: '*/30 * * * * *',
          reconcileCron: '17 * * * *',
        },
      ],
      database: {
        description: expect.stringMatching(/^Postgres /),
        schema: 'workos',
        state: 'mirror',
        error: null,
      },
      changes: { added: ['staging'], removed: ['old-env'], kept: ['production'] },
    });
    expectNoSecret(json);

    // The commands of one environment need to be told which, when the file declares several.
    const poll = await runCli(['poll'], { ...env, WORKOS_SYNC_ENVIRONMENTS_FILE: declared });
    expect(poll.code).toBe(2);
    expect(poll.stderr).toBe(
      `workos-sync: ${declared} declares "production", "staging": pick the environment this command is for with --environment NAME\n`,
    );
  });

  it('without a file: the one environment default; a database with no mirror yet is not migrated', async () => {
    const url = await createDatabaseUrl();
    const result = await runCli(['environments', 'check'], { DATABASE_URL: url });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      'no environments file (WORKOS_SYNC_ENVIRONMENTS_FILE): the settings are one environment, named default',
      '  default: API key from WORKOS_API_KEY (not set); polls */5 * * * * *; reconciles 17 * * * *',
      expect.stringMatching(/^against Postgres \S+ \(schema workos\): no mirror there yet$/),
      'would start: default (new: backfill from the start)',
      '',
    ]);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query(`select 1 from pg_namespace where nspname = 'workos'`);
      expect(rows).toEqual([]);
    } finally {
      await client.end();
    }
    // Migrated: the mirror's rows are the default environment's.
    expect((await runCli(['migrate'], { DATABASE_URL: url })).code).toBe(0);
    const migrated = await runCli(['environments', 'check', '--json'], { DATABASE_URL: url });
    expect(JSON.parse(migrated.stdout)).toMatchObject({
      file: null,
      database: { state: 'mirror' },
      changes: { added: [], removed: [], kept: ['default'] },
    });
  });

  it('an embedded database that is not there is not created', async () => {
    const dataDir = join(dir, 'no-embedded-database');
    const result = await runCli(['environments', 'check', '--json'], {
      ...KEYS,
      WORKOS_SYNC_DATA_DIR: dataDir,
      WORKOS_SYNC_ENVIRONMENTS_FILE: declared,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      database: { description: `embedded Postgres (PGlite) in ${dataDir}`, state: 'empty' },
      changes: { added: ['production', 'staging'], removed: [], kept: [] },
    });
    expect(existsSync(dataDir)).toBe(false);
  });

  it('a database that cannot be reached: said so, the file still checked, exit 0, no password', async () => {
    const password = 'pw_unreachable_s3cret';
    const result = await runCli(['environments', 'check'], {
      ...KEYS,
      DATABASE_URL: `postgres://sync:${password}@127.0.0.1:1/app`,
      WORKOS_SYNC_ENVIRONMENTS_FILE: declared,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /^database Postgres sync@127\.0\.0\.1:1\/app \(schema workos\) not reachable \(.+\): what would change is not known$/m,
    );
    expect(result.stdout).not.toMatch(/would start|no longer declared|unchanged/);
    expect(result.stdout + result.stderr).not.toContain(password);
    expectNoSecret(result);
  });
});
