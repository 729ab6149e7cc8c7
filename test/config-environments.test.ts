/**
 * The environments file (src/config/environments.ts): parsed once into frozen environments, or one
 * error naming the file and the line, never a secret; the JSON Schema editors read
 * (schema/environments.schema.json) agreeing with the parser; loading it with the other settings
 * (src/config/load.ts), and without it the one environment `default`, as before; and the pure
 * diff that `environments check` prints (src/sync/environments.ts). Pure: tables, and files in a
 * temporary folder.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  EnvironmentsFileError,
  environmentFor,
  loadConfig,
  parseEnvironmentsFile,
  requireApiKey,
  secretsOf,
} from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';
import { diffEnvironments } from '../src/sync/environments.ts';

const FILE = 'environments.yaml';
/** The process's environment the files are resolved against: every value a secret. */
const ENV = {
  PROD_KEY: 'sk_live_prod_9f8e7d',
  STAGING_KEY: 'sk_test_staging_1a2b3c',
  PROD_WEBHOOK_SECRET: 'whsec_prod_4d5e6f7a',
  SHORT_SECRET: 'tiny',
  BLANK: '   ',
} as const;
const SECRETS = Object.values(ENV).filter((value) => value.trim().length >= 4);
const DEFAULTS = { pollCron: '*/5 * * * * *', reconcileCron: '17 * * * *' };

const parse = (text: string, env: Record<string, string | undefined> = ENV) =>
  parseEnvironmentsFile({ file: FILE, text, env, defaults: DEFAULTS });

/** The error a file is, as the command line prints it. */
function errorOf(text: string): EnvironmentsFileError {
  try {
    parse(text);
  } catch (error) {
    if (error instanceof EnvironmentsFileError) return error;
    throw error;
  }
  throw new Error('parsed');
}

const lines = (...text: string[]) => `${text.join('\n')}\n`;

describe('a good file', () => {
  it('is every environment, its key resolved from the variable it names, frozen', () => {
    const parsed = parse(
      lines(
        '# yaml-language-server: $schema=schema/environments.schema.json',
        'environments:',
        '  - name: production',
        '    api_key_env: PROD_KEY',
        '    webhook_secret_env: PROD_WEBHOOK_SECRET',
        '    poll_cron: "*/10 * * * * *"',
        '    reconcile_cron: "0 * * * *"',
        '',
        '  # staging: the settings` schedules',
        '  - name: staging',
        '    api_key_env: STAGING_KEY',
      ),
    );
    expect(parsed).toEqual({
      file: FILE,
      environments: [
        {
          name: 'production',
          apiKey: ENV.PROD_KEY,
          webhookSecret: ENV.PROD_WEBHOOK_SECRET,
          schedules: { pollCron: '*/10 * * * * *', reconcileCron: '0 * * * *' },
          apiKeyEnv: 'PROD_KEY',
          webhookSecretEnv: 'PROD_WEBHOOK_SECRET',
          line: 3,
        },
        {
          name: 'staging',
          apiKey: ENV.STAGING_KEY,
          webhookSecret: undefined,
          schedules: DEFAULTS,
          apiKeyEnv: 'STAGING_KEY',
          webhookSecretEnv: undefined,
          line: 10,
        },
      ],
    });
    expect(Object.isFrozen(parsed)).toBe(true);
    expect(Object.isFrozen(parsed.environments)).toBe(true);
    expect(parsed.environments.every((e) => Object.isFrozen(e) && Object.isFrozen(e.schedules))).toBe(true);
  });

  it.each([
    ['JSON, which is YAML', '{"environments": [{"name": "default", "api_key_env": "PROD_KEY"}]}'],
    ['flow style', 'environments: [{name: default, api_key_env: PROD_KEY}]'],
    ['quoted values', lines('environments:', "  - name: 'default'", '    api_key_env: "PROD_KEY"')],
    [
      'a $schema field',
      lines(
        '$schema: ./environments.schema.json',
        'environments:',
        '  - {name: default, api_key_env: PROD_KEY}',
      ),
    ],
    ['a key with spaces around it', lines('environments:', '  - {name: default, api_key_env: BLANK_AROUND}')],
  ])('%s', (_what, text) => {
    const parsed = parse(text, { ...ENV, BLANK_AROUND: `  ${ENV.PROD_KEY}\n` });
    expect(parsed.environments.map(({ name, apiKey }) => ({ name, apiKey }))).toEqual([
      { name: 'default', apiKey: ENV.PROD_KEY },
    ]);
  });

  it('takes a name of up to 63 characters, digits first, - and _', () => {
    const names = ['a', '0', 'eu-west_1', `a${'b'.repeat(62)}`];
    const text = lines(
      'environments:',
      ...names.map((name) => `  - {name: "${name}", api_key_env: PROD_KEY}`),
    );
    expect(parse(text).environments.map((e) => e.name)).toEqual(names);
  });
});

