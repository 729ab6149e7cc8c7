/**
 * What every command starts from: the config, a logger that cannot leak secrets, the database
 * (migrated unless told not to), and — for the commands that call WorkOS — the SDK client.
 */
import type { WorkOS } from '@workos-inc/node';
import { type Config, requireApiKey, secretsOf } from './config.ts';
import { type DatabaseHandle, openDatabase } from './db/connect.ts';
import { migrateToLatest } from './db/migrate.ts';
import { createLogger, type Logger, type Scrub, secretScrubber } from './logger.ts';
import { createWorkosClient } from './workos/client.ts';

export interface Runtime {
  readonly config: Config;
  readonly log: Logger;
  /** Takes every configured secret out of a text: for what is stored or printed, as the log does. */
  readonly scrub: Scrub;
  readonly database: DatabaseHandle;
  close(): Promise<void>;
}

export function loggerFor(config: Config): Logger {
  return createLogger({
    level: config.logLevel,
    secrets: secretsOf(config),
    pretty: process.stderr.isTTY === true,
  });
}

export async function openRuntime(config: Config, options: { readonly migrate: boolean }): Promise<Runtime> {
  const log = loggerFor(config);
  const database = await openDatabase(config.database, log);
  log.info({ database: database.description }, 'using database');
  try {
    if (options.migrate) {
      const { applied } = await migrateToLatest(database.db, config.database.schema);
      if (applied.length > 0) log.info({ applied }, 'migrations applied');
    }
  } catch (error) {
    await database.close();
    throw error;
  }
  return { config, log, scrub: secretScrubber(secretsOf(config)), database, close: () => database.close() };
}

export function workosFor(config: Config): WorkOS {
  return createWorkosClient({
    apiKey: requireApiKey(config),
    apiUrl: config.workos.apiUrl,
    timeoutMs: config.requestTimeoutMs,
  });
}
