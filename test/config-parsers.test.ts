/**
 * The settings' parsers, table by table: the environment's text and the library's values through
 * the same parser, one error naming the setting — and every row reaches its parser from both
 * front doors, under its variable on the command line and its option in the library.
 */
import { describe, expect, it } from 'vitest';
import {
  cronExpression,
  databaseUrl,
  httpUrl,
  identifier,
  logLevel,
  type Parser,
  port,
  requestsPerMinute,
  seconds,
  text,
  webhookSecret,
} from '../src/config/parsers.ts';
import { loadConfig, resolveOptions, SETTINGS, type WorkosSyncSettings } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';

type Case = readonly [input: unknown, expected: unknown];
const NAME = 'SOME_SETTING';
/** The event log's retention: days from the floor (120), or forever. */
const retention = SETTINGS.find((s) => s.name === 'WORKOS_SYNC_EVENTS_RETENTION_DAYS')!.parse as Parser<
  never,
  unknown
>;

const accepted: readonly (readonly [string, Parser<never, unknown>, readonly Case[]])[] = [
  ['text', text, [['anything at all', 'anything at all']]],
  [
    'httpUrl',
    httpUrl,
    [
      ['https://api.workos.com', 'https://api.workos.com/'],
      ['http://127.0.0.1:4010/v1', 'http://127.0.0.1:4010/v1'],
    ],
  ],
  [
    'databaseUrl',
    databaseUrl,
    [
      ['postgres://u:p@h/db', 'postgres://u:p@h/db'],
      ['postgresql://u:50%25off@h/db?sslmode=require', 'postgresql://u:50%25off@h/db?sslmode=require'],
    ],
  ],
  [
    'identifier',
    identifier,
    [
      ['workos', 'workos'],
      ['_mirror_2', '_mirror_2'],
      ['a'.repeat(55), 'a'.repeat(55)],
    ],
  ],
  [
    'cronExpression',
    cronExpression,
    [
      ['*/5 * * * * *', '*/5 * * * * *'],
      ['17 * * * *', '17 * * * *'],
    ],
  ],
  [
    'port',
    port,
    [
      ['0', 0],
      ['9464', 9464],
      ['65535', 65535],
      [0, 0],
      [8080, 8080],
      [65535, 65535],
    ],
  ],
  [
    'seconds',
    seconds,
    [
      ['30', 30],
      ['0.5', 0.5],
      ['86400', 86_400],
      [0.25, 0.25],
      [86_400, 86_400],
    ],
  ],
  [
    'logLevel',
    logLevel,
    [
      ['info', 'info'],
      ['DEBUG', 'debug'],
      ['silent', 'silent'],
    ],
  ],
  ['webhookSecret', webhookSecret, [['whsec_12345678', 'whsec_12345678']]],
  [
    'requestsPerMinute',
    requestsPerMinute,
    [
      ['1', 1],
      ['1200', 1200],
      ['600000', 600_000],
      ['0', 3000],
      [60, 60],
      [0, 3000],
    ],
  ],
  [
    'retentionDays',
    retention,
    [
      ['120', 120],
      ['400', 400],
      ['36500', 36_500],
      ['forever', null],
      ['Forever', null],
      [365, 365],
      ['forever', null],
    ],
  ],
];

