/**
 * Configuration, validated once into a frozen `Config`, through one path with two front doors:
 * `resolveOptions` for the library's options (`createWorkosSync`), and `loadConfig` for the
 * command line, which reads the environment overridden by flags (this is the only module that
 * reads `process.env`, through the `env` argument its caller passes in) and hands the same
 * validation its strings. A bad value is one `ConfigError` naming the option or the variable the
 * user wrote.
 */
import { readFileSync } from 'node:fs';
import type { Kysely } from 'kysely';
import cron from 'node-cron';
import type pg from 'pg';
import { sessionLimitsFor } from './db/session-limits.ts';
import type { DatabaseSettings, DatabaseTarget } from './db/settings.ts';
import {
  checkCaBundle,
  DEFAULT_SSL_MODE,
  type PostgresTls,
  SSL_MODES,
  type SslMode,
  UNSUPPORTED_URL_PARAMETERS,
} from './db/tls.ts';
import { ConfigError } from './errors.ts';
import type { WebhookSettings } from './worker/serve.ts';

export type { DatabaseTarget, WebhookSettings };

export interface Config {
  readonly workos: { readonly apiKey: string | undefined; readonly apiUrl: string };
  readonly database: DatabaseSettings;
  readonly pollCron: string;
  readonly reconcileCron: string;
  /** The health and metrics server of `run`/`start()`; port 0 disables it. */
  readonly http: { readonly host: string; readonly port: number };
  /** How long a replica's lease lives without renewal: the takeover time when a holder dies. */
  readonly leaseTtlMs: number;
  /** One WorkOS request's deadline (the SDK's timeout). */
  readonly requestTimeoutMs: number;
  /** The webhook receiver of `run`/`start()` (a nudge to poll now); null without a secret. */
  readonly webhooks: WebhookSettings | null;
  readonly logLevel: LogLevel;
}

