/**
 * The library: what the command line does, as an object an application holds. It takes the same
 * settings the environment gives the CLI, checked by the same code (config.ts), and it never reads
 * the environment, exits the process or installs signal handlers — the CLI does those, around it.
 *
 * The database is opened on first use and closed by `close()` (the application's own pool or
 * Kysely is left open). Nothing migrates by itself: call `migrate()` first, as the CLI does.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { WorkOS } from '@workos-inc/node';
import type { Kysely } from 'kysely';
import {
  type Config,
  environmentFor,
  requireApiKey,
  resolveOptions,
  secretsOf,
  type WorkosSyncSettings,
} from './config.ts';
import { type DatabaseHandle, openDatabase } from './db/connect.ts';
import { DEFAULT_ENVIRONMENT, scopedToEnvironment } from './db/environment-scope.ts';
import {
  type MigrateOptions,
  type MigrationResult,
  migrateToLatest,
  requireEnvironmentKeys,
} from './db/migrate.ts';
import type { Database } from './db/tables.ts';
import { ConfigError, type FatalError } from './errors.ts';
import { serveFleetFrom } from './library/fleet.ts';
import { processRequestGate } from './library/request-gate.ts';
import { underLease } from './library/under-lease.ts';
import { createLogger, type Logger, type Scrub, scrubbingLogger, secretScrubber } from './logger.ts';
import { type BackfillResult, backfill } from './sync/backfill.ts';
import { type CertificateReportRow, listCertificates, parseDays } from './sync/certificates.ts';
import type { ChangeHook } from './sync/changes/changes.ts';
import { type ChangeReporting, changesChannel } from './sync/changes/report.ts';
import { openEnvironment } from './sync/environments.ts';
import type { PollTotals } from './sync/events/poll-once.ts';
import { type PollOptions, poll } from './sync/poll.ts';
import { type PruneOptions, type PruneReport, pruneEvents } from './sync/prune.ts';
import { type ReconcileOptions, type ReconcileReport, reconcile } from './sync/reconcile/reconcile.ts';
import { cursorRecovery } from './sync/recover-cursor.ts';
import { type EnvironmentStatus, readStatus, readStatuses, type StatusReport } from './sync/status.ts';
import { sweepAbandoned } from './worker/reconcile-job.ts';
import { type RunningSync, serveWorker } from './worker/serve.ts';
import { nudgeChannel } from './worker/webhooks/nudge-bus.ts';
import { createWorkosClient } from './workos/client.ts';
import { workosConnectionsSource } from './workos/connections-source.ts';
import { workosEventsSource } from './workos/events-source.ts';
import { workosOrganizationsSource } from './workos/organizations-source.ts';

export interface WorkosSyncOptions extends WorkosSyncSettings {
  /**
   * A pino logger (workos-sync logs through a child of it, with the API key and the database
   * password scrubbed from the errors it logs); default: JSON lines on stderr at `logLevel`.
   */
  readonly logger?: Logger | undefined;
  /** A first `onChange` hook (more with `onChange()`). */
  readonly onChange?: ChangeHook | undefined;
}

export interface ReconcileRunOptions extends ReconcileOptions {
  /** Another process holds the reconcile lease: wait for it (the default), or reject at once. */
  readonly wait?: boolean | undefined;
}

export interface PruneRunOptions extends Omit<PruneOptions, 'batchSize'> {
  /** Another process holds the prune lease: wait for it (the default), or reject at once. */
  readonly wait?: boolean | undefined;
}

export interface StartOptions {
  /** The health and metrics server: as configured (`http` option) unless given here; false for none. */
  readonly http?: { readonly host?: string; readonly port?: number | 'ephemeral' } | false;
  /**
   * Told when the worker cannot go on (WorkOS rejected the API key): it has stopped by then. By
   * default the error is logged; `RunningSync.done` resolves with it either way.
   */
  readonly onFatal?: ((error: FatalError) => void) | undefined;
  /** This replica's name in the leases; default host:pid:random. */
  readonly holder?: string | undefined;
}

export interface MirrorDatabase {
  readonly db: Kysely<Database>;
  readonly kind: 'postgres' | 'embedded';
  /** Where the data is, safe to print (no password). */
  readonly description: string;
}

