/** Loggers for tests: silent, or capturing every line for assertions (secrets, warnings). */
import { Writable } from 'node:stream';
import { createLogger, type Logger, type Scrub } from '../../src/logger.ts';

/** For tests whose errors carry no secret: what the engine stores is then stored as is. */
export const noSecrets: Scrub = (text) => text;

export function silentLogger(): Logger {
  return createLogger({ level: 'silent', secrets: [] });
}

export interface CapturedLogs {
  readonly log: Logger;
  readonly lines: () => Record<string, unknown>[];
  readonly text: () => string;
}

export function capturingLogger(secrets: readonly string[] = [], level = 'debug'): CapturedLogs {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  const log = createLogger({ level, secrets, destination });
  const text = () => chunks.join('');
  return {
    log,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