/** The library's options (`createWorkosSync`): every setting of the command line, as values. */
export interface WorkosSyncSettings {
  /** Required for everything that calls WorkOS. */
  readonly apiKey?: string | undefined;
  /** Default `https://api.workos.com`. */
  readonly apiUrl?: string | undefined;
  /**
   * Where the mirror lives: `{ url }`, the application's `{ pool }` (a `pg.Pool`) or `{ kysely }`
   * (any Kysely over Postgres; the mirror keeps to its own schema), or the embedded database
   * under `{ dataDir }` (the default: `.workos-sync`). With a URL, `sslCa` is the path of a CA
   * file (PEM) to trust for TLS to the server, read once here; the URL's `sslmode` says libpq's
   * way whether and how the server is verified (README, "TLS to Postgres").
   */
  readonly database?:
    | { readonly url: string; readonly sslCa?: string | undefined }
    | { readonly pool: pg.Pool }
    // biome-ignore lint/suspicious/noExplicitAny: see DatabaseTarget.
    | { readonly kysely: Kysely<any> }
    | { readonly dataDir: string }
    | undefined;
  /** Default `workos`. */
  readonly schema?: string | undefined;
  readonly pollCron?: string | undefined;
  readonly reconcileCron?: string | undefined;
  /** `start()`'s health and metrics server; `false` (or port 0) for none. Default 127.0.0.1:9464. */
  readonly http?:
    | { readonly host?: string | undefined; readonly port?: number | undefined }
    | false
    | undefined;
  readonly leaseSeconds?: number | undefined;
  readonly requestTimeoutSeconds?: number | undefined;
  /**
   * `start()`'s webhook receiver: with a `secret`, `POST /webhooks/workos` on its own listener
   * (default 0.0.0.0:9465) makes the worker poll now. A nudge, never a source of writes.
   */
  readonly webhooks?:
    | {
        readonly secret: string;
        readonly host?: string | undefined;
        readonly port?: number | undefined;
        readonly lookSeconds?: number | undefined;
      }
    | undefined;
  /** The level of the logger workos-sync makes itself (not of one passed in). Default `info`. */
  readonly logLevel?: LogLevel | undefined;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

interface Setting {
  readonly name: SettingName;
  /** The same setting among the library's options. */
  readonly option: string;
  readonly default: string | undefined;
  readonly description: string;
}

/** Every setting there is, in the order `.env.example` and the README list them. */
export const SETTINGS: readonly Setting[] = [
  {
    name: 'WORKOS_API_KEY',
    option: 'apiKey',
    default: undefined,
    description: 'required for everything that calls WorkOS',
  },
  {
    name: 'WORKOS_API_URL',
    option: 'apiUrl',
    default: 'https://api.workos.com',
    description: 'base URL of the WorkOS API',
  },
  {
    name: 'DATABASE_URL',
    option: 'database.url',
    default: undefined,
    description: 'Postgres connection string; unset means embedded',
  },
  {
    name: 'WORKOS_SYNC_PG_SSL_CA',
    option: 'database.sslCa',
    default: undefined,
    description: 'CA certificate file (PEM) to trust for TLS to Postgres',
  },
  {
    name: 'WORKOS_SYNC_DATA_DIR',
    option: 'database.dataDir',
    default: '.workos-sync',
    description: 'where the embedded database lives',
  },
  {
    name: 'WORKOS_SYNC_SCHEMA',
    option: 'schema',
    default: 'workos',
    description: 'Postgres schema of every table and view',
  },
  {
    name: 'WORKOS_SYNC_POLL_CRON',
    option: 'pollCron',
    default: '*/5 * * * * *',
    description: 'node-cron schedule of event polls',
  },
  {
    name: 'WORKOS_SYNC_RECONCILE_CRON',
    option: 'reconcileCron',
    default: '17 * * * *',
    description: 'node-cron schedule of reconciliations',
  },
  {
    name: 'WORKOS_SYNC_HTTP_HOST',
    option: 'http.host',
    default: '127.0.0.1',
    description: 'health and metrics server address',
  },
  {
    name: 'WORKOS_SYNC_HTTP_PORT',
    option: 'http.port',
    default: '9464',
    description: 'health and metrics server port (0 disables)',
  },
  {
    name: 'WORKOS_WEBHOOK_SECRET',
    option: 'webhooks.secret',
    default: undefined,
    description: 'webhook signing secret: set, `run` takes WorkOS webhooks as a nudge to poll now',
  },
  {
    name: 'WORKOS_SYNC_WEBHOOK_HOST',
    option: 'webhooks.host',
    default: '0.0.0.0',
    description: 'webhook receiver address (reachable by WorkOS, unlike the health server)',
  },
  {
    name: 'WORKOS_SYNC_WEBHOOK_PORT',
    option: 'webhooks.port',
    default: '9465',
    description: 'webhook receiver port',
  },
  {
    name: 'WORKOS_SYNC_WEBHOOK_LOOK_SECONDS',
    option: 'webhooks.lookSeconds',
    default: '30',
    description: 'how long to keep polling for an event a webhook named that is not listed yet',
  },
  {
    name: 'WORKOS_SYNC_LEASE_SECONDS',
    option: 'leaseSeconds',
    default: '30',
    description: 'replica lease lifetime: takeover time when a holder dies',
  },
  {
    name: 'WORKOS_SYNC_REQUEST_TIMEOUT_SECONDS',
    option: 'requestTimeoutSeconds',
    default: '30',
    description: 'deadline of one WorkOS request',
  },
  { name: 'LOG_LEVEL', option: 'logLevel', default: 'info', description: 'pino log level' },
];

export type SettingName =
  | 'WORKOS_API_KEY'
  | 'WORKOS_API_URL'
  | 'DATABASE_URL'
  | 'WORKOS_SYNC_PG_SSL_CA'
  | 'WORKOS_SYNC_DATA_DIR'
  | 'WORKOS_SYNC_SCHEMA'
  | 'WORKOS_SYNC_POLL_CRON'
  | 'WORKOS_SYNC_RECONCILE_CRON'
  | 'WORKOS_SYNC_HTTP_HOST'
  | 'WORKOS_SYNC_HTTP_PORT'
  | 'WORKOS_WEBHOOK_SECRET'
  | 'WORKOS_SYNC_WEBHOOK_HOST'
  | 'WORKOS_SYNC_WEBHOOK_PORT'
  | 'WORKOS_SYNC_WEBHOOK_LOOK_SECONDS'
  | 'WORKOS_SYNC_LEASE_SECONDS'
  | 'WORKOS_SYNC_REQUEST_TIMEOUT_SECONDS'
  | 'LOG_LEVEL';

export type SettingValues = Partial<Record<SettingName, string | undefined>>;

/** One value per setting as the user gave it (a string from the environment, a value from code). */
type Given = Partial<Record<SettingName, string | number | undefined>>;

/** The command line's configuration: flags win over the environment; an empty string counts as unset. */
export function loadConfig(env: Record<string, string | undefined>, flags: SettingValues = {}): Config {
  const given: Given = {};
  for (const setting of SETTINGS) given[setting.name] = flags[setting.name] ?? env[setting.name];
  return validate(given, (setting) => setting);
}

/** The library's configuration (`createWorkosSync`): the same settings, and the same checks. */
export function resolveOptions(options: WorkosSyncSettings): Config {
  const database = options.database;
  const http = options.http;
  const given: Given = {
    WORKOS_API_KEY: options.apiKey,
    WORKOS_API_URL: options.apiUrl,
    DATABASE_URL: database && 'url' in database ? database.url : undefined,
    WORKOS_SYNC_PG_SSL_CA: database && 'url' in database ? database.sslCa : undefined,
    WORKOS_SYNC_DATA_DIR: database && 'dataDir' in database ? database.dataDir : undefined,
    WORKOS_SYNC_SCHEMA: options.schema,
    WORKOS_SYNC_POLL_CRON: options.pollCron,
    WORKOS_SYNC_RECONCILE_CRON: options.reconcileCron,
    WORKOS_SYNC_HTTP_HOST: http === false ? undefined : http?.host,
    WORKOS_SYNC_HTTP_PORT: http === false ? 0 : http?.port,
    WORKOS_WEBHOOK_SECRET: options.webhooks?.secret,
    WORKOS_SYNC_WEBHOOK_HOST: options.webhooks?.host,
    WORKOS_SYNC_WEBHOOK_PORT: options.webhooks?.port,
    WORKOS_SYNC_WEBHOOK_LOOK_SECONDS: options.webhooks?.lookSeconds,
    WORKOS_SYNC_LEASE_SECONDS: options.leaseSeconds,
    WORKOS_SYNC_REQUEST_TIMEOUT_SECONDS: options.requestTimeoutSeconds,
    LOG_LEVEL: options.logLevel,
  };
  const connected: DatabaseTarget | undefined =
    database && 'pool' in database
      ? { kind: 'pool', pool: database.pool }
      : database && 'kysely' in database
        ? { kind: 'kysely', kysely: database.kysely }
        : undefined;
  return validate(given, (setting) => SETTINGS.find((s) => s.name === setting)!.option, connected);
}

function validate(
  given: Given,
  nameOf: (setting: SettingName) => string,
  connected?: DatabaseTarget,
): Config {
  const get = (setting: SettingName): string | undefined => {
    const value = given[setting];
    if (value !== undefined && String(value).trim() !== '') return String(value).trim();
    return SETTINGS.find((s) => s.name === setting)?.default;
  };
  const url = parseDatabaseUrl(nameOf('DATABASE_URL'), get('DATABASE_URL'));
  const caFile = get('WORKOS_SYNC_PG_SSL_CA');
  if (caFile !== undefined && url === undefined) {
    throw new ConfigError(
      `${nameOf('WORKOS_SYNC_PG_SSL_CA')} is set, but ${nameOf('DATABASE_URL')} is not: the CA is for TLS to a Postgres server`,
    );
  }
  const target: DatabaseTarget =
    connected ??
    (url
      ? {
          kind: 'url',
          url,
          tls: parseTls(nameOf('DATABASE_URL'), nameOf('WORKOS_SYNC_PG_SSL_CA'), url, caFile),
        }
      : { kind: 'embedded', dataDir: get('WORKOS_SYNC_DATA_DIR')! });
  const leaseSeconds = parseSeconds(nameOf('WORKOS_SYNC_LEASE_SECONDS'), get('WORKOS_SYNC_LEASE_SECONDS')!);
  const config: Config = {
    workos: {
      apiKey: get('WORKOS_API_KEY'),
      apiUrl: parseUrl(nameOf('WORKOS_API_URL'), get('WORKOS_API_URL')!),
    },
    database: {
      target,
      schema: parseIdentifier(nameOf('WORKOS_SYNC_SCHEMA'), get('WORKOS_SYNC_SCHEMA')!),
      sessionLimits: sessionLimitsFor(leaseSeconds * 1000),
    },
    pollCron: parseCron(nameOf('WORKOS_SYNC_POLL_CRON'), get('WORKOS_SYNC_POLL_CRON')!),
    reconcileCron: parseCron(nameOf('WORKOS_SYNC_RECONCILE_CRON'), get('WORKOS_SYNC_RECONCILE_CRON')!),
    http: {
      host: get('WORKOS_SYNC_HTTP_HOST')!,
      port: parsePort(nameOf('WORKOS_SYNC_HTTP_PORT'), get('WORKOS_SYNC_HTTP_PORT')!),
    },
    leaseTtlMs: leaseSeconds * 1000,
    requestTimeoutMs:
      parseSeconds(
        nameOf('WORKOS_SYNC_REQUEST_TIMEOUT_SECONDS'),
        get('WORKOS_SYNC_REQUEST_TIMEOUT_SECONDS')!,
      ) * 1000,
    webhooks: webhookSettings(get, nameOf),
    logLevel: parseLogLevel(nameOf('LOG_LEVEL'), get('LOG_LEVEL')!),
  };
  return freezeSettings(config);
}

function webhookSettings(
  get: (setting: SettingName) => string | undefined,
  nameOf: (setting: SettingName) => string,
): WebhookSettings | null {
  const host = get('WORKOS_SYNC_WEBHOOK_HOST')!;
  const port = parsePort(nameOf('WORKOS_SYNC_WEBHOOK_PORT'), get('WORKOS_SYNC_WEBHOOK_PORT')!);
  const lookSeconds = parseSeconds(
    nameOf('WORKOS_SYNC_WEBHOOK_LOOK_SECONDS'),
    get('WORKOS_SYNC_WEBHOOK_LOOK_SECONDS')!,
  );
  const secret = get('WORKOS_WEBHOOK_SECRET');
  if (secret === undefined) return null;
  if (secret.length < 8)
    throw new ConfigError(`${nameOf('WORKOS_WEBHOOK_SECRET')} is too short to be a webhook secret`);
  return { secret, host, port, lookForMs: lookSeconds * 1000 };
}

/** The API key, checked only by the commands that call WorkOS. */
export function requireApiKey(config: Config): string {
  const key = config.workos.apiKey;
  if (!key)
    throw new ConfigError('WORKOS_API_KEY is not set: this command calls WorkOS and needs an API key');
  return key;
}

/** Values that must never appear in logs, errors or output. */
export function secretsOf(config: Config): string[] {
  const secrets: string[] = [];
  if (config.workos.apiKey) secrets.push(config.workos.apiKey);
  if (config.webhooks) secrets.push(config.webhooks.secret);
  if (config.database.target.kind === 'url') {
    const password = new URL(config.database.target.url).password;
    if (password) secrets.push(password, decodeURIComponent(password));
  }
  return [...new Set(secrets)].filter((s) => s.length >= 4);
}

function parseUrl(name: string, value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    return url.href;
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL, got "${value}"`);
  }
}

function parseDatabaseUrl(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} must be a postgres:// connection string`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`${name} must start with postgres:// or postgresql://, not ${url.protocol}//`);
  }
  for (const [part, text] of [
    ['user name', url.username],
    ['password', url.password],
  ] as const) {
    try {
      decodeURIComponent(text);
    } catch {
      // Never echo the value: it is the password, or next to it.
      throw new ConfigError(
        `${name} has a malformed percent-escape in its ${part}: write a literal % as %25 (and @ : / as %40 %3A %2F)`,
      );
    }
  }
  return value;
}