/** What the library does for one WorkOS environment: `sync.environment(name)`'s, and the top level's. */
export interface EnvironmentOperations {
  /** A new mirror starts from the listing, then applies every retained event; an existing one catches up. */
  backfill(options?: PollOptions): Promise<BackfillResult>;
  /** One catch-up pass from the stored cursor. */
  poll(options?: PollOptions): Promise<PollTotals>;
  /**
   * One reconciliation against List Connections; `dryRun` computes the drift and writes nothing;
   * `maxPages` bounds the run (the next one resumes the pass; deletions wait for its end). A real
   * run holds the `reconcile` lease, as the worker's do: while another process holds it, it waits
   * (or, with `wait: false`, rejects with a `LeaseHeldError` naming the holder).
   */
  reconcile(options?: ReconcileRunOptions): Promise<ReconcileReport>;
  /**
   * Deletes the events past the retention (`events.retentionDays`), in small batches, keeping
   * quarantined ones (unless asked) and those the cursor or a mirror row points at; under the
   * `prune` lease the worker's prunes hold. `dryRun` counts what would go.
   */
  prune(options?: PruneRunOptions): Promise<PruneReport>;
  /** Cursor, lag, lease, counts, last reconciliation, quarantined events (error texts scrubbed). */
  status(): Promise<StatusReport & { readonly database: string }>;
  /** Certificates of live connections, most urgent first; `within` as `30d`, `12h` or days. */
  certificates(options?: { readonly within?: string | number }): Promise<CertificateReportRow[]>;
}

/**
 * One environment of the configuration (`sync.environment(name)`): its rows only (every statement
 * through its handle is confined to them), and WorkOS through a client of its own API key.
 */
export interface WorkosSyncEnvironment extends EnvironmentOperations {
  /** The environment's name: what its rows carry in their `environment` column. */
  readonly name: string;
}

/** Every environment's status at once (`environmentsStatus()`), and where the mirror is. */
export interface EnvironmentsStatus {
  /** Where the data is, safe to print (no password). */
  readonly database: string;
  readonly environments: readonly EnvironmentStatus[];
}

/**
 * The library. Its `backfill`, `poll`, `reconcile`, `status` and `certificates` are for the
 * configuration's one environment: `default` (the single-environment settings), or the one an
 * environments file declares. Several declared, they are refused (a `ConfigError`): address one
 * with `environment(name)`.
 */
export interface WorkosSync extends EnvironmentOperations {
  /** The settings in force, validated. */
  readonly config: Config;
  /**
   * Applies pending migrations; safe when several processes start at once. On a schema that
   * existed, a contract migration (what the previous release still uses goes) waits for
   * `finalize`: give it once every replica runs this release.
   */
  migrate(options?: MigrateOptions): Promise<MigrationResult>;
  /**
   * One environment of the configuration, by name; an unknown name is a `ConfigError` naming the
   * environments there are. The same object for the same name.
   */
  environment(name: string): WorkosSyncEnvironment;
  /**
   * The status of every environment: those the mirror has rows for and those configured but not
   * started yet, sorted by name. A handful of statements however many environments there are.
   */
  environmentsStatus(): Promise<EnvironmentsStatus>;
  /** The long-running worker: polls and reconciles on the schedules, holding leases like `run`. */
  start(options?: StartOptions): RunningSync;
  /** The mirror's database: a Kysely bound to its schema for the application's own queries, and where it is. */
  database(): Promise<MirrorDatabase>;
  /**
   * Registers a hook called inside the transaction of every batch of events and every
   * reconciliation that changes the mirror, with its net changes (see `ChangeHook`). Returns the
   * function that removes it.
   */
  onChange(hook: ChangeHook): () => void;
  /** Stops what `start()` started and closes what this object opened. */
  close(): Promise<void>;
}

export function createWorkosSync(options: WorkosSyncOptions = {}): WorkosSync {
  const { logger, onChange, ...settings } = options;
  return workosSyncFrom(resolveOptions(settings), { logger, onChange });
}

