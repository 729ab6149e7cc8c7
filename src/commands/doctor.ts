/**
 * `workos-sync doctor`: what a new deployment gets wrong, one line each, with how to fix it —
 * settings, the database (reachable, the role's rights, the migrations, its clock), and for each
 * environment WorkOS (the key, by one cheap request; this host's clock against WorkOS's `Date`),
 * the cursor against WorkOS's retention, the webhook secret, the certificates. Reads only: it
 * migrates nothing and writes no row. Exit 1 when any check fails, 0 otherwise (warnings included).
 */
import { type Config, type EnvironmentConfig, environmentFor, secretsOf } from '../config.ts';
import type { ConfigError } from '../errors.ts';
import { createLogger, secretScrubber } from '../logger.ts';
import type { StatusReport } from '../sync/status.ts';
import { createWorkosClient } from '../workos/client.ts';
import { type MirrorDatabase, type WorkosSync, workosSyncFrom } from '../workos-sync.ts';
import {
  type DatabaseProbe,
  probeDatabase,
  probeMigrations,
  probePrivileges,
  probeWorkos,
} from './doctor/probes.ts';
import {
  type CheckStatus,
  certificatesVerdict,
  clockVerdict,
  cursorVerdict,
  keyVerdict,
  migrationsVerdict,
  noKeyVerdict,
  privilegesVerdict,
  unansweredVerdict,
  type Verdict,
  webhookSecretVerdict,
} from './doctor/verdicts.ts';

export interface Check extends Verdict {
  readonly check: string;
  /** The environment it is about; none for the deployment's own checks. */
  readonly environment?: string | undefined;
}

const DAY_MS = 86_400_000;

export async function runChecks(config: Config, only?: string): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (check: string, verdict: Verdict, environment?: string) =>
    checks.push({ check, ...(environment === undefined ? {} : { environment }), ...verdict });
  const environments = config.environments.filter((e) => only === undefined || e.name === only);
  add('settings', {
    status: 'ok',
    message: `settings valid: schema ${config.database.schema}, environments ${environments.map((e) => e.name).join(', ')}`,
  });

  const sync = workosSyncFrom(config, {
    logger: createLogger({ level: 'silent', secrets: secretsOf(config) }),
  });
  try {
    const database = await databaseChecks(sync, config, add);
    let clocksChecked = false;
    for (const environment of environments) {
      const name = config.environments.length > 1 ? environment.name : undefined;
      const found = await environmentChecks(sync, config, environment, database, !clocksChecked);
      clocksChecked ||= found.clocks.length > 0;
      // The deployment's clocks go after the key whose request read WorkOS's.
      for (const { check, ...verdict } of found.checks) {
        add(check, verdict, name);
        if (check === 'workos key') for (const { check: clock, ...said } of found.clocks) add(clock, said);
      }
    }
  } finally {
    await sync.close();
  }
  return checks;
}

/**
 * One environment's: its key (one request, which also reads WorkOS's clock: the deployment's
 * clocks are checked with the first environment that answers), its cursor, webhook secret,
 * certificates.
 */
async function environmentChecks(
  sync: WorkosSync,
  config: Config,
  environment: EnvironmentConfig,
  database: { readonly offsetMs: number; readonly migrated: boolean } | null,
  checkClocks: boolean,
): Promise<{ readonly checks: readonly Check[]; readonly clocks: readonly Check[] }> {
  const checks: Check[] = [];
  const clocks: Check[] = [];
  const add = (check: string, verdict: Verdict) => checks.push({ check, ...verdict });
  let status: StatusReport | null = null;
  let unread: string | null = database ? 'not checked until every migration is applied' : null;
  if (database?.migrated) {
    try {
      status = await sync.environment(environment.name).status();
    } catch (error) {
      unread = `cannot read the mirror's state: ${(error as Error).message}`;
    }
  }
  if (!environment.apiKey) {
    add('workos key', noKeyVerdict());
  } else {
    const workos = createWorkosClient({
      apiKey: environment.apiKey,
      apiUrl: config.workos.apiUrl,
      timeoutMs: config.requestTimeoutMs,
      maxRetries: 0,
    });
    const probe = await probeWorkos(workos, status?.cursor ?? null);
    if (!probe.answered) {
      add('workos key', unansweredVerdict(probe.error, config.workos.apiUrl));
    } else {
      add('workos key', keyVerdict(environment.apiKey, environment.name));
      if (probe.offsetMs !== null && checkClocks) {
        clocks.push({ check: 'host clock', ...clockVerdict('host', probe.offsetMs) });
        if (database)
          clocks.push({
            check: 'database clock',
            ...clockVerdict('database', database.offsetMs + probe.offsetMs),
          });
      }
      if (status) {
        const last = status.lastEventCreatedAt;
        const cursor = status.cursor
          ? { id: status.cursor, ageDays: last && (Date.now() - last.getTime()) / DAY_MS }
          : null;
        add('cursor', cursorVerdict(cursor, probe.cursor ?? 'served'));
      }
    }
  }
  if (unread !== null && !status) add('cursor', { status: 'skip', message: unread });
  add('webhook secret', webhookSecretVerdict(environment.webhookSecret));
  if (status) add('certificates', certificatesVerdict(status.expiringCertificates));
  return { checks, clocks };
}

