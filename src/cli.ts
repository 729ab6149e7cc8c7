#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import type { Telemetry } from './commands/telemetry.ts';
import {
  type Config,
  debugInEnvironment,
  loadConfigFromEnvironment,
  type SettingTexts,
  secretsOf,
  telemetryFromEnvironment,
} from './config.ts';
import { asError, ConfigError, FatalError } from './errors.ts';
import { applyHeapPolicy } from './heap-policy.ts';
import { secretScrubber } from './logger.ts';
import { packageVersion } from './version.ts';

interface GlobalFlags {
  databaseUrl?: string;
  schema?: string;
  apiUrl?: string;
  dataDir?: string;
  environmentsFile?: string;
  logLevel?: string;
  migrate: boolean;
}

let scrub: (text: string) => string = (text) => text;

const ENVIRONMENT_FLAG =
  'the environment of the environments file this command is for (needed when it declares several)';

function configFrom(command: Command): { config: Config; migrate: boolean } {
  const flags = command.optsWithGlobals<GlobalFlags>();
  const overrides: SettingTexts = {
    DATABASE_URL: flags.databaseUrl,
    WORKOS_SYNC_SCHEMA: flags.schema,
    WORKOS_API_URL: flags.apiUrl,
    WORKOS_SYNC_DATA_DIR: flags.dataDir,
    WORKOS_SYNC_ENVIRONMENTS_FILE: flags.environmentsFile,
    LOG_LEVEL: flags.logLevel,
  };
  const config = loadConfigFromEnvironment(overrides);
  scrub = secretScrubber(secretsOf(config));
  return { config, migrate: flags.migrate };
}

const program = new Command('workos-sync')
  .description('Mirror WorkOS SSO connections, domains and SAML certificates into Postgres.')
  .version(packageVersion(), '-V, --version', 'print the version of workos-sync')
  .option('--database-url <url>', 'Postgres connection string (DATABASE_URL)')
  .option('--schema <name>', 'Postgres schema (WORKOS_SYNC_SCHEMA)')
  .option('--api-url <url>', 'WorkOS API base URL (WORKOS_API_URL)')
  .option('--data-dir <dir>', 'embedded database directory (WORKOS_SYNC_DATA_DIR)')
  .option('--environments-file <path>', 'the WorkOS environments to mirror (WORKOS_SYNC_ENVIRONMENTS_FILE)')
  .option('--log-level <level>', 'log level (LOG_LEVEL)')
  .option('--no-migrate', 'do not apply pending migrations on start')
  .showHelpAfterError()
  .exitOverride();

program
  .command('migrate')
  .description('apply pending migrations')
  .option('--print-sql', 'print the SQL of pending migrations instead of applying them')
  .option(
    '--finalize',
    'apply the contract migrations too (what the previous release still uses goes): once every replica runs this release',
  )
  .action(async (options: { printSql?: boolean; finalize?: boolean }, command: Command) => {
    const { migrateCommand } = await import('./commands/migrate.ts');
    await migrateCommand(configFrom(command).config, {
      printSql: options.printSql === true,
      finalize: options.finalize === true,
    });
  });

program
  .command('grants')
  .description('print the SQL of the owner, writer and reader roles (README: Roles and privileges)')
  .option('--print-sql', 'print the SQL (required: it applies nothing itself)')
  .option('--owner <role>', 'the role that owns the schema and migrates (default workos_sync_owner)')
  .option('--writer <role>', 'the role the worker runs as (default workos_sync_writer)')
  .option('--reader <role>', 'the role applications read the views as (default workos_sync_reader)')
  .action(
    async (
      options: { printSql?: boolean; owner?: string; writer?: string; reader?: string },
      command: Command,
    ) => {
      const { grantsCommand } = await import('./commands/grants.ts');
      grantsCommand(configFrom(command).config.database.schema, {
        ...options,
        printSql: options.printSql === true,
      });
    },
  );

program
  .command('run')
  .description('long-running: poll and reconcile on schedules, serve health and metrics, stop on SIGTERM')
  .action(async (_options: unknown, command: Command) => {
    const { config, migrate } = configFrom(command);
    const { runCommand } = await import('./commands/run.ts');
    await runCommand(config, { migrate });
  });

program
  .command('poll')
  .description('one catch-up pass from the stored cursor, then exit')
  .option('--json', 'print the summary as JSON')
  .option('--max-pages <n>', 'apply at most this many pages, then stop (the next run resumes there)')
  .option('--environment <name>', ENVIRONMENT_FLAG)
  .action(async (options: { json?: boolean; maxPages?: string; environment?: string }, command: Command) => {
    const { config, migrate } = configFrom(command);
    const { pollOrBackfillCommand } = await import('./commands/poll-or-backfill.ts');
    await pollOrBackfillCommand('poll', config, {
      json: options.json === true,
      migrate,
      maxPages: pageCount(options.maxPages),
      environment: options.environment,
    });
  });

