/**
 * Postgres for the benchmark, got the way the tests get it (TEST_DATABASE_URL, Testcontainers,
 * or a throwaway cluster from the machine's binaries), with a fresh migrated database per run,
 * opened exactly as the commands open theirs (`openDatabase`: the same pool and settings).
 */
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { type DatabaseHandle, openDatabase } from '../src/db/connect.ts';
import { DEFAULT_ENVIRONMENT, scopedToEnvironment } from '../src/db/environment-scope.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { createLogger, type Logger } from '../src/logger.ts';
import { type PostgresServer, startPostgres } from '../test/support/postgres-server.ts';

export const SCHEMA = 'workos';

export const silentLog: Logger = createLogger({ level: 'silent', secrets: [] });
/** The benchmark's errors carry no secret (its own throwaway database, the emulator's key). */
export const noSecrets = (text: string): string => text;

export interface BenchDatabase extends DatabaseHandle {
  readonly url: string;
  /** A plain client of its own (COPY, ad-hoc reads); the caller ends it. */
  client(): Promise<pg.Client>;
}

export interface BenchPostgres {
  readonly server: PostgresServer;
  readonly version: string;
  /** A new database, migrated unless `migrate: false`. */
  createDatabase(options?: { readonly migrate?: boolean }): Promise<BenchDatabase>;
  stop(): Promise<void>;
}

export async function startBenchPostgres(): Promise<BenchPostgres> {
  const server = await startPostgres();
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  const version = (await admin.query<{ server_version: string }>('show server_version')).rows[0]!
    .server_version;
  let counter = 0;
  const created: string[] = [];
  return {
    server,
    version,
    async createDatabase(options = {}) {
      const name = `bench_${process.pid}_${++counter}`;
      await admin.query(`create database ${name}`);
      created.push(name);
      const url = new URL(server.url);
      url.pathname = `/${name}`;
      const config = loadConfig({ DATABASE_URL: url.toString(), WORKOS_SYNC_SCHEMA: SCHEMA });
      const handle = await openDatabase(config.database, silentLog);
      if (options.migrate !== false) await migrateToLatest(handle.db, SCHEMA);
      return {
        ...handle,
        // The sync's handle, as the commands give it: the `default` environment's.
        db: scopedToEnvironment(handle.db, SCHEMA, DEFAULT_ENVIRONMENT),
        url: url.toString(),
        async client() {
          const client = new pg.Client({ connectionString: url.toString() });
          await client.connect();
          return client;
        },
      };
    },
    async stop() {
      // Each run's databases go, so a long-lived external server does not fill up.
      for (const name of created)
        await admin.query(`drop database if exists ${name} with (force)`).catch(() => undefined);
      await admin.end();
      await server.stop();
    },
  };
}
