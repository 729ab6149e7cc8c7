/**
 * The settings, validated once into a frozen `Config`, through one path with two front doors:
 * `loadConfig` for the command line (the environment's text, overridden by flags) and
 * `resolveOptions` for the library (its options, as values). Each setting goes through its row's
 * parser, then the checks that take two settings at once run, once. A bad value is one
 * `ConfigError` naming the variable or the option the user wrote.
 */
import { sessionLimitsFor } from '../db/session-limits.ts';
import type { DatabaseSettings, DatabaseTarget } from '../db/settings.ts';
import { ConfigError } from '../errors.ts';
import type { WebhookSettings } from '../worker/serve.ts';
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
  readonly workos: {
    readonly apiKey: SettingValue<'WORKOS_API_KEY'>;
    readonly apiUrl: SettingValue<'WORKOS_API_URL'>;
    /** The fleet's WorkOS request budget (sync/request-budget.ts): every replica's the same. */
    readonly requestsPerMinute: SettingValue<'WORKOS_SYNC_REQUESTS_PER_MINUTE'>;
  };
  readonly database: DatabaseSettings;
  readonly pollCron: SettingValue<'WORKOS_SYNC_POLL_CRON'>;
  readonly reconcileCron: SettingValue<'WORKOS_SYNC_RECONCILE_CRON'>;
  /** The health and metrics server of `run`/`start()`; port 0 disables it. */
  readonly http: {
    readonly host: SettingValue<'WORKOS_SYNC_HTTP_HOST'>;
    readonly port: SettingValue<'WORKOS_SYNC_HTTP_PORT'>;
  };
  /** How long a replica's lease lives without renewal: the takeover time when a holder dies. */
  readonly leaseTtlMs: number;
  /** One WorkOS request's deadline (the SDK's timeout). */
  readonly requestTimeoutMs: number;
  /** The webhook receiver of `run`/`start()` (a nudge to poll now); null without a secret. */
  readonly webhooks: WebhookSettings | null;
  readonly logLevel: SettingValue<'LOG_LEVEL'>;
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
  return validate(given, (setting) => setting.name);
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
  return validate(givenOptions(options), (setting) => setting.option, connected);
}

type NameOf = (setting: Setting) => string;

function validate(given: Given, nameOf: NameOf, connected?: DatabaseTarget): Config {
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
  const secret = values.WORKOS_WEBHOOK_SECRET;
  return freezeSettings<Config>({
    workos: {
      apiKey: values.WORKOS_API_KEY,
      apiUrl: values.WORKOS_API_URL,
      requestsPerMinute: values.WORKOS_SYNC_REQUESTS_PER_MINUTE,
    },
    database: {
      target,
      schema: values.WORKOS_SYNC_SCHEMA,
      sessionLimits: sessionLimitsFor(leaseTtlMs),
    },
    pollCron: values.WORKOS_SYNC_POLL_CRON,
    reconcileCron: values.WORKOS_SYNC_RECONCILE_CRON,
    http: { host: values.WORKOS_SYNC_HTTP_HOST, port: values.WORKOS_SYNC_HTTP_PORT },
    leaseTtlMs,
    requestTimeoutMs: values.WORKOS_SYNC_REQUEST_TIMEOUT_SECONDS * 1000,
    webhooks:
      secret === undefined
        ? null
        : {
            secret,
            host: values.WORKOS_SYNC_WEBHOOK_HOST,
            port: values.WORKOS_SYNC_WEBHOOK_PORT,
            lookForMs: values.WORKOS_SYNC_WEBHOOK_LOOK_SECONDS * 1000,
          },
    logLevel: values.LOG_LEVEL,
  });
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
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const child of Object.values(value)) freezeSettings(child);
    Object.freeze(value);
  }
  return value;
}
