/**
 * What every command starts from: the library over the settings the CLI validated, logging the
 * CLI's way (readable lines on a terminal, JSON otherwise), migrated unless told not to. A command
 * that calls WorkOS checks for the API key before anything else.
 */
import { type Config, requireApiKey, secretsOf } from '../config.ts';
import { createLogger, type Logger } from '../logger.ts';
import { type WorkosSync, workosSyncFrom } from '../workos-sync.ts';

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