/** Each bad file, and its one error: `file:line: what is wrong`. */
const BAD: readonly (readonly [what: string, text: string, message: string])[] = [
  ['empty', '', 'environments.yaml:1: declares no environments: the file is empty (docs/environments.md)'],
  [
    'only comments',
    '# nothing yet\n',
    'environments.yaml:1: declares no environments: the file is empty (docs/environments.md)',
  ],
  [
    'not YAML',
    lines('environments:', '  - name: "unterminated', '    api_key_env: PROD_KEY'),
    'environments.yaml:4: not valid YAML: Missing closing "quote',
  ],
  [
    'tabs',
    lines('environments:', '\t- name: a'),
    'environments.yaml:2: not valid YAML: Tabs are not allowed as indentation',
  ],
  [
    'two documents',
    lines('environments:', '  - {name: a, api_key_env: PROD_KEY}', '---', 'environments: []'),
    'environments.yaml:3: holds more than one YAML document (a --- line): declare every environment in one',
  ],
  [
    'a list at the top',
    lines('- name: a', '  api_key_env: PROD_KEY'),
    'environments.yaml:1: must be a mapping with an environments list (environments:, then - name: … for each)',
  ],
  [
    'no environments',
    lines('$schema: x.json'),
    'environments.yaml:1: has no environments list (environments:, then - name: … for each)',
  ],
  [
    'an environment`s field at the top',
    lines('name: a', 'api_key_env: PROD_KEY'),
    'environments.yaml:1: unknown field "name" (the file has environments, $schema): name is a field of each environment: give it inside the environments list',
  ],
  [
    'an unknown top-level field',
    lines('environments:', '  - {name: a, api_key_env: PROD_KEY}', 'version: 2'),
    'environments.yaml:3: unknown field "version" (the file has environments, $schema)',
  ],
  [
    'environments twice',
    lines(
      'environments:',
      '  - {name: a, api_key_env: PROD_KEY}',
      'environments:',
      '  - {name: b, api_key_env: PROD_KEY}',
    ),
    'environments.yaml:3: environments is given twice',
  ],
  ['environments with no value', lines('environments:'), 'environments.yaml:1: environments has no value'],
  [
    'environments empty',
    lines('environments: []'),
    'environments.yaml:1: environments is empty: declare at least one environment',
  ],
  [
    'environments a mapping',
    lines('environments:', '  production:', '    api_key_env: PROD_KEY'),
    'environments.yaml:2: environments must be a list (- name: … for each environment)',
  ],
  [
    'an environment that is not a mapping',
    lines('environments:', '  - production'),
    'environments.yaml:2: environment #1 must be a mapping (name: …, api_key_env: …)',
  ],
  [
    'no name',
    lines('environments:', '  - {name: a, api_key_env: PROD_KEY}', '  - api_key_env: PROD_KEY'),
    'environments.yaml:3: environment #2 has no name',
  ],
  [
    'a name that is no slug',
    lines('environments:', '  - name: Production', '    api_key_env: PROD_KEY'),
    'environments.yaml:2: environment #1: name "Production" is not a slug (lower-case letters, digits, - and _, starting with a letter or a digit, at most 63 characters)',
  ],
  [
    'a name too long',
    lines('environments:', `  - {name: ${'a'.repeat(64)}, api_key_env: PROD_KEY}`),
    `environments.yaml:2: environment #1: name "${'a'.repeat(64)}" is not a slug (lower-case letters, digits, - and _, starting with a letter or a digit, at most 63 characters)`,
  ],
  [
    'a name that is a number',
    lines('environments:', '  - name: 42', '    api_key_env: PROD_KEY'),
    'environments.yaml:2: environment #1: name must be text, not a number: quote it',
  ],
  [
    'a name with no value',
    lines('environments:', '  - name:', '    api_key_env: PROD_KEY'),
    'environments.yaml:2: environment #1: name has no value',
  ],
  [
    'a duplicate name',
    lines(
      'environments:',
      '  - name: production',
      '    api_key_env: PROD_KEY',
      '  - name: staging',
      '    api_key_env: STAGING_KEY',
      '  - name: production',
      '    api_key_env: STAGING_KEY',
    ),
    'environments.yaml:6: environment "production" is declared twice (first on line 2)',
  ],
  [
    'no api_key_env',
    lines('environments:', '  - name: staging', '    poll_cron: "* * * * *"'),
    'environments.yaml:2: environment "staging" has no api_key_env: give the name of the variable that holds its API key',
  ],
  [
    'an API key in the file',
    lines('environments:', '  - name: staging', `    api_key_env: ${ENV.STAGING_KEY}`),
    'environments.yaml:3: environment "staging": api_key_env holds what looks like an API key: keys do not go in the file; put it in an environment variable and give that variable\'s name',
  ],
  [
    'an API key in the file, as api_key',
    lines('environments:', '  - name: staging', `    api_key: ${ENV.STAGING_KEY}`),
    'environments.yaml:3: environment "staging": unknown field "api_key" (an environment has name, api_key_env, webhook_secret_env, poll_cron, reconcile_cron): did you mean api_key_env (the name of the variable that holds the key: keys do not go in the file)?',
  ],
  [
    'a key as a field name',
    lines(
      'environments:',
      '  - name: staging',
      '    api_key_env: STAGING_KEY',
      `    ${ENV.STAGING_KEY}: true`,
    ),
    'environments.yaml:4: environment "staging": unknown field (an environment has name, api_key_env, webhook_secret_env, poll_cron, reconcile_cron)',
  ],
  [
    'a variable name that is none',
    lines('environments:', '  - name: staging', '    api_key_env: staging-key'),
    'environments.yaml:3: environment "staging": api_key_env must be the name of the environment variable that holds its API key (upper-case letters, digits and _, not starting with a digit)',
  ],
  [
    'a variable that is not set',
    lines(
      'environments:',
      '  - name: production',
      '    api_key_env: PROD_KEY',
      '  - name: staging',
      '',
      '    # the key of staging',
      '    api_key_env: STAGING_KEY_TYPO',
    ),
    'environments.yaml:7: environment "staging": api_key_env names STAGING_KEY_TYPO, which is not set',
  ],
  [
    'a variable that is empty',
    lines('environments:', '  - name: staging', '    api_key_env: BLANK'),
    'environments.yaml:3: environment "staging": api_key_env names BLANK, which is empty',
  ],
  [
    'a field given twice',
    lines('environments:', '  - name: staging', '    api_key_env: STAGING_KEY', '    api_key_env: PROD_KEY'),
    'environments.yaml:4: environment "staging": api_key_env is given twice',
  ],
  [
    'an unknown field',
    lines('environments:', '  - name: staging', '    api_key_env: STAGING_KEY', '    region: eu'),
    'environments.yaml:4: environment "staging": unknown field "region" (an environment has name, api_key_env, webhook_secret_env, poll_cron, reconcile_cron)',
  ],
  [
    'a field named like a property of every object',
    lines('environments:', '  - name: staging', '    api_key_env: STAGING_KEY', '    constructor: x'),
    'environments.yaml:4: environment "staging": unknown field "constructor" (an environment has name, api_key_env, webhook_secret_env, poll_cron, reconcile_cron)',
  ],
  [
    'poll_interval',
    lines('environments:', '  - name: staging', '    api_key_env: STAGING_KEY', '    poll_interval: 5s'),
    'environments.yaml:4: environment "staging": unknown field "poll_interval" (an environment has name, api_key_env, webhook_secret_env, poll_cron, reconcile_cron): did you mean poll_cron (a node-cron schedule, as WORKOS_SYNC_POLL_CRON)?',
  ],
  [
    'a webhook secret variable not set',
    lines(
      'environments:',
      '  - name: staging',
      '    api_key_env: STAGING_KEY',
      '    webhook_secret_env: STAGING_WEBHOOK_SECRET',
    ),
    'environments.yaml:4: environment "staging": webhook_secret_env names STAGING_WEBHOOK_SECRET, which is not set',
  ],
  [
    'a webhook secret too short',
    lines(
      'environments:',
      '  - name: staging',
      '    api_key_env: STAGING_KEY',
      '    webhook_secret_env: SHORT_SECRET',
    ),
    'environments.yaml:4: environment "staging": webhook_secret_env names SHORT_SECRET, whose value is too short to be a webhook secret',
  ],
  [
    'a webhook secret in the file',
    lines(
      'environments:',
      '  - name: staging',
      '    api_key_env: STAGING_KEY',
      `    webhook_secret_env: ${ENV.PROD_WEBHOOK_SECRET}`,
    ),
    'environments.yaml:4: environment "staging": webhook_secret_env must be the name of the environment variable that holds its webhook secret (upper-case letters, digits and _, not starting with a digit)',
  ],
  [
    'a bad poll schedule',
    lines(
      'environments:',
      '  - name: staging',
      '    api_key_env: STAGING_KEY',
      '    poll_cron: every minute',
    ),
    'environments.yaml:4: environment "staging": poll_cron is not a valid cron expression: "every minute"',
  ],
  [
    'a bad reconcile schedule',
    lines(
      'environments:',
      '  - name: staging',
      '    api_key_env: STAGING_KEY',
      '    reconcile_cron: "61 * * * *"',
    ),
    'environments.yaml:4: environment "staging": reconcile_cron is not a valid cron expression: "61 * * * *"',
  ],
  [
    'a blank schedule',
    lines('environments:', '  - name: staging', '    api_key_env: STAGING_KEY', '    poll_cron: " "'),
    'environments.yaml:4: environment "staging": poll_cron is empty: leave it out for the settings\' schedule',
  ],
  [
    'a schedule that is a number',
    lines('environments:', '  - name: staging', '    api_key_env: STAGING_KEY', '    poll_cron: 5'),
    'environments.yaml:4: environment "staging": poll_cron must be text, not a number: quote it',
  ],
  [
    'a schedule that is a list',
    lines('environments:', '  - name: staging', '    api_key_env: STAGING_KEY', '    poll_cron: [a, b]'),
    'environments.yaml:4: environment "staging": poll_cron must be text, not a list',
  ],
  [
    'an alias',
    lines(
      'environments:',
      '  - name: staging',
      '    api_key_env: &key STAGING_KEY',
      '  - name: other',
      '    api_key_env: *key',
    ),
    'environments.yaml:5: environment "other": api_key_env is an alias (*key): write the value out here',
  ],
  [
    'an unknown tag',
    lines('environments:', '  - name: !secret staging', '    api_key_env: STAGING_KEY'),
    'environments.yaml:2: not valid YAML: Unresolved tag: !secret',
  ],
  [
    'a pasted key that breaks the YAML',
    lines('environments:', '  - name: staging', `  ${ENV.STAGING_KEY}`),
    'environments.yaml:3: not valid YAML: All mapping items must start at the same column',
  ],
];

