/**
 * `environments check`: the environments file, validated (loading the configuration did that: a
 * bad file never gets here, it is one line and exit 2), and what it would change against the
 * database when that can be read — which environments would start, which are no longer declared,
 * which carry on. Reads only: it never migrates, and it does not create an embedded database
 * that is not there. No secret is printed: the variables are named, their values never are.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Config, type EnvironmentConfig, secretsOf } from '../config.ts';
import { FatalError, RetryableError } from '../errors.ts';
import { secretScrubber } from '../logger.ts';
import { diffEnvironments, type EnvironmentChanges, mirroredEnvironments } from '../sync/environments.ts';
import type { WorkosSync } from '../workos-sync.ts';
import { openSync } from './open.ts';

/** One environment as the check shows it: where its secrets come from, never what they are. */
export interface CheckedEnvironment {
  readonly name: string;
  /** The variable its API key is read from. */
  readonly apiKeyEnv: string;
  /** Whether that variable is set (always, for a file's environment: the file is refused otherwise). */
  readonly apiKeySet: boolean;
  /** The variable its webhook secret is read from; null when it receives no webhooks. */
  readonly webhookSecretEnv: string | null;
  readonly pollCron: string;
  readonly reconcileCron: string;
}

export interface EnvironmentsCheck {
  /** The environments file; null when the settings are the one environment `default`. */
  readonly file: string | null;
  readonly environments: readonly CheckedEnvironment[];
  readonly database: {
    /** Where, safe to print. */
    readonly description: string;
    readonly schema: string;
    /** `mirror`: read; `empty`: no mirror there yet; `unreachable`: see `error`. */
    readonly state: 'mirror' | 'empty' | 'unreachable';
    readonly error: string | null;
  };
  /** Against the database; null when it could not be read. */
  readonly changes: EnvironmentChanges | null;
}

export async function environmentsCheckCommand(config: Config, options: { readonly json: boolean }) {
  const report = await checkEnvironments(config);
  const scrub = secretScrubber(secretsOf(config));
  process.stdout.write(scrub(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatCheck(report)));
}

export async function checkEnvironments(config: Config): Promise<EnvironmentsCheck> {
  const declared = config.environmentsFile;
  const environments = declared
    ? declared.environments.map((e) => checked(e, e.apiKeyEnv, e.webhookSecretEnv ?? null))
    : config.environments.map((e) =>
        checked(e, 'WORKOS_API_KEY', e.webhookSecret === undefined ? null : 'WORKOS_WEBHOOK_SECRET'),
      );
  const { database, known } = await readKnown(config);
  return {
    file: declared?.file ?? null,
    environments,
    database,
    changes:
      known === undefined
        ? null
        : diffEnvironments(
            environments.map((environment) => environment.name),
            known ?? [],
          ),
  };
}

function checked(
  environment: EnvironmentConfig,
  apiKeyEnv: string,
  webhookSecretEnv: string | null,
): CheckedEnvironment {
  return {
    name: environment.name,
    apiKeyEnv,
    apiKeySet: environment.apiKey !== undefined,
    webhookSecretEnv,
    pollCron: environment.schedules.pollCron,
    reconcileCron: environment.schedules.reconcileCron,
  };
}

/** The environments the database knows: null for none yet, undefined when it could not be read. */
async function readKnown(
  config: Config,
): Promise<{ database: EnvironmentsCheck['database']; known: readonly string[] | null | undefined }> {
  const { target, schema } = config.database;
  const embedded = target.kind === 'embedded' ? resolve(target.dataDir) : undefined;
  let description = embedded === undefined ? 'Postgres' : `embedded Postgres (PGlite) in ${embedded}`;
  if (embedded !== undefined && !existsSync(join(embedded, 'pgdata'))) {
    // Opening it would create it: there is nothing to read.
    return { database: { description, schema, state: 'empty', error: null }, known: null };
  }
  let sync: WorkosSync | undefined;
  try {
    sync = (await openSync(config, { migrate: false })).sync;
    const mirror = await sync.database();
    description = mirror.description;
    const known = await mirroredEnvironments(mirror.db, schema);
    return {
      database: { description, schema, state: known === null ? 'empty' : 'mirror', error: null },
      known,
    };
  } catch (error) {
    // Unreachable (down, refused, locked by another process): the file is checked all the same.
    if (!(error instanceof RetryableError || error instanceof FatalError || hasCode(error))) throw error;
    return {
      database: { description, schema, state: 'unreachable', error: (error as Error).message },
      known: undefined,
    };
  } finally {
    await sync?.close();
  }
}

/** A driver's error with a SQLSTATE or a system error code (a missing database, a refused login). */
function hasCode(error: unknown): boolean {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string';
}

export function formatCheck(report: EnvironmentsCheck): string {
  const count = report.environments.length;
  const lines = [
    report.file === null
      ? 'no environments file (WORKOS_SYNC_ENVIRONMENTS_FILE): the settings are one environment, named default'
      : `${report.file}: ${count} environment${count === 1 ? '' : 's'}, valid`,
    ...report.environments.map(
      (e) =>
        `  ${e.name}: API key from ${e.apiKeyEnv}${e.apiKeySet ? '' : ' (not set)'}${e.webhookSecretEnv ? `, webhook secret from ${e.webhookSecretEnv}` : ''}; polls ${e.pollCron}; reconciles ${e.reconcileCron}`,
    ),
  ];
  const { database, changes } = report;
  const where = `${database.description} (schema ${database.schema})`;
  if (database.state === 'unreachable') {
    lines.push(`database ${where} not reachable (${database.error}): what would change is not known`);
  } else {
    lines.push(database.state === 'empty' ? `against ${where}: no mirror there yet` : `against ${where}:`);
  }
  if (changes) {
    for (const name of changes.added) lines.push(`would start: ${name} (new: backfill from the start)`);
    for (const name of changes.removed) {
      lines.push(`no longer declared: ${name} — its rows are kept, nothing polls it`);
    }
    for (const name of changes.kept) lines.push(`unchanged: ${name}`);
  }
  return `${lines.join('\n')}\n`;
}