const refused: readonly (readonly [string, Parser<never, unknown>, readonly Case[]])[] = [
  [
    'httpUrl',
    httpUrl,
    [
      ['ftp://x', `${NAME} must be an http(s) URL, got "ftp://x"`],
      ['not a url', `${NAME} must be an http(s) URL, got "not a url"`],
      [42, `${NAME} must be an http(s) URL, got "42"`],
    ],
  ],
  [
    'databaseUrl',
    databaseUrl,
    [
      ['not a url', `${NAME} must be a postgres:// connection string`],
      ['mysql://h/db', `${NAME} must start with postgres:// or postgresql://, not mysql://`],
      [
        'postgres://u:100%pure@h/db',
        `${NAME} has a malformed percent-escape in its password: write a literal % as %25 (and @ : / as %40 %3A %2F)`,
      ],
    ],
  ],
  [
    'identifier',
    identifier,
    [
      ['Public', `${NAME} must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 55), got "Public"`],
      [
        'x; drop table',
        `${NAME} must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 55), got "x; drop table"`,
      ],
      [
        'a'.repeat(56),
        `${NAME} must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 55), got "${'a'.repeat(56)}"`,
      ],
    ],
  ],
  ['cronExpression', cronExpression, [['* *', `${NAME} is not a valid cron expression: "* *"`]]],
  [
    'port',
    port,
    [
      ['-1', `${NAME} must be a port number 0-65535, got "-1"`],
      ['65536', `${NAME} must be a port number 0-65535, got "65536"`],
      ['1.5', `${NAME} must be a port number 0-65535, got "1.5"`],
      ['80 80', `${NAME} must be a port number 0-65535, got "80 80"`],
      [-1, `${NAME} must be a port number 0-65535, got "-1"`],
      [70_000, `${NAME} must be a port number 0-65535, got "70000"`],
      [1.5, `${NAME} must be a port number 0-65535, got "1.5"`],
      [Number.NaN, `${NAME} must be a port number 0-65535, got "NaN"`],
      [true, `${NAME} must be a port number 0-65535, got "true"`],
    ],
  ],
  [
    'seconds',
    seconds,
    [
      ['0', `${NAME} must be a number of seconds between 0 and 86400, got "0"`],
      ['0.0', `${NAME} must be a number of seconds between 0 and 86400, got "0.0"`],
      ['86400.5', `${NAME} must be a number of seconds between 0 and 86400, got "86400.5"`],
      ['1e3', `${NAME} must be a number of seconds between 0 and 86400, got "1e3"`],
      ['-5', `${NAME} must be a number of seconds between 0 and 86400, got "-5"`],
      [0, `${NAME} must be a number of seconds between 0 and 86400, got "0"`],
      [-5, `${NAME} must be a number of seconds between 0 and 86400, got "-5"`],
      [86_401, `${NAME} must be a number of seconds between 0 and 86400, got "86401"`],
      [Number.POSITIVE_INFINITY, `${NAME} must be a number of seconds between 0 and 86400, got "Infinity"`],
      [null, `${NAME} must be a number of seconds between 0 and 86400, got "null"`],
    ],
  ],
  [
    'logLevel',
    logLevel,
    [['verbose', `${NAME} must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"`]],
  ],
  ['webhookSecret', webhookSecret, [['s3cret', `${NAME} is too short to be a webhook secret`]]],
  [
    'requestsPerMinute',
    requestsPerMinute,
    ['-1', '1.5', '1e3', 'off', '600001', -1, 1.5, 600_001, Number.NaN, true].map(
      (bad) =>
        [
          bad,
          `${NAME} must be a whole number of requests a minute, 1 to 600000 (0 for the default, 3000), got "${bad}"`,
        ] as const,
    ),
  ],
  [
    'retentionDays',
    retention,
    // Below 120, an event WorkOS may still serve again could go, and idempotence with it.
    ['119', '30', '0', '-1', '120.5', '36501', 'never', '1e3', 119, 120.5, Number.NaN].map(
      (bad) =>
        [
          bad,
          `${NAME} must be a whole number of days from 120 (WorkOS's retention and a margin) to 36500, or forever, got "${bad}"`,
        ] as const,
    ),
  ],
];

/** A string goes to `text` (the environment's form), anything else to `value`, as the loader does. */
const parse = (parser: Parser<never, unknown>, input: unknown) =>
  typeof input === 'string' ? parser.text(input, NAME) : parser.value(input as never, NAME);

describe.each(accepted)('%s accepts', (_name, parser, cases) => {
  it.each(cases)('%j', (input, expected) => {
    expect(parse(parser, input)).toEqual(expected);
  });
});

