/**
 * One parser per kind of setting. Each takes the setting's text (the environment's form, which a
 * library caller may give too) or the library's value, and returns the setting's value or throws
 * one `ConfigError` that starts with the name it is given: the variable on the command line, the
 * option in the library. A message echoes the value given, except where the value is a secret.
 */
import cron from 'node-cron';
import { ConfigError } from '../errors.ts';
import type { BasicAuth } from '../worker/http-server.ts';

export interface Parser<In, Out> {
  /** The text given, trimmed and not empty. */
  text(text: string, name: string): Out;
  /** A value the library was given that is not a string. */
  value(value: In, name: string): Out;
}

/**
 * A parser of text alone. The library's value is read as its text, as the environment would
 * give it: an untyped caller's number or `null` is refused or taken exactly as before.
 */
function ofText<In, Out>(text: (text: string, name: string) => Out): Parser<In, Out> {
  return { text, value: (value, name) => text(String(value), name) };
}

export const text: Parser<string, string> = ofText((value) => value);

export const httpUrl: Parser<string, string> = ofText((value, name) => {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    return url.href;
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL, got "${value}"`);
  }
});

export const databaseUrl: Parser<string, string> = ofText((value, name) => {
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
});

/**
 * The schema name is spliced into DDL, so it is held to a plain, unquoted identifier; 55
 * characters at most, so that the channel changes are announced on (`<schema>_changes`) is still
 * one Postgres accepts (63).
 */
export const identifier: Parser<string, string> = ofText((value, name) => {
  if (!/^[a-z_][a-z0-9_]{0,54}$/.test(value)) {
    throw new ConfigError(
      `${name} must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 55), got "${value}"`,
    );
  }
  return value;
});

export const cronExpression: Parser<string, string> = ofText((value, name) => {
  if (!cron.validate(value)) throw new ConfigError(`${name} is not a valid cron expression: "${value}"`);
  return value;
});

const badPort = (name: string, value: unknown) =>
  new ConfigError(`${name} must be a port number 0-65535, got "${value}"`);

export const port: Parser<number, number> = {
  text(value, name) {
    if (!/^\d+$/.test(value) || Number(value) > 65535) throw badPort(name, value);
    return Number(value);
  },
  value(value, name) {
    if (!Number.isInteger(value) || value < 0 || value > 65535) throw badPort(name, value);
    return value;
  },
};

const MAX_SECONDS = 86_400;
const badSeconds = (name: string, value: unknown) =>
  new ConfigError(`${name} must be a number of seconds between 0 and ${MAX_SECONDS}, got "${value}"`);

const inSecondsRange = (value: number) => Number.isFinite(value) && value > 0 && value <= MAX_SECONDS;

export const seconds: Parser<number, number> = {
  text(value, name) {
    if (!/^\d+(\.\d+)?$/.test(value) || !inSecondsRange(Number(value))) throw badSeconds(name, value);
    return Number(value);
  },
  value(value, name) {
    if (!inSecondsRange(value)) throw badSeconds(name, value);
    return value;
  },
};

/**
 * WorkOS's published limit is 6,000 requests a minute per client IP, across every environment;
 * the default leaves half of it to whatever else shares the IP (another deployment, a staging
 * fleet, the application's own calls) and to the bursts, and keeps a 429 rare (docs/request-budget.md).
 */
export const DEFAULT_REQUESTS_PER_MINUTE = 3000;
/** A hundred times WorkOS's limit: past it a value is a typo, not a budget. */
const MAX_REQUESTS_PER_MINUTE = 600_000;
const badRate = (name: string, value: unknown) =>
  new ConfigError(
    `${name} must be a whole number of requests a minute, 1 to ${MAX_REQUESTS_PER_MINUTE} (0 for the default, ${DEFAULT_REQUESTS_PER_MINUTE}), got "${value}"`,
  );
const rateOrDefault = (value: number) => (value === 0 ? DEFAULT_REQUESTS_PER_MINUTE : value);

/** The fleet's WorkOS request budget: a positive whole number; 0 is the default. There is no "off". */
export const requestsPerMinute: Parser<number, number> = {
  text(value, name) {
    if (!/^\d+$/.test(value) || Number(value) > MAX_REQUESTS_PER_MINUTE) throw badRate(name, value);
    return rateOrDefault(Number(value));
  },
  value(value, name) {
    if (!Number.isInteger(value) || value < 0 || value > MAX_REQUESTS_PER_MINUTE) throw badRate(name, value);
    return rateOrDefault(value);
  },
};

/** Connections in the pool the mirror opens itself (from DATABASE_URL): 1 to 100. */
export const poolSize: Parser<number, number> = {
  text(value, name) {
    if (!/^\d+$/.test(value)) throw badPoolSize(name, value);
    return poolSize.value(Number(value), name);
  },
  value(value, name) {
    if (!Number.isInteger(value) || value < 1 || value > 100) throw badPoolSize(name, value);
    return value;
  },
};
const badPoolSize = (name: string, value: unknown) =>
  new ConfigError(`${name} must be a whole number of connections, 1 to 100, got "${value}"`);

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const logLevel: Parser<LogLevel, LogLevel> = ofText((value, name) => {
  const level = value.toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`${name} must be one of ${LOG_LEVELS.join(', ')}, got "${value}"`);
  }
  return level as LogLevel;
});

/** `on` or `off` (any case); the library's value is a boolean, or the same text. */
export const onOff: Parser<boolean | 'on' | 'off', boolean> = {
  text(value, name) {
    const word = value.toLowerCase();
    if (word !== 'on' && word !== 'off') throw new ConfigError(`${name} must be on or off, got "${value}"`);
    return word === 'on';
  },
  value(value, name) {
    if (typeof value !== 'boolean') return onOff.text(String(value), name);
    return value;
  },
};

const MAX_RETENTION_DAYS = 36_500;

/**
 * Days of the event log (sync/events/retention.ts), or `forever`: at least the floor, below which
 * an event WorkOS may still serve again could be pruned, and idempotence with it.
 */
export function retentionDays(floor: number): Parser<number | 'forever', number | null> {
  const bad = (name: string, value: unknown) =>
    new ConfigError(
      `${name} must be a whole number of days from ${floor} (WorkOS's retention and a margin) to ${MAX_RETENTION_DAYS}, or forever, got "${value}"`,
    );
  const days = (value: number, name: string) => {
    if (!Number.isInteger(value) || value < floor || value > MAX_RETENTION_DAYS) throw bad(name, value);
    return value;
  };
  return {
    text(value, name) {
      if (value.toLowerCase() === 'forever') return null;
      if (!/^\d+$/.test(value)) throw bad(name, value);
      return days(Number(value), name);
    },
    value(value, name) {
      return typeof value === 'number' ? days(value, name) : this.text(String(value), name);
    },
  };
}

/** Never echoed: the message says what is wrong with the secret, not what it is. */
export const webhookSecret: Parser<string, string> = ofText((value, name) => {
  if (value.length < 8) throw new ConfigError(`${name} is too short to be a webhook secret`);
  return value;
});

/** `user:password`; the password is a secret, so no message quotes the value. */
export const basicAuth: Parser<string, BasicAuth> = ofText((value, name) => {
  const colon = value.indexOf(':');
  const username = colon < 0 ? '' : value.slice(0, colon);
  const password = colon < 0 ? '' : value.slice(colon + 1);
  if (!username || !password) throw new ConfigError(`${name} must be user:password`);
  if (password.length < 8) throw new ConfigError(`${name}'s password must be at least 8 characters`);
  return Object.freeze({ username, password });
});