describe('a bad file is one error naming the file and the line, never a secret', () => {
  it.each(BAD)('%s', (_what, text, message) => {
    const error = errorOf(text);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(message);
    expect(error.message).not.toContain('\n');
    expect(`${error.file}:${error.line}: ${error.problem}`).toBe(message);
    for (const secret of SECRETS) expect(error.message).not.toContain(secret);
  });
});

describe('the JSON Schema agrees with the parser', () => {
  const schema = JSON.parse(
    readFileSync(new URL('../schema/environments.schema.json', import.meta.url), 'utf8'),
  );
  const validate = new Ajv({ strict: true, allErrors: true }).compile(schema);
  const schemaAccepts = (text: string) => validate(parseYaml(text, { logLevel: 'error' }) ?? null);
  const parserAccepts = (text: string) => {
    try {
      parse(text);
      return true;
    } catch (error) {
      if (error instanceof EnvironmentsFileError) return false;
      throw error;
    }
  };

  /** What JSON Schema cannot say: names unique, the variables set, the schedules' syntax, YAML's strictness. */
  const SCHEMA_CANNOT_SAY = [
    'a duplicate name',
    'a variable that is not set',
    'a variable that is empty',
    'a webhook secret variable not set',
    'a webhook secret too short',
    'a bad poll schedule',
    'a bad reconcile schedule',
    'an alias', // a generic parser reads it as its value
    'an unknown tag', // a warning to a generic parser, which reads the value
  ];
  /** What a generic YAML parser refuses before any schema sees it. */
  const NOT_YAML = [
    'not YAML',
    'tabs',
    'two documents',
    'environments twice',
    'a field given twice',
    'a pasted key that breaks the YAML',
  ];

  it.each(BAD.filter(([what]) => !SCHEMA_CANNOT_SAY.includes(what) && !NOT_YAML.includes(what)))(
    'both refuse: %s',
    (_what, text) => {
      expect(parserAccepts(text)).toBe(false);
      expect(schemaAccepts(text)).toBe(false);
    },
  );

  it.each(BAD.filter(([what]) => SCHEMA_CANNOT_SAY.includes(what)))(
    'the schema cannot say it, the parser refuses: %s',
    (_what, text) => {
      expect(parserAccepts(text)).toBe(false);
      expect(schemaAccepts(text)).toBe(true);
    },
  );

  it.each(BAD.filter(([what]) => NOT_YAML.includes(what)))('no YAML parser reads it: %s', (_what, text) => {
    expect(parserAccepts(text)).toBe(false);
    expect(() => parseYaml(text, { logLevel: 'error' })).toThrow();
  });

  it('every case is in one group', () => {
    const names = BAD.map(([what]) => what);
    expect(new Set(names).size).toBe(names.length);
    for (const what of [...SCHEMA_CANNOT_SAY, ...NOT_YAML]) expect(names).toContain(what);
  });

  it.each([
    ['the smallest file', lines('environments:', '  - {name: default, api_key_env: PROD_KEY}')],
    [
      'every field',
      lines(
        '$schema: ./schema/environments.schema.json',
        'environments:',
        '  - name: eu-west_1',
        '    api_key_env: PROD_KEY',
        '    webhook_secret_env: PROD_WEBHOOK_SECRET',
        '    poll_cron: "*/10 * * * * *"',
        '    reconcile_cron: "0 * * * *"',
        '  - name: staging',
        '    api_key_env: STAGING_KEY',
      ),
    ],
    ['JSON', '{"environments": [{"name": "a", "api_key_env": "PROD_KEY"}]}'],
  ])('both accept: %s', (_what, text) => {
    expect(parserAccepts(text)).toBe(true);
    expect(schemaAccepts(text)).toBe(true);
  });
});