describe.each(refused)('%s refuses, in one error naming the setting', (_name, parser, cases) => {
  it.each(cases)('%j', (input, message) => {
    expect(() => parse(parser, input)).toThrow(new ConfigError(message as string));
  });
});

it('never echoes a secret it refuses', () => {
  expect(() => webhookSecret.text('s3cret', NAME)).not.toThrow(/s3cret/);
  expect(() => databaseUrl.text('postgres://u:100%pure@h/db', NAME)).not.toThrow(/pure/);
});

/** Text each parser refuses, to reach it through both front doors. */
const BAD = new Map<Parser<never, unknown>, string>([
  [httpUrl, 'ftp://x'],
  [databaseUrl, 'mysql://h/db'],
  [identifier, 'Not-A-Schema'],
  [cronExpression, 'every minute'],
  [port, '99999'],
  [seconds, '0'],
  [logLevel, 'loud'],
  [webhookSecret, 'short'],
  [requestsPerMinute, 'off'],
  [retention, '90'],
]);

/** `{ http: { port: value } }` for `http.port`; a webhook secret where the group needs one. */
function optionsWith(option: string, value: unknown): WorkosSyncSettings {
  const [group, key] = option.split('.') as [string, string | undefined];
  if (key === undefined) return { [group]: value } as WorkosSyncSettings;
  const base = group === 'webhooks' ? { secret: 'whsec_12345678' } : {};
  return { [group]: { ...base, [key]: value } } as WorkosSyncSettings;
}

describe.each(
  SETTINGS.filter((s) => BAD.has(s.parse) && s.option !== null).map(
    (s) => [s.name, s.option!, BAD.get(s.parse)!] as const,
  ),
)('%s (option %s) refuses %j', (name, option, bad) => {
  it('from the environment, naming the variable', () => {
    expect(() => loadConfig({ [name]: bad })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: bad })).toThrow(new RegExp(`^${name} `));
  });

  it('from the library, naming the option', () => {
    expect(() => resolveOptions(optionsWith(option, bad))).toThrow(ConfigError);
    expect(() => resolveOptions(optionsWith(option, bad))).toThrow(
      new RegExp(`^${option.replace('.', '\\.')} `),
    );
  });
});