program
  .command('backfill')
  .description('apply every retained event (or from --since) on a new database; catch up on an existing one')
  .option('--since <iso>', 'with no stored cursor, start at this time instead of the oldest retained event')
  .option('--json', 'print the summary as JSON')
  .option('--max-pages <n>', 'apply at most this many pages, then stop (the next run resumes there)')
  .addOption(new Option('--progress-every <ms>', 'progress line interval').default('2000').hideHelp())
  .option('--environment <name>', ENVIRONMENT_FLAG)
  .action(
    async (
      options: {
        since?: string;
        json?: boolean;
        maxPages?: string;
        progressEvery: string;
        environment?: string;
      },
      command: Command,
    ) => {
      const { config, migrate } = configFrom(command);
      const { pollOrBackfillCommand } = await import('./commands/poll-or-backfill.ts');
      await pollOrBackfillCommand('backfill', config, {
        since: options.since,
        json: options.json === true,
        migrate,
        progressEveryMs: Number(options.progressEvery),
        maxPages: pageCount(options.maxPages),
        environment: options.environment,
      });
    },
  );

program
  .command('reconcile')
  .description('one reconciliation against List Connections')
  .option('--dry-run', 'report the drift and write nothing')
  .option('--json', 'print the report as JSON')
  .option(
    '--max-pages <n>',
    'list at most this many pages (the next run goes on; deletions wait for the end)',
  )
  .option('--environment <name>', ENVIRONMENT_FLAG)
  .option(
    '--no-wait',
    'exit 4 at once when another process holds the reconcile lease, instead of waiting for it',
  )
  .action(
    async (
      options: { dryRun?: boolean; json?: boolean; maxPages?: string; environment?: string; wait: boolean },
      command: Command,
    ) => {
      const { config, migrate } = configFrom(command);
      const { reconcileCommand } = await import('./commands/reconcile.ts');
      process.exitCode = await reconcileCommand(config, {
        dryRun: options.dryRun === true,
        json: options.json === true,
        migrate,
        maxPages: pageCount(options.maxPages),
        environment: options.environment,
        wait: options.wait,
      });
    },
  );

program
  .command('prune')
  .description('delete the events past the retention (WORKOS_SYNC_EVENTS_RETENTION_DAYS) from the event log')
  .option('--dry-run', 'count what would go and delete nothing')
  .option('--include-quarantined', 'prune quarantined events past the retention too (kept otherwise)')
  .option('--json', 'print the report as JSON')
  .option('--environment <name>', ENVIRONMENT_FLAG)
  .option('--no-wait', 'exit 4 at once when another process holds the prune lease, instead of waiting for it')
  .action(
    async (
      options: {
        dryRun?: boolean;
        includeQuarantined?: boolean;
        json?: boolean;
        environment?: string;
        wait: boolean;
      },
      command: Command,
    ) => {
      const { config, migrate } = configFrom(command);
      const { pruneCommand } = await import('./commands/prune.ts');
      process.exitCode = await pruneCommand(config, {
        dryRun: options.dryRun === true,
        quarantined: options.includeQuarantined === true,
        json: options.json === true,
        migrate,
        environment: options.environment,
        wait: options.wait,
      });
    },
  );

program
  .command('doctor')
  .description(
    'check what a deployment gets wrong (settings, database, roles, migrations, WorkOS key, clocks, cursor, webhook secret, certificates): one line each, exit 1 on any failure',
  )
  .option('--json', 'machine-readable output')
  .option('--environment <name>', 'only this environment of the environments file (default: every one)')
  .action(async (options: { json?: boolean; environment?: string }, command: Command) => {
    const { doctorCommand, doctorRefusedSettings } = await import('./commands/doctor.ts');
    const json = options.json === true;
    let config: Config;
    try {
      config = configFrom(command).config;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      process.exitCode = doctorRefusedSettings(error, json);
      return;
    }
    process.exitCode = await doctorCommand(config, { json, environment: options.environment });
  });

program
  .command('status')
  .description('cursor, lag, lease, row counts, last reconciliation, quarantined events: every environment`s')
  .option('--json', 'machine-readable output')
  .option('--environment <name>', 'only this environment of the environments file (default: every one)')
  .action(async (options: { json?: boolean; environment?: string }, command: Command) => {
    const { config, migrate } = configFrom(command);
    const { statusCommand } = await import('./commands/status.ts');
    await statusCommand(config, { json: options.json === true, migrate, environment: options.environment });
  });

program
  .command('certs')
  .description('certificate report: every live connection`s SAML certificates, most urgent first')
  .option('--expiring-within <days>', 'only certificates expiring within this window (30d, 12h, 30)')
  .option('--fail-if-expiring', 'exit 3 when any certificate is inside the window (for alerting)')
  .option('--json', 'machine-readable output')
  .option('--environment <name>', ENVIRONMENT_FLAG)
  .action(
    async (
      options: { expiringWithin?: string; failIfExpiring?: boolean; json?: boolean; environment?: string },
      command: Command,
    ) => {
      const { config, migrate } = configFrom(command);
      const { certsCommand } = await import('./commands/certs.ts');
      process.exitCode = await certsCommand(config, {
        expiringWithin: options.expiringWithin,
        failIfExpiring: options.failIfExpiring === true,
        json: options.json === true,
        migrate,
        environment: options.environment,
      });
    },
  );

