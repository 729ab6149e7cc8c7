/**
 * The settings, validated once into a frozen `Config`, through one path with two front doors:
 * `loadConfig` for the command line (the environment's text, overridden by flags) and
 * `resolveOptions` for the library (its options, as values). Each setting goes through its row's
 * parser, then the checks that take two settings at once run, once. A bad value is one
 * `ConfigError` naming the variable or the option the user wrote.
 *
 * The WorkOS environments come from the environments file when the command line names one (read
 * here, once, and parsed by config/environments.ts), and otherwise are the one environment the
 * settings describe, `default`.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_ENVIRONMENT } from '../db/environment-scope.ts';
import { sessionLimitsFor } from '../db/session-limits.ts';
import type { DatabaseSettings, DatabaseTarget } from '../db/settings.ts';
import { ConfigError } from '../errors.ts';
import type { EventsRetention } from '../sync/events/retention.ts';
import type { BasicAuth } from '../worker/http-server.ts';
import type { WebhookSettings } from '../worker/serve.ts';
import {
  type EnvironmentConfig,
  type EnvironmentSchedules,
  type EnvironmentsConfig,
  parseEnvironmentsFile,
} from './environments.ts';
import { type Given, givenOptions, type WorkosSyncSettings } from './options.ts';
import {
  type ParsedSettings,
  SETTINGS,
  type Setting,
  type SettingName,
  type SettingValue,
} from './settings.ts';
import { parseTls } from './tls.ts';

export interface Config {
  /**
   * The WorkOS environments to mirror, at least one, names unique: the environments file's, or
   * without one the single environment `default` of `WORKOS_API_KEY`, `WORKOS_WEBHOOK_SECRET`
   * and the schedules.
   */
  readonly environments: readonly EnvironmentConfig[];
  /** The environments file as parsed (its environments are `environments`); null without one. */
  readonly environmentsFile: EnvironmentsConfig | null;
  /** `apiKey` is the `default` environment's (undefined when there is none, or it has no key). */
  readonly workos: {
    readonly apiKey: SettingValue<'WORKOS_API_KEY'>;
    readonly apiUrl: SettingValue<'WORKOS_API_URL'>;
    /** The fleet's WorkOS request budget (sync/request-budget.ts): every replica's the same. */
    readonly requestsPerMinute: SettingValue<'WORKOS_SYNC_REQUESTS_PER_MINUTE'>;
  };
  readonly database: DatabaseSettings;
  /** The `default` environment's schedules; the settings' when there is none. */
  readonly pollCron: SettingValue<'WORKOS_SYNC_POLL_CRON'>;
  readonly reconcileCron: SettingValue<'WORKOS_SYNC_RECONCILE_CRON'>;
  /** The health and metrics server of `run`/`start()`; port 0 disables it. */
  readonly http: {
    readonly host: SettingValue<'WORKOS_SYNC_HTTP_HOST'>;
    readonly port: SettingValue<'WORKOS_SYNC_HTTP_PORT'>;
    /** What `/metrics` asks for; null: nothing. */
    readonly basicAuth: BasicAuth | null;
  };
  /** How long a replica's lease lives without renewal: the takeover time when a holder dies. */
  readonly leaseTtlMs: number;
  /** The bound of an idle fleet environment's backoff (worker/pacing.ts); null: the code's default. */
  readonly idlePollMaxMs: number | null;
  /** One WorkOS request's deadline (the SDK's timeout). */
  readonly requestTimeoutMs: number;
  /**
   * The webhook receiver of `run`/`start()` (a nudge to poll now), with the `default`
   * environment's secret; null without one.
   */
  readonly webhooks: WebhookSettings | null;
  /**
   * Where the webhook receiver listens, and how long a nudge keeps looking, with or without a
   * secret: with an environments file, the receiver of every environment that has one
   * (`environments[i].webhookSecret`), each on a path of its own.
   */
  readonly webhookReceiver: {
    readonly host: SettingValue<'WORKOS_SYNC_WEBHOOK_HOST'>;
    readonly port: SettingValue<'WORKOS_SYNC_WEBHOOK_PORT'>;
    readonly lookForMs: number;
  };
  readonly logLevel: SettingValue<'LOG_LEVEL'>;
  /** Whether the writers announce their changes with NOTIFY (`<schema>_changes`). */
  readonly notify: SettingValue<'WORKOS_SYNC_NOTIFY'>;
  /** How long the event log keeps events (sync/events/retention.ts). */
  readonly eventsRetention: EventsRetention;
}