/**
 * The URL's TLS parameters in libpq's meaning (db/tls.ts applies them), and the CA file, read
 * here, once: a file that cannot be read or holds no certificate is an error now, not at the
 * first connection. Messages name the setting and the path, never what the file holds.
 */
function parseTls(urlName: string, caName: string, url: string, caPath: string | undefined): PostgresTls {
  const params = new URL(url).searchParams;
  for (const [param, why] of Object.entries(UNSUPPORTED_URL_PARAMETERS)) {
    if (params.has(param)) throw new ConfigError(`${urlName} has ${param}=…: ${why}`);
  }
  const given = params.get('sslmode');
  const mode = (given ?? DEFAULT_SSL_MODE) as SslMode;
  if (!SSL_MODES.includes(mode)) {
    const hint =
      given === 'no-verify'
        ? " (pg's no-verify is sslmode=require here: it encrypts without verifying)"
        : given === 'allow'
          ? ' (allow is not supported: prefer uses TLS whenever the server offers it)'
          : '';
    throw new ConfigError(`${urlName} has sslmode=${given}: use one of ${SSL_MODES.join(', ')}${hint}`);
  }
  const rootCert = params.get('sslrootcert') ?? undefined;
  // The same file twice is one CA (what a caller passes on from a Config it was given).
  if (rootCert !== undefined && caPath !== undefined && rootCert !== caPath) {
    throw new ConfigError(`${caName} and the sslrootcert of ${urlName} name different CA files: give one`);
  }
  if (rootCert === 'system') {
    throw new ConfigError(
      `${urlName} has sslrootcert=system: leave sslrootcert out to trust Node's built-in root CAs`,
    );
  }
  const [subject, file, path] =
    caPath !== undefined ? [caName, 'a file', caPath] : [urlName, 'an sslrootcert file', rootCert];
  let ca: string | undefined;
  if (path !== undefined) {
    try {
      ca = readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new ConfigError(
        `${subject} names ${file} that cannot be read (${typeof code === 'string' ? code : 'unreadable'}): ${path}`,
      );
    }
    const problem = checkCaBundle(ca);
    if (problem) throw new ConfigError(`${subject} names ${file} that ${problem}: ${path}`);
  }
  if (mode === 'verify-ca' && ca === undefined) {
    throw new ConfigError(
      `${urlName} has sslmode=verify-ca but no CA to verify against: set ${caName} (or sslrootcert). Against Node's public root CAs, verify-ca would accept any server with a publicly issued certificate; use verify-full for those`,
    );
  }
  return { mode, ca, caFile: path };
}

