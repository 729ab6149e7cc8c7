/**
 * What every command starts from: the library over the settings the CLI validated, logging the
 * CLI's way (readable lines on a terminal, JSON otherwise), migrated unless told not to. A command
 * that calls WorkOS checks for the API key before anything else; a command of one environment
 * checks which one it is for (`--environment`) before anything else too.
 */
import { type Config, environmentFor, requireApiKey, secretsOf } from '../config.ts';
import { createLogger, type Logger } from '../logger.ts';
import { type WorkosSync, type WorkosSyncEnvironment, workosSyncFrom } from '../workos-sync.ts';

function cliLogger(config: Config): Logger {
  return createLogger({
    level: config.logLevel,
    secrets: secretsOf(config),
    pretty: process.stderr.isTTY === true,
  });
}

export async function openSync(
  config: Config,
  options: { readonly migrate: boolean; readonly callsWorkos?: boolean },
): Promise<{ readonly sync: WorkosSync; readonly log: Logger }> {
  if (options.callsWorkos) requireApiKey(config);
  const log = cliLogger(config);
  const sync = workosSyncFrom(config, { logger: log });
  try {
    if (options.migrate) await sync.migrate();
  } catch (error) {
    await sync.close();
    throw error;
  }
  return { sync, log };
}

/**
 * A command of one environment (backfill, poll, reconcile, certs, status of one): the one
 * `--environment` names, or the configuration's only one. A file that declares several without
 * the flag, an unknown name, or (for one that calls WorkOS) no API key: a ConfigError (exit 2),
 * before the database is opened.
 */
export async function openEnvironment(
  config: Config,
  options: {
    readonly migrate: boolean;
    readonly callsWorkos?: boolean;
    readonly environment: string | undefined;
  },
): Promise<{ readonly sync: WorkosSync; readonly log: Logger; readonly environment: WorkosSyncEnvironment }> {
  const { name } = environmentFor(config, options.environment);
  if (options.callsWorkos) requireApiKey(config, name);
  const opened = await openSync(config, { migrate: options.migrate });
  return { ...opened, environment: opened.sync.environment(name) };
}