/** The command line's way in: settings it validated from the environment, and its own logger. */
export function workosSyncFrom(
  config: Config,
  extras: { readonly logger?: Logger | undefined; readonly onChange?: ChangeHook | undefined } = {},
): WorkosSync {
  const secrets = secretsOf(config);
  const scrub: Scrub = secretScrubber(secrets);
  const log = scrubbingLogger(extras.logger ?? createLogger({ level: config.logLevel, secrets }), scrub);
  let opening: Promise<DatabaseHandle> | undefined;
  const running = new Set<RunningSync>();
  let hooks: readonly ChangeHook[] = extras.onChange ? [extras.onChange] : [];
  const stopping = new AbortController();
  const reporting: ChangeReporting = {
    hooks: () => hooks,
    channel: config.notify ? changesChannel(config.database.schema) : null,
  };

  const database = (): Promise<DatabaseHandle> => {
    opening ??= openDatabase(config.database, log).then((handle) => {
      log.info({ database: handle.description }, 'using database');
      return handle;
    });
    return opening;
  };
  // Every WorkOS request of this process, whichever environment's, draws on the fleet's budget.
  const gate = processRequestGate({ config, database, log, signal: stopping.signal });
  // What the sync reads and writes goes through an environment's handle: every statement
  // confined to its rows (db/environment-scope.ts). `database()` gives the application the whole.
  const environmentDatabase = async (name: string) => {
    const handle = await database();
    const db = scopedToEnvironment(handle.db, config.database.schema, name);
    return { ...handle, db };
  };
  // Each environment's WorkOS client, of its own API key, behind the process's one gate.
  const clients = new Map<string, WorkOS>();
  const client = (name: string): WorkOS => {
    let workos = clients.get(name);
    if (!workos) {
      workos = createWorkosClient({
        apiKey: requireApiKey(config, name),
        apiUrl: config.workos.apiUrl,
        timeoutMs: config.requestTimeoutMs,
        gate,
      });
      clients.set(name, workos);
    }
    return workos;
  };
  // An environment other than `default` is written only once the keys are led by the environment
  // (migrations/0007, `migrate --finalize`), as the fleet requires; then its `sync_state` rows
  // are made first, so that `status` knows it from its first run. `default`'s are the migrations'.
  const opened = new Set<string>();
  const writable = async (name: string, db: Kysely<Database>) => {
    if (name === DEFAULT_ENVIRONMENT || opened.has(name)) return;
    await requireEnvironmentKeys((await database()).db, config.database.schema, name);
    await openEnvironment(db);
    opened.add(name);
  };
  // The phase the events pages are fetched for shows in their User-Agent (workos/client.ts); the
  // connections source says `reconcile` by itself, the backfill's and recoveries' included.
  const syncDeps = async (name: string, phase: 'backfill' | 'poll') => {
    const workos = client(name);
    const { db, dedicatedSession } = await environmentDatabase(name);
    await writable(name, db);
    return {
      db,
      dedicatedSession,
      events: workosEventsSource(workos, { phase }),
      connections: workosConnectionsSource(workos),
      organizations: workosOrganizationsSource(workos),
      log,
      scrub,
      reporting,
    };
  };
  const scrubbed = <T extends StatusReport>(report: T): T => ({
    ...report,
    lastPollError: report.lastPollError === null ? null : scrub(report.lastPollError),
    lastRecovery: report.lastRecovery && {
      ...report.lastRecovery,
      reason: report.lastRecovery.reason === null ? null : scrub(report.lastRecovery.reason),
    },
  });

  const environments = new Map<string, WorkosSyncEnvironment>();
  const environment = (name: string): WorkosSyncEnvironment => {
    const found = environments.get(name);
    if (found) return found;
    environmentFor(config, name); // a name the configuration does not have is refused here
    const bound: WorkosSyncEnvironment = {
      name,
      async backfill(backfillOptions) {
        return backfill(await syncDeps(name, 'backfill'), backfillOptions);
      },
      async poll(pollOptions) {
        const deps = await syncDeps(name, 'poll');
        return poll(deps, { ...pollOptions, recover: cursorRecovery(deps) });
      },
      async reconcile({ wait = true, ...reconcileOptions } = {}) {
        const workos = client(name);
        const { db } = await environmentDatabase(name);
        const run = (signal?: AbortSignal) =>
          reconcile(
            {
              db,
              connections: workosConnectionsSource(workos),
              organizations: workosOrganizationsSource(workos),
              log,
              scrub,
              reporting,
            },
            signal ? { ...reconcileOptions, signal } : reconcileOptions,
          );
        if (reconcileOptions.dryRun) return run();
        await writable(name, db);
        // Only the lease's holder can know no other run is under way: the runs a killed process
        // left `running` are ended as abandoned once it is held.
        return underLease(
          { db, log, holder: processHolder(), leaseTtlMs: config.leaseTtlMs },
          'reconcile',
          { wait, signal: reconcileOptions.signal },
          async (held) => {
            await sweepAbandoned({ db, log });
            return run(held);
          },
        );
      },
      async prune({ wait = true, signal, ...pruneOptions } = {}) {
        const { db } = await environmentDatabase(name);
        const deps = { db, log, retention: config.eventsRetention };
        if (pruneOptions.dryRun) return pruneEvents(deps, pruneOptions);
        return underLease(
          { db, log, holder: processHolder(), leaseTtlMs: config.leaseTtlMs },
          'prune',
          { wait, signal },
          (held) => pruneEvents(deps, { ...pruneOptions, signal: held }),
        );
      },
      async status() {
        const handle = await environmentDatabase(name);
        return { ...scrubbed(await readStatus(handle.db)), database: handle.description };
      },
      async certificates(certificateOptions = {}) {
        const within = certificateOptions.within;
        const withinDays = within === undefined ? undefined : parseDays(within);
        if (withinDays === null)
          throw new ConfigError(`within must look like 30d, 12h or 30, got "${within}"`);
        return listCertificates((await environmentDatabase(name)).db, { withinDays });
      },
    };
    environments.set(name, bound);
    return bound;
  };
  /** The configuration's one environment, for the top level's methods. */
  const only = (): WorkosSyncEnvironment =>
    environment(environmentFor(config, undefined, 'sync.environment(name)').name);

  return {
    config,
    async migrate(migrateOptions = {}) {
      const { db } = await database();
      const result = await migrateToLatest(db, config.database.schema, migrateOptions);
      if (result.applied.length > 0) log.info({ applied: result.applied }, 'migrations applied');
      return result;
    },
    environment,
    // Async, as they were: a configuration of several environments is a rejection, not a throw.
    async backfill(options) {
      return only().backfill(options);
    },
    async poll(options) {
      return only().poll(options);
    },
    async reconcile(options) {
      return only().reconcile(options);
    },
    async prune(options) {
      return only().prune(options);
    },
    async status() {
      return only().status();
    },
    async certificates(options) {
      return only().certificates(options);
    },
    async environmentsStatus() {
      const handle = await database();
      const statuses = await readStatuses(handle.db, {
        environments: config.environments.map((e) => e.name),
      });
      return { database: handle.description, environments: statuses.map(scrubbed) };
    },
    start(startOptions = {}) {
      const http = startOptions.http === undefined ? config.http : startOptions.http;
      const holder = startOptions.holder ?? processHolder();
      const httpAt =
        http === false
          ? null
          : {
              host: http.host ?? config.http.host,
              port: http.port ?? config.http.port,
              basicAuth: config.http.basicAuth,
            };
      if (config.environmentsFile) {
        const fleet = serveFleetFrom(
          { config, database, log, scrub, reporting, gate },
          { holder, http: httpAt, onFatal: startOptions.onFatal },
        );
        running.add(fleet);
        void fleet.done.finally(() => running.delete(fleet));
        return fleet;
      }
      const sync = serveWorker(syncDeps(DEFAULT_ENVIRONMENT, 'poll'), {
        pollCron: config.pollCron,
        reconcileCron: config.reconcileCron,
        leaseTtlMs: config.leaseTtlMs,
        eventsRetention: config.eventsRetention,
        holder,
        http: httpAt,
        onFatal: startOptions.onFatal ?? ((error) => log.error({ err: error }, 'the worker stopped')),
        webhooks: config.webhooks && {
          settings: config.webhooks,
          verifier: client(DEFAULT_ENVIRONMENT).webhooks,
          channel: nudgeChannel(config.database.schema),
        },
      });
      running.add(sync);
      void sync.done.finally(() => running.delete(sync));
      return sync;
    },
    async database() {
      const { db, kind, description } = await database();
      return { db, kind, description };
    },
    onChange(hook) {
      hooks = [...hooks, hook];
      return () => {
        hooks = hooks.filter((h) => h !== hook);
      };
    },
    async close() {
      stopping.abort();
      await Promise.allSettled([...running].map((sync) => sync.stop()));
      if (opening) await (await opening.catch(() => undefined))?.close();
      opening = undefined;
    },
  };
}

/** A lease holder's name that says which process holds it: host, pid, and a few random bytes. */
function processHolder(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}