const environments = program
  .command('environments')
  .description('the WorkOS environments to mirror: the environments file (docs/environments.md)');

environments
  .command('check')
  .description(
    'validate the environments file, and say what it would change against the database (reads, never writes)',
  )
  .option('--json', 'machine-readable output')
  .action(async (options: { json?: boolean }, command: Command) => {
    const { config } = configFrom(command);
    const { environmentsCheckCommand } = await import('./commands/environments.ts');
    await environmentsCheckCommand(config, { json: options.json === true });
  });

program
  .command('sql')
  .description('run a query against the configured database (unqualified names resolve in the schema)')
  .argument('<query>', 'the SQL, or - to read it from stdin')
  .option('--json', 'print the rows as JSON')
  .action(async (query: string, options: { json?: boolean }, command: Command) => {
    const { config, migrate } = configFrom(command);
    const { sqlCommand } = await import('./commands/sql.ts');
    await sqlCommand(config, query, { json: options.json === true, migrate });
  });

program
  .command('demo')
  .description('zero-setup tour: emulator + embedded Postgres + backfill + a short live run + status')
  .option('--live-seconds <n>', 'how long the live part runs', '6')
  .option('--seed <n>', 'scenario seed', '7')
  .option('--keep', 'leave the emulator and the worker running until Ctrl-C')
  .action(async (options: { liveSeconds: string; seed: string; keep?: boolean }, command: Command) => {
    const { config } = configFrom(command);
    const { demoCommand } = await import('./commands/demo.ts');
    await demoCommand(config, {
      liveSeconds: positiveNumber('--live-seconds', options.liveSeconds),
      seed: positiveNumber('--seed', options.seed),
      keep: options.keep === true,
    });
  });

program
  .command('emulator')
  .description('serve the bundled WorkOS API emulator for local development (docs/emulator.md)')
  .option('--port <port>', 'port to listen on (0 picks a free one)', '4010')
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--scenario <name>', 'empty, demo or large', 'empty')
  .option('--seed <n>', 'seed of the scenario and ids', '1')
  .option('--events <n>', 'events the demo or large scenario generates (default 300 / 100000)')
  .option('--api-key <key>', 'accept only this key (default: any sk_test_… key)')
  .option('--clock-offset <duration>', "run WorkOS's clock ahead (10m) or behind (-10m) real time")
  .option('--webhook-url <url>', 'POST every new event as a signed WorkOS webhook to this URL')
  .option('--webhook-secret <secret>', 'the webhook secret the signatures are keyed with')
  .option('--visibility-delay <duration>', 'how long a new event stays out of GET /events (3s, 500ms)')
  .action(
    async (o: {
      port: string;
      host: string;
      scenario: string;
      seed: string;
      events?: string;
      apiKey?: string;
      clockOffset?: string;
      webhookUrl?: string;
      webhookSecret?: string;
      visibilityDelay?: string;
    }) => {
      // The emulator needs no WorkOS or database settings: no config is loaded for it.
      const { durationFlag, emulatorCommand, integerFlag } = await import('./commands/emulator.ts');
      await emulatorCommand({
        port: integerFlag(o.port) as number,
        host: o.host,
        scenario: o.scenario,
        seed: integerFlag(o.seed) as number,
        events: integerFlag(o.events),
        apiKey: o.apiKey,
        clockOffsetMs: durationFlag(o.clockOffset),
        webhookUrl: o.webhookUrl,
        webhookSecret: o.webhookSecret,
        visibilityDelayMs: durationFlag(o.visibilityDelay),
      });
    },
  );

function pageCount(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(value))
    throw new ConfigError(`--max-pages must be a whole number of pages >= 1, got "${value}"`);
  return Number(value);
}

function positiveNumber(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new ConfigError(`${flag} must be a number >= 0, got "${value}"`);
  return n;
}

async function main(argv: readonly string[]): Promise<number> {
  let telemetry: Telemetry | undefined;
  try {
    const tracing = telemetryFromEnvironment();
    if (tracing) telemetry = await (await import('./commands/telemetry.ts')).startTelemetry(tracing);
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (thrown) {
    if (thrown instanceof CommanderError) {
      return thrown.exitCode === 0 ? 0 : 2;
    }
    const error = asError(thrown);
    const message = error.message;
    process.stderr.write(`workos-sync: ${scrub(message)}\n`);
    if (error instanceof ConfigError) return 2;
    if (!(error instanceof FatalError) && debugInEnvironment()) {
      process.stderr.write(`${scrub(error.stack ?? '')}\n`);
    }
    return 1;
  } finally {
    await telemetry?.shutdown();
  }
}

applyHeapPolicy(process.execArgv);
process.exitCode = await main(process.argv);
