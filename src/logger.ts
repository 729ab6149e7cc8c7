/**
 * pino to stderr (stdout belongs to the commands' own output): JSON, or readable lines on a
 * terminal. Every configured secret is scrubbed from the final line — messages, errors and
 * their causes included.
 */
import { createRequire } from 'node:module';
import pino from 'pino';
import type PinoPretty from 'pino-pretty';
import { traceFields } from './tracing.ts';

// pino-pretty is only for a terminal; most runs (a service, a pipe) never load it.
const loadPretty = (): typeof PinoPretty => createRequire(import.meta.url)('pino-pretty');

export type Logger = pino.Logger;

/** Takes every configured secret out of a text (`secretScrubber`). */
export type Scrub = (text: string) => string;

export interface LoggerOptions {
  readonly level: string;
  readonly secrets: readonly string[];
  /** Where lines go; stderr unless a test captures them. */
  readonly destination?: pino.DestinationStream;
  /** Human-readable lines (for a terminal) instead of JSON. */
  readonly pretty?: boolean;
}

export function createLogger(options: LoggerOptions): Logger {
  const scrub = secretScrubber(options.secrets);
  return pino(
    {
      level: options.level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: pino.stdSerializers.errWithCause, error: pino.stdSerializers.errWithCause },
      hooks: { streamWrite: scrub },
    },
    options.destination ??
      (options.pretty
        ? loadPretty()({
            destination: 2,
            sync: true,
            colorize: true,
            translateTime: 'SYS:HH:MM:ss.l',
            ignore: 'pid,hostname',
          })
        : pino.destination({ fd: 2, sync: true })),
  );
}

/**
 * The logger workos-sync logs through, the application's or its own: a child whose every logged
 * object (errors and their causes included) has the secrets scrubbed first, and which, inside a
 * span (an SDK registered), names the span's `trace_id` and `span_id`. The messages themselves are
 * workos-sync's own and carry no secret.
 */
export function scrubbingLogger(logger: Logger, scrub: Scrub): Logger {
  const clean = (value: unknown, depth: number): unknown => {
    if (typeof value === 'string') return scrub(value);
    if (depth > 8 || value === null || typeof value !== 'object') return value;
    if (value instanceof Error) {
      // Same class (the application's serializer names it), scrubbed texts, scrubbed cause.
      const copy = Object.create(Object.getPrototypeOf(value)) as Error;
      for (const [key, item] of Object.entries(value))
        (copy as unknown as Record<string, unknown>)[key] = clean(item, depth + 1);
      Object.defineProperties(copy, {
        message: { value: scrub(value.message), enumerable: false, writable: true },
        stack: {
          value: value.stack === undefined ? undefined : scrub(value.stack),
          enumerable: false,
          writable: true,
        },
        cause: { value: clean(value.cause, depth + 1), enumerable: false, writable: true },
      });
      return copy;
    }
    if (Array.isArray(value)) return value.map((item) => clean(item, depth + 1));
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, clean(item, depth + 1)]));
  };
  return logger.child(
    {},
    {
      formatters: {
        log: (object) => ({ ...traceFields(), ...(clean(object, 0) as Record<string, unknown>) }),
      },
    },
  );
}

/** Replaces each secret (and its JSON-escaped form) with `[redacted]`. */
export function secretScrubber(secrets: readonly string[]): Scrub {
  const needles = [...new Set(secrets.flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]))]
    .filter((s) => s.length >= 4)
    .sort((a, b) => b.length - a.length);
  if (needles.length === 0) return (text) => text;
  const pattern = new RegExp(needles.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  return (text) => text.replace(pattern, '[redacted]');
}