describe('library values reach the parsers as values', () => {
  it('numbers stay numbers, and a string is read as the environment`s text', () => {
    const config = resolveOptions({
      http: { port: 8080 },
      leaseSeconds: 2.5,
      requestTimeoutSeconds: '12' as unknown as number,
    });
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080, basicAuth: null });
    expect(config.leaseTtlMs).toBe(2500);
    expect(config.requestTimeoutMs).toBe(12_000);
  });

  it('the request budget: 0 or unset is the default, from either front door', () => {
    expect(loadConfig({}).workos.requestsPerMinute).toBe(3000);
    expect(loadConfig({ WORKOS_SYNC_REQUESTS_PER_MINUTE: '0' }).workos.requestsPerMinute).toBe(3000);
    expect(loadConfig({ WORKOS_SYNC_REQUESTS_PER_MINUTE: '1200' }).workos.requestsPerMinute).toBe(1200);
    expect(resolveOptions({ requestsPerMinute: 0 }).workos.requestsPerMinute).toBe(3000);
    expect(resolveOptions({ requestsPerMinute: 1200 }).workos.requestsPerMinute).toBe(1200);
  });

  it('the pool size: 4 by default, 1 to 100, from either front door', () => {
    expect(loadConfig({}).database.poolSize).toBe(4);
    expect(loadConfig({ WORKOS_SYNC_POOL_SIZE: '10' }).database.poolSize).toBe(10);
    expect(resolveOptions({ poolSize: 10 }).database.poolSize).toBe(10);
    for (const bad of ['0', '101', '2.5', 'ten'])
      expect(() => loadConfig({ WORKOS_SYNC_POOL_SIZE: bad })).toThrow(
        `WORKOS_SYNC_POOL_SIZE must be a whole number of connections, 1 to 100, got "${bad}"`,
      );
  });

  it("an idle fleet environment's backoff bound: unset is the code's default (null), seconds otherwise", () => {
    expect(loadConfig({}).idlePollMaxMs).toBeNull();
    expect(loadConfig({ WORKOS_SYNC_IDLE_POLL_MAX_SECONDS: '12' }).idlePollMaxMs).toBe(12_000);
    expect(loadConfig({ WORKOS_SYNC_IDLE_POLL_MAX_SECONDS: '0.5' }).idlePollMaxMs).toBe(500);
    for (const bad of ['0', '-1', 'ten'])
      expect(() => loadConfig({ WORKOS_SYNC_IDLE_POLL_MAX_SECONDS: bad })).toThrow(
        /^WORKOS_SYNC_IDLE_POLL_MAX_SECONDS /,
      );
  });

  it('NOTIFY: on by default; on or off (any case) from the environment, a boolean from the library', () => {
    expect(loadConfig({}).notify).toBe(true);
    expect(loadConfig({ WORKOS_SYNC_NOTIFY: 'off' }).notify).toBe(false);
    expect(loadConfig({ WORKOS_SYNC_NOTIFY: 'ON' }).notify).toBe(true);
    expect(resolveOptions({ notify: false }).notify).toBe(false);
    for (const bad of ['no', '0', 'yes'])
      expect(() => loadConfig({ WORKOS_SYNC_NOTIFY: bad })).toThrow(
        `WORKOS_SYNC_NOTIFY must be on or off, got "${bad}"`,
      );
  });

  it('`http: false` is no server: the port that means none, the host as configured by default', () => {
    expect(resolveOptions({ http: false }).http).toEqual({ host: '127.0.0.1', port: 0, basicAuth: null });
    expect(resolveOptions({ http: false }).http).toEqual(loadConfig({ WORKOS_SYNC_HTTP_PORT: '0' }).http);
  });

  it('an empty or blank string is unset, from either front door', () => {
    expect(resolveOptions({ apiUrl: ' ', schema: '', database: { dataDir: '' } })).toEqual(
      resolveOptions({}),
    );
    expect(loadConfig({ WORKOS_API_URL: ' ', WORKOS_SYNC_SCHEMA: '' })).toEqual(loadConfig({}));
  });

  it('the same settings make the same configuration, whichever the front door', () => {
    const options = {
      apiKey: 'sk_test_123',
      apiUrl: 'http://127.0.0.1:4010',
      database: { dataDir: '/tmp/mirror' },
      schema: 'mirror',
      pollCron: '*/10 * * * * *',
      reconcileCron: '0 * * * *',
      http: { host: '0.0.0.0', port: 9000, basicAuth: 'prometheus:scrape-me-1' },
      webhooks: { secret: 'whsec_12345678', host: '127.0.0.1', port: 9001, lookSeconds: 5 },
      poolSize: 10,
      leaseSeconds: 20,
      idlePollMaxSeconds: 15,
      requestTimeoutSeconds: 10,
      requestsPerMinute: 1200,
      logLevel: 'warn',
      notify: 'off',
      events: { retentionDays: 200, pruneQuarantined: 'on' },
    } as const;
    const env: Record<string, string> = {};
    for (const setting of SETTINGS) {
      if (setting.option === null) continue; // the command line's alone
      const [group, key] = setting.option.split('.') as [keyof typeof options, string | undefined];
      const value = key === undefined ? options[group] : (options[group] as Record<string, unknown>)[key];
      if (value !== undefined) env[setting.name] = String(value);
    }
    // no DATABASE_URL, no CA, no environments file (the command line's alone)
    expect(Object.keys(env)).toHaveLength(SETTINGS.length - 3);
    expect(resolveOptions(options)).toEqual(loadConfig(env));
  });
});