describe('loading the configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'workos-sync-environments-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const fileWith = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const twoEnvironments = fileWith(
    'two.yaml',
    lines(
      'environments:',
      '  - name: production',
      '    api_key_env: PROD_KEY',
      '    webhook_secret_env: PROD_WEBHOOK_SECRET',
      '  - name: staging',
      '    api_key_env: STAGING_KEY',
      '    poll_cron: "*/30 * * * * *"',
    ),
  );

  it('without a file: one environment, default, from the settings, exactly as before', () => {
    const config = loadConfig({
      WORKOS_API_KEY: 'sk_test_single',
      WORKOS_WEBHOOK_SECRET: 'whsec_single_1',
      WORKOS_SYNC_POLL_CRON: '*/7 * * * * *',
    });
    expect(config.environmentsFile).toBeNull();
    expect(config.environments).toEqual([
      {
        name: 'default',
        apiKey: 'sk_test_single',
        webhookSecret: 'whsec_single_1',
        schedules: { pollCron: '*/7 * * * * *', reconcileCron: '17 * * * *' },
      },
    ]);
    expect(config.workos.apiKey).toBe('sk_test_single');
    expect(config.webhooks?.secret).toBe('whsec_single_1');
    expect(config.pollCron).toBe('*/7 * * * * *');
    expect(Object.isFrozen(config.environments) && Object.isFrozen(config.environments[0])).toBe(true);
    expect(requireApiKey(config)).toBe('sk_test_single');
    // and unset, as before: no key until a command that calls WorkOS needs one
    expect(loadConfig({}).environments).toEqual([
      { name: 'default', apiKey: undefined, webhookSecret: undefined, schedules: DEFAULTS },
    ]);
    expect(() => requireApiKey(loadConfig({}))).toThrow(/^WORKOS_API_KEY is not set/);
  });

  it('with a file: its environments, by the setting or the flag (which wins), and every secret known', () => {
    const config = loadConfig({ ...ENV, WORKOS_SYNC_ENVIRONMENTS_FILE: twoEnvironments });
    expect(config.environmentsFile?.file).toBe(twoEnvironments);
    expect(config.environments.map((e) => [e.name, e.apiKey, e.schedules.pollCron])).toEqual([
      ['production', ENV.PROD_KEY, DEFAULTS.pollCron],
      ['staging', ENV.STAGING_KEY, '*/30 * * * * *'],
    ]);
    expect(config.environments).toBe(config.environmentsFile?.environments);
    expect(secretsOf(config)).toEqual(
      expect.arrayContaining([ENV.PROD_KEY, ENV.STAGING_KEY, ENV.PROD_WEBHOOK_SECRET]),
    );
    // No `default` among them: the single-environment fields are empty, the settings' schedules.
    expect(config.workos.apiKey).toBeUndefined();
    expect(config.webhooks).toBeNull();
    expect(config.pollCron).toBe(DEFAULTS.pollCron);
    const flagged = loadConfig(
      { ...ENV, WORKOS_SYNC_ENVIRONMENTS_FILE: join(dir, 'missing.yaml') },
      { WORKOS_SYNC_ENVIRONMENTS_FILE: twoEnvironments },
    );
    expect(flagged.environments).toEqual(config.environments);
  });

  it('the schedules a file leaves out are the settings`', () => {
    const config = loadConfig({
      ...ENV,
      WORKOS_SYNC_ENVIRONMENTS_FILE: twoEnvironments,
      WORKOS_SYNC_POLL_CRON: '*/9 * * * * *',
      WORKOS_SYNC_RECONCILE_CRON: '5 * * * *',
    });
    expect(config.environments.map((e) => e.schedules)).toEqual([
      { pollCron: '*/9 * * * * *', reconcileCron: '5 * * * *' },
      { pollCron: '*/30 * * * * *', reconcileCron: '5 * * * *' },
    ]);
  });

  it('a file that declares default alone is the single-environment configuration', () => {
    const path = fileWith(
      'default.yaml',
      lines(
        'environments:',
        '  - name: default',
        '    api_key_env: WORKOS_API_KEY',
        '    webhook_secret_env: WORKOS_WEBHOOK_SECRET',
        '    poll_cron: "*/7 * * * * *"',
      ),
    );
    const settings = { WORKOS_API_KEY: 'sk_test_single', WORKOS_WEBHOOK_SECRET: 'whsec_single_1' };
    const fromFile = loadConfig({ ...settings, WORKOS_SYNC_ENVIRONMENTS_FILE: path });
    const fromSettings = loadConfig({ ...settings, WORKOS_SYNC_POLL_CRON: '*/7 * * * * *' });
    const { environments: _a, environmentsFile: _b, ...rest } = fromFile;
    const { environments: _c, environmentsFile: _d, ...before } = fromSettings;
    expect(rest).toEqual(before);
    expect(requireApiKey(fromFile)).toBe('sk_test_single');
  });

  it('the commands of one environment need --environment with a file of several, and take a declared name only', () => {
    const config = loadConfig({ ...ENV, WORKOS_SYNC_ENVIRONMENTS_FILE: twoEnvironments });
    expect(() => requireApiKey(config)).toThrow(
      new ConfigError(
        `${twoEnvironments} declares "production", "staging": pick the environment this command is for with --environment NAME`,
      ),
    );
    expect(() => environmentFor(config, undefined, 'sync.environment(name)')).toThrow(
      /: pick the environment this command is for with sync\.environment\(name\)$/,
    );
    expect(requireApiKey(config, 'staging')).toBe(ENV.STAGING_KEY);
    expect(environmentFor(config, 'production').apiKey).toBe(ENV.PROD_KEY);
    expect(() => requireApiKey(config, 'default')).toThrow(
      new ConfigError(
        `environment "default" is not declared: ${twoEnvironments} declares "production", "staging"`,
      ),
    );
    // Without a file, the one environment `default`; a file of one, that one.
    expect(environmentFor(loadConfig({}), undefined).name).toBe('default');
    expect(() => environmentFor(loadConfig({}), 'staging')).toThrow(
      new ConfigError(
        'environment "staging" is not configured: without an environments file (WORKOS_SYNC_ENVIRONMENTS_FILE) there is one environment, "default"',
      ),
    );
    const one = fileWith(
      'one.yaml',
      lines('environments:', '  - name: staging', '    api_key_env: STAGING_KEY'),
    );
    expect(requireApiKey(loadConfig({ ...ENV, WORKOS_SYNC_ENVIRONMENTS_FILE: one }))).toBe(ENV.STAGING_KEY);
  });

  it.each([
    [
      'WORKOS_API_KEY',
      { WORKOS_API_KEY: 'sk_test_single' },
      "WORKOS_API_KEY is set, and so is WORKOS_SYNC_ENVIRONMENTS_FILE, whose environments name no WORKOS_API_KEY as their api_key_env: which environment's is it? Unset it, or name it in the file (api_key_env: WORKOS_API_KEY)",
    ],
    [
      'WORKOS_WEBHOOK_SECRET',
      { WORKOS_WEBHOOK_SECRET: 'whsec_single_1' },
      "WORKOS_WEBHOOK_SECRET is set, and so is WORKOS_SYNC_ENVIRONMENTS_FILE, whose environments name no WORKOS_WEBHOOK_SECRET as their webhook_secret_env: which environment's is it? Unset it, or name it in the file (webhook_secret_env: WORKOS_WEBHOOK_SECRET)",
    ],
  ])('%s set beside a file that does not name it is ambiguous: one error', (_name, extra, message) => {
    const load = () => loadConfig({ ...ENV, ...extra, WORKOS_SYNC_ENVIRONMENTS_FILE: twoEnvironments });
    expect(load).toThrow(new ConfigError(message));
    expect(load).not.toThrow(/sk_test_single|whsec_single_1/);
  });

  it('a file that cannot be read, or is bad, is one ConfigError naming it', () => {
    const missing = join(dir, 'missing.yaml');
    expect(() => loadConfig({ WORKOS_SYNC_ENVIRONMENTS_FILE: missing })).toThrow(
      new ConfigError(`WORKOS_SYNC_ENVIRONMENTS_FILE names a file that cannot be read (ENOENT): ${missing}`),
    );
    expect(() => loadConfig({ WORKOS_SYNC_ENVIRONMENTS_FILE: dir })).toThrow(
      /^WORKOS_SYNC_ENVIRONMENTS_FILE names a file that cannot be read \(EISDIR\)/,
    );
    const bad = fileWith(
      'bad.yaml',
      lines('environments:', '  - name: staging', '    api_key_env: STAGING_KEY'),
    );
    expect(() => loadConfig({ WORKOS_SYNC_ENVIRONMENTS_FILE: bad })).toThrow(
      new EnvironmentsFileError(
        bad,
        3,
        'environment "staging": api_key_env names STAGING_KEY, which is not set',
      ),
    );
  });
});

describe('what declaring environments changes (environments check)', () => {
  it.each([
    [[], [], { added: [], removed: [], kept: [] }],
    [['default'], [], { added: ['default'], removed: [], kept: [] }],
    [['default'], ['default'], { added: [], removed: [], kept: ['default'] }],
    [
      ['production', 'staging'],
      ['default', 'production'],
      { added: ['staging'], removed: ['default'], kept: ['production'] },
    ],
    [
      ['staging', 'production', 'staging'],
      ['old-env', 'production', 'zeta'],
      { added: ['staging'], removed: ['old-env', 'zeta'], kept: ['production'] },
    ],
    [[], ['a', 'b'], { added: [], removed: ['a', 'b'], kept: [] }],
  ])('declared %j, known %j', (declared, known, changes) => {
    expect(diffEnvironments(declared, known)).toEqual(changes);
  });
});