/**
 * The database's checks: reachable (and its clock), the role's rights, the migrations. Null when
 * it cannot be reached (the checks that need it are skipped).
 */
async function databaseChecks(
  sync: WorkosSync,
  config: Config,
  add: (check: string, verdict: Verdict) => void,
): Promise<{ readonly offsetMs: number; readonly migrated: boolean } | null> {
  const skip = (message: string): Verdict => ({ status: 'skip', message });
  let handle: MirrorDatabase;
  let probe: DatabaseProbe;
  try {
    handle = await sync.database();
    probe = await probeDatabase(handle.db);
  } catch (error) {
    add('database', {
      status: 'fail',
      message: `cannot reach the database: ${(error as Error).message}`,
      fix: 'check DATABASE_URL (host, port, user, password, sslmode) and that this host reaches the server',
    });
    for (const check of ['privileges', 'migrations']) add(check, skip('the database is unreachable'));
    return null;
  }
  add('database', {
    status: 'ok',
    message: `${handle.description}: PostgreSQL ${probe.version}${handle.kind === 'embedded' ? ' (embedded)' : `, as role ${probe.role}`}`,
  });
  const schema = config.database.schema;
  const migrations = await probeMigrations(handle.db, schema).catch((error: Error) => error);
  const pending = migrations instanceof Error ? [] : migrations.pending;
  if (handle.kind === 'embedded') add('privileges', skip('the embedded database has no roles'));
  else add('privileges', privilegesVerdict(await probePrivileges(handle.db, schema), pending));
  if (migrations instanceof Error) {
    add('migrations', {
      status: 'fail',
      message: `cannot read which migrations ran: ${migrations.message}`,
      fix: 'the worker reads schema_migrations: grant it the writer role (see privileges)',
    });
    return { offsetMs: probe.offsetMs, migrated: false };
  }
  add('migrations', migrationsVerdict(migrations));
  return { offsetMs: probe.offsetMs, migrated: migrations.schemaExists && pending.length === 0 };
}

export function failed(checks: readonly Check[]): boolean {
  return checks.some((c) => c.status === 'fail');
}

const LABEL: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

/** One line a check: its status, what, the finding, and for a problem how to fix it. */
export function formatChecks(checks: readonly Check[]): string {
  const names = checks.map((c) => (c.environment ? `${c.environment}: ${c.check}` : c.check));
  const width = Math.max(...names.map((n) => n.length));
  return checks
    .map(
      (c, i) => `${LABEL[c.status]}  ${names[i]!.padEnd(width)}  ${c.message}${c.fix ? ` → ${c.fix}` : ''}\n`,
    )
    .join('');
}

export async function doctorCommand(
  config: Config,
  options: { readonly json: boolean; readonly environment?: string | undefined },
): Promise<number> {
  if (options.environment !== undefined) environmentFor(config, options.environment);
  const scrub = secretScrubber(secretsOf(config));
  const checks = (await runChecks(config, options.environment)).map((c) => ({
    ...c,
    message: scrub(c.message),
  }));
  return report(checks, options.json, failed(checks) ? 1 : 0);
}

/** A setting that does not parse is the one check: the others need the settings (exit 2). */
export function doctorRefusedSettings(error: ConfigError, json: boolean): number {
  const fix = "set it as the README's Configuration says";
  return report([{ check: 'settings', status: 'fail', message: error.message, fix }], json, 2);
}

function report(checks: readonly Check[], json: boolean, code: number): number {
  process.stdout.write(json ? `${JSON.stringify({ ok: !failed(checks), checks })}\n` : formatChecks(checks));
  return code;
}