/** The text of some settings, by variable (the environment, or the command line's flags). */
export type SettingTexts = Partial<Record<SettingName, string | undefined>>;

/** The command line's configuration: flags win over the environment; an empty string counts as unset. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  flags: SettingTexts = {},
): Config {
  const given: Given = {};
  for (const setting of SETTINGS) given[setting.name] = flags[setting.name] ?? env[setting.name];
  return validate(given, (setting) => setting.name, undefined, env);
}

/** The library's configuration (`createWorkosSync`): the same settings, and the same checks. */
export function resolveOptions(options: WorkosSyncSettings): Config {
  const database = options.database;
  const connected: DatabaseTarget | undefined =
    database && 'pool' in database
      ? { kind: 'pool', pool: database.pool }
      : database && 'kysely' in database
        ? { kind: 'kysely', kysely: database.kysely }
        : undefined;
  return validate(givenOptions(options), (setting) => setting.option ?? setting.name, connected);
}

type NameOf = (setting: Setting) => string;

/** `env` is where the environments file's variables are looked up (the command line's only). */
function validate(
  given: Given,
  nameOf: NameOf,
  connected?: DatabaseTarget,
  env: Readonly<Record<string, string | undefined>> = {},
): Config {
  const values = parseEach(given, nameOf);
  const name = (setting: SettingName) => nameOf(SETTINGS.find((s) => s.name === setting)!);
  const url = values.DATABASE_URL;
  const caFile = values.WORKOS_SYNC_PG_SSL_CA;
  if (caFile !== undefined && url === undefined) {
    throw new ConfigError(
      `${name('WORKOS_SYNC_PG_SSL_CA')} is set, but ${name('DATABASE_URL')} is not: the CA is for TLS to a Postgres server`,
    );
  }
  const target: DatabaseTarget =
    connected ??
    (url
      ? { kind: 'url', url, tls: parseTls(name('DATABASE_URL'), name('WORKOS_SYNC_PG_SSL_CA'), url, caFile) }
      : { kind: 'embedded', dataDir: values.WORKOS_SYNC_DATA_DIR });
  const leaseTtlMs = values.WORKOS_SYNC_LEASE_SECONDS * 1000;
  const schedules: EnvironmentSchedules = {
    pollCron: values.WORKOS_SYNC_POLL_CRON,
    reconcileCron: values.WORKOS_SYNC_RECONCILE_CRON,
  };
  const file = values.WORKOS_SYNC_ENVIRONMENTS_FILE;
  const declared = file === undefined ? null : readEnvironmentsFile(file, env, schedules, values, name);
  const environments: readonly EnvironmentConfig[] = declared?.environments ?? [
    {
      name: DEFAULT_ENVIRONMENT,
      apiKey: values.WORKOS_API_KEY,
      webhookSecret: values.WORKOS_WEBHOOK_SECRET,
      schedules,
    },
  ];
  // What the commands of one environment sync (the fields from before environments): `default`.
  const primary = environments.find((environment) => environment.name === DEFAULT_ENVIRONMENT);
  const secret = primary?.webhookSecret;
  const webhookReceiver = {
    host: values.WORKOS_SYNC_WEBHOOK_HOST,
    port: values.WORKOS_SYNC_WEBHOOK_PORT,
    lookForMs: values.WORKOS_SYNC_WEBHOOK_LOOK_SECONDS * 1000,
  };
  return freezeSettings<Config>({
    environments,
    environmentsFile: declared,
    workos: {
      apiKey: primary?.apiKey,
      apiUrl: values.WORKOS_API_URL,
      requestsPerMinute: values.WORKOS_SYNC_REQUESTS_PER_MINUTE,
    },
    database: {
      target,
      schema: values.WORKOS_SYNC_SCHEMA,
      sessionLimits: sessionLimitsFor(leaseTtlMs),
      poolSize: values.WORKOS_SYNC_POOL_SIZE,
    },
    pollCron: primary?.schedules.pollCron ?? schedules.pollCron,
    reconcileCron: primary?.schedules.reconcileCron ?? schedules.reconcileCron,
    http: {
      host: values.WORKOS_SYNC_HTTP_HOST,
      port: values.WORKOS_SYNC_HTTP_PORT,
      basicAuth: values.WORKOS_SYNC_HTTP_BASIC_AUTH ?? null,
    },
    leaseTtlMs,
    idlePollMaxMs:
      values.WORKOS_SYNC_IDLE_POLL_MAX_SECONDS === undefined
        ? null
        : values.WORKOS_SYNC_IDLE_POLL_MAX_SECONDS * 1000,
    requestTimeoutMs: values.WORKOS_SYNC_REQUEST_TIMEOUT_SECONDS * 1000,
    webhooks: secret === undefined ? null : { secret, ...webhookReceiver },
    webhookReceiver,
    logLevel: values.LOG_LEVEL,
    notify: values.WORKOS_SYNC_NOTIFY,
    eventsRetention: {
      days: values.WORKOS_SYNC_EVENTS_RETENTION_DAYS,
      quarantined: values.WORKOS_SYNC_PRUNE_QUARANTINED,
    },
  });
}