/**
 * The schema name is spliced into DDL, so it is held to a plain, unquoted identifier; 55
 * characters at most, so that the channel changes are announced on (`<schema>_changes`) is still
 * one Postgres accepts (63).
 */
function parseIdentifier(name: string, value: string): string {
  if (!/^[a-z_][a-z0-9_]{0,54}$/.test(value)) {
    throw new ConfigError(
      `${name} must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 55), got "${value}"`,
    );
  }
  return value;
}

function parseCron(name: string, value: string): string {
  if (!cron.validate(value)) throw new ConfigError(`${name} is not a valid cron expression: "${value}"`);
  return value;
}

function parsePort(name: string, value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535)
    throw new ConfigError(`${name} must be a port number 0-65535, got "${value}"`);
  return port;
}

function parseSeconds(name: string, value: string): number {
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || seconds <= 0 || seconds > 86_400) {
    throw new ConfigError(`${name} must be a number of seconds between 0 and 86400, got "${value}"`);
  }
  return seconds;
}

function parseLogLevel(name: string, value: string): LogLevel {
  const level = value.toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`${name} must be one of ${LOG_LEVELS.join(', ')}, got "${value}"`);
  }
  return level as LogLevel;
}

/** Freezes the settings, not the application's own pool or Kysely that a target may hold. */
function freezeSettings<T>(value: T): T {
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const child of Object.values(value)) freezeSettings(child);
    Object.freeze(value);
  }
  return value;
}
