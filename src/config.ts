/**
 * Configuration: the environment, overridden by flags, parsed once into a frozen object. This is
 * the only module that reads `process.env` (through the `env` argument its caller passes in).
 */
import cron from 'node-cron';
import { type SessionLimits, sessionLimitsFor } from './db/session-limits.ts';
import { ConfigError } from './errors.ts';

export interface Config {
  readonly workos: { readonly apiKey: string | undefined; readonly apiUrl: string };
  readonly database: {
    readonly url: string | undefined;
    readonly dataDir: string;
    readonly schema: string;
    /** Bounds on our transactions on a Postgres server, derived from the lease period. */
    readonly sessionLimits: SessionLimits;
  };
  readonly pollCron: string;
  readonly reconcileCron: string;
  readonly http: { readonly host: string; readonly port: number };
  /** How long a replica's lease lives without renewal: the takeover time when a holder dies. */
  readonly leaseTtlMs: number;
  /** One WorkOS request's deadline (the SDK's timeout). */
  readonly requestTimeoutMs: number;
  readonly logLevel: LogLevel;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

interface Setting {
  readonly name: string;
  readonly default: string | undefined;
  readonly description: string;
}

/** Every setting there is, in the order `.env.example` and the README list them. */
export const SETTINGS: readonly Setting[] = [
  { name: 'WORKOS_API_KEY', default: undefined, description: 'required for everything that calls WorkOS' },
  { name: 'WORKOS_API_URL', default: 'https://api.workos.com', description: 'base URL of the WorkOS API' },
  {
    name: 'DATABASE_URL',
    default: undefined,
    description: 'Postgres connection string; unset means embedded',
  },
  { name: 'WORKOS_SYNC_DATA_DIR', default: '.workos-sync', description: 'where the embedded database lives' },
  { name: 'WORKOS_SYNC_SCHEMA', default: 'workos', description: 'Postgres schema of every table and view' },
  {
    name: 'WORKOS_SYNC_POLL_CRON',
    default: '*/5 * * * * *',
    description: 'node-cron schedule of event polls',
  },
  {
    name: 'WORKOS_SYNC_RECONCILE_CRON',
    default: '17 * * * *',
    description: 'node-cron schedule of reconciliations',
  },
  { name: 'WORKOS_SYNC_HTTP_HOST', default: '127.0.0.1', description: 'health and metrics server address' },
  {
    name: 'WORKOS_SYNC_HTTP_PORT',
    default: '9464',
    description: 'health and metrics server port (0 disables)',
  },
  {
    name: 'WORKOS_SYNC_LEASE_SECONDS',
    default: '30',
    description: 'replica lease lifetime: takeover time when a holder dies',
  },
  {
    name: 'WORKOS_SYNC_REQUEST_TIMEOUT_SECONDS',
    default: '30',
    description: 'deadline of one WorkOS request',
  },
  { name: 'LOG_LEVEL', default: 'info', description: 'pino log level' },
];

export type SettingName =
  | 'WORKOS_API_KEY'
  | 'WORKOS_API_URL'
  | 'DATABASE_URL'
  | 'WORKOS_SYNC_DATA_DIR'
  | 'WORKOS_SYNC_SCHEMA'
  | 'WORKOS_SYNC_POLL_CRON'
  | 'WORKOS_SYNC_RECONCILE_CRON'
  | 'WORKOS_SYNC_HTTP_HOST'
  | 'WORKOS_SYNC_HTTP_PORT'
  | 'WORKOS_SYNC_LEASE_SECONDS'
  | 'WORKOS_SYNC_REQUEST_TIMEOUT_SECONDS'
  | 'LOG_LEVEL';

export type SettingValues = Partial<Record<SettingName, string | undefined>>;

/** Flags win over the environment; an empty string counts as unset. */
export function loadConfig(env: Record<string, string | undefined>, flags: SettingValues = {}): Config {
  const get = (name: SettingName): string | undefined => {
    const value = flags[name] ?? env[name];
    if (value !== undefined && value.trim() !== '') return value.trim();
    return SETTINGS.find((s) => s.name === name)?.default;
  };

  const leaseTtlMs = parseSeconds('WORKOS_SYNC_LEASE_SECONDS', get('WORKOS_SYNC_LEASE_SECONDS')!) * 1000;
  const config: Config = {
    workos: { apiKey: get('WORKOS_API_KEY'), apiUrl: parseUrl('WORKOS_API_URL', get('WORKOS_API_URL')!) },
    database: {
      url: parseDatabaseUrl(get('DATABASE_URL')),
      dataDir: get('WORKOS_SYNC_DATA_DIR')!,
      schema: parseIdentifier('WORKOS_SYNC_SCHEMA', get('WORKOS_SYNC_SCHEMA')!),
      sessionLimits: sessionLimitsFor(leaseTtlMs),
    },
    pollCron: parseCron('WORKOS_SYNC_POLL_CRON', get('WORKOS_SYNC_POLL_CRON')!),
    reconcileCron: parseCron('WORKOS_SYNC_RECONCILE_CRON', get('WORKOS_SYNC_RECONCILE_CRON')!),
    http: {
      host: get('WORKOS_SYNC_HTTP_HOST')!,
      port: parsePort('WORKOS_SYNC_HTTP_PORT', get('WORKOS_SYNC_HTTP_PORT')!),
    },
    leaseTtlMs,
    requestTimeoutMs:
      parseSeconds('WORKOS_SYNC_REQUEST_TIMEOUT_SECONDS', get('WORKOS_SYNC_REQUEST_TIMEOUT_SECONDS')!) * 1000,
    logLevel: parseLogLevel(get('LOG_LEVEL')!),
  };
  return deepFreeze(config);
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
  if (config.database.url) {
    const password = new URL(config.database.url).password;
    if (password) secrets.push(password, decodeURIComponent(password));
  }
  return [...new Set(secrets)].filter((s) => s.length >= 4);
}

function parseUrl(name: SettingName, value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    return url.href;
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL, got "${value}"`);
  }
}

function parseDatabaseUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('DATABASE_URL must be a postgres:// connection string');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`DATABASE_URL must start with postgres:// or postgresql://, not ${url.protocol}//`);
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
        `DATABASE_URL has a malformed percent-escape in its ${part}: write a literal % as %25 (and @ : / as %40 %3A %2F)`,
      );
    }
  }
  return value;
}

/** The schema name is spliced into DDL, so it is held to a plain, unquoted identifier. */
function parseIdentifier(name: SettingName, value: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(value)) {
    throw new ConfigError(
      `${name} must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63), got "${value}"`,
    );
  }
  return value;
}

function parseCron(name: SettingName, value: string): string {
  if (!cron.validate(value)) throw new ConfigError(`${name} is not a valid cron expression: "${value}"`);
  return value;
}

function parsePort(name: SettingName, value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535)
    throw new ConfigError(`${name} must be a port number 0-65535, got "${value}"`);
  return port;
}

function parseSeconds(name: SettingName, value: string): number {
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || seconds <= 0 || seconds > 86_400) {
    throw new ConfigError(`${name} must be a number of seconds between 0 and 86400, got "${value}"`);
  }
  return seconds;
}

function parseLogLevel(value: string): LogLevel {
  const level = value.toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${value}"`);
  }
  return level as LogLevel;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