/**
 * The environments file: read once, parsed against the environment's variables (a bad one is one
 * error naming its line). `WORKOS_API_KEY` or `WORKOS_WEBHOOK_SECRET` set beside it is an error
 * unless the file names it: otherwise it would be nobody's, or anybody's.
 */
function readEnvironmentsFile(
  path: string,
  env: Readonly<Record<string, string | undefined>>,
  defaults: EnvironmentSchedules,
  values: ParsedSettings,
  name: (setting: SettingName) => string,
): EnvironmentsConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new ConfigError(
      `${name('WORKOS_SYNC_ENVIRONMENTS_FILE')} names a file that cannot be read (${typeof code === 'string' ? code : 'error'}): ${path}`,
    );
  }
  const declared = parseEnvironmentsFile({ file: path, text, env, defaults });
  for (const [setting, field, secret] of [
    ['WORKOS_API_KEY', 'api_key_env', values.WORKOS_API_KEY],
    ['WORKOS_WEBHOOK_SECRET', 'webhook_secret_env', values.WORKOS_WEBHOOK_SECRET],
  ] as const) {
    const named = declared.environments.some((environment) =>
      field === 'api_key_env' ? environment.apiKeyEnv === setting : environment.webhookSecretEnv === setting,
    );
    if (secret !== undefined && !named) {
      throw new ConfigError(
        `${name(setting)} is set, and so is ${name('WORKOS_SYNC_ENVIRONMENTS_FILE')}, whose environments name no ${setting} as their ${field}: which environment's is it? Unset it, or name it in the file (${field}: ${setting})`,
      );
    }
  }
  return declared;
}

/** Each setting through its row's parser, in the rows' order: the first bad one is the error. */
function parseEach(given: Given, nameOf: NameOf): ParsedSettings {
  const values: Partial<Record<SettingName, unknown>> = {};
  for (const setting of SETTINGS as readonly Setting<SettingName>[]) {
    const value = given[setting.name];
    const unset = value === undefined || (typeof value === 'string' && value.trim() === '');
    values[setting.name] = parseOne(setting, unset ? setting.default : value, nameOf(setting));
  }
  return values as ParsedSettings;
}

function parseOne(setting: Setting, value: unknown, name: string): unknown {
  if (value === undefined) return undefined;
  return typeof value === 'string'
    ? setting.parse.text(value.trim(), name)
    : setting.parse.value(value, name);
}

/** Freezes the settings, not the application's own pool or Kysely that a target may hold. */
function freezeSettings<T>(value: T): T {
  const prototype = value && typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  if (prototype === Object.prototype || prototype === Array.prototype) {
    for (const child of Object.values(value as object)) freezeSettings(child);
    Object.freeze(value);
  }
  return value;
}
