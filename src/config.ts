/**
 * The configuration's one entry: what the rest of the program imports of it (the modules are in
 * config/: the settings' rows, their parsers, the library's options, loading), and the edge to
 * the process — this is the only module that reads `process.env`.
 */
import type { EnvironmentConfig } from './config/environments.ts';
import type { Config, SettingTexts } from './config/load.ts';
import { loadConfig } from './config/load.ts';
import { parseTelemetry, type TelemetryConfig } from './config/telemetry.ts';
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

/** Whether the standard `OTEL_*` variables ask the command line for traces (config/telemetry.ts). */
export function telemetryFromEnvironment(): TelemetryConfig | null {
  return parseTelemetry(process.env);
}

/**
 * Whether the environment says `LOG_LEVEL=debug`, as written: read raw, so that it holds for the
 * commands that load no configuration (the emulator) and when loading the configuration failed.
 */
export function debugInEnvironment(): boolean {
  return process.env.LOG_LEVEL === 'debug';
}

/**
 * The environment a command of one environment is for (backfill, poll, reconcile, status of one,
 * certs): the one `name`d, or without a name the configuration's only one — `default` without a
 * file, or the file's one environment. A file that declares several needs a name (`pick` says how
 * to give one): picking one of them silently would leave the others to look synced. An unknown
 * name is an error naming it and the declared ones.
 */
export function environmentFor(
  config: Config,
  name: string | undefined,
  pick = '--environment NAME',
): EnvironmentConfig {
  const declared = config.environmentsFile;
  const names = config.environments.map((environment) => `"${environment.name}"`).join(', ');
  if (name === undefined) {
    const [only, ...others] = config.environments;
    if (only && others.length === 0) return only;
    throw new ConfigError(
      `${declared?.file} declares ${names}: pick the environment this command is for with ${pick}`,
    );
  }
  const found = config.environments.find((environment) => environment.name === name);
  if (found) return found;
  throw new ConfigError(
    declared
      ? `environment "${name}" is not declared: ${declared.file} declares ${names}`
      : `environment "${name}" is not configured: without an environments file (WORKOS_SYNC_ENVIRONMENTS_FILE) there is one environment, "${DEFAULT_ENVIRONMENT}"`,
  );
}

/**
 * The API key of the environment a command that calls WorkOS is for (`environmentFor`): checked
 * only by those commands. A file's environments all have theirs (the file was refused otherwise).
 */
export function requireApiKey(config: Config, name?: string, pick?: string): string {
  const key = environmentFor(config, name, pick).apiKey;
  if (!key)
    throw new ConfigError('WORKOS_API_KEY is not set: this command calls WorkOS and needs an API key');
  return key;
}

/** Values that must never appear in logs, errors or output. */
export function secretsOf(config: Config): string[] {
  const secrets: string[] = [];
  if (config.workos.apiKey) secrets.push(config.workos.apiKey);
  if (config.webhooks) secrets.push(config.webhooks.secret);
  const basic = config.http.basicAuth;
  // The password, and the header that carries it (a proxy's error could quote either).
  if (basic)
    secrets.push(basic.password, Buffer.from(`${basic.username}:${basic.password}`).toString('base64'));
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
