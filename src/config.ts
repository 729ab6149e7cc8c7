/**
 * The configuration's one entry: what the rest of the program imports of it (the modules are in
 * config/: the settings' rows, their parsers, the library's options, loading), and the edge to
 * the process — this is the only module that reads `process.env`.
 */
import type { Config, SettingTexts } from './config/load.ts';
import { loadConfig } from './config/load.ts';
import { DEFAULT_ENVIRONMENT } from './db/environment-scope.ts';
import { ConfigError } from './errors.ts';

export {
  type DeclaredEnvironment,
  type EnvironmentConfig,
  type EnvironmentSchedules,
  type EnvironmentsConfig,
  EnvironmentsFileError,
  parseEnvironmentsFile,
} from './config/environments.ts';
export { type Config, loadConfig, resolveOptions, type SettingTexts } from './config/load.ts';
export type { WorkosSyncSettings } from './config/options.ts';
export type { LogLevel } from './config/parsers.ts';
export { SETTINGS, type SettingName } from './config/settings.ts';
export type { DatabaseSettings, DatabaseTarget } from './db/settings.ts';
export type { WebhookSettings } from './worker/serve.ts';

/** The command line's configuration, from the process's environment. */
export function loadConfigFromEnvironment(flags: SettingTexts = {}): Config {
  return loadConfig(process.env, flags);
}

/**
 * Whether the environment says `LOG_LEVEL=debug`, as written: read raw, so that it holds for the
 * commands that load no configuration (the emulator) and when loading the configuration failed.
 */
export function debugInEnvironment(): boolean {
  return process.env.LOG_LEVEL === 'debug';
}

/**
 * The API key, checked only by the commands that call WorkOS. They sync one environment, named
 * `default`: an environments file that declares any other is refused rather than half-synced.
 */
export function requireApiKey(config: Config): string {
  const declared = config.environmentsFile;
  const names = declared?.environments.map((environment) => environment.name) ?? [];
  if (declared && (names.length !== 1 || names[0] !== DEFAULT_ENVIRONMENT)) {
    throw new ConfigError(
      `${declared.file} declares ${names.map((name) => `"${name}"`).join(', ')}: this command syncs one environment, named "${DEFAULT_ENVIRONMENT}", and does not sync an environments file's others yet (workos-sync environments check reads the file)`,
    );
  }
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
  for (const environment of config.environments) {
    if (environment.apiKey) secrets.push(environment.apiKey);
    if (environment.webhookSecret) secrets.push(environment.webhookSecret);
  }
  if (config.database.target.kind === 'url') {
    const password = new URL(config.database.target.url).password;
    if (password) secrets.push(password, decodeURIComponent(password));
  }
  return [...new Set(secrets)].filter((s) => s.length >= 4);
}
