/**
 * Each test file gets a database of its own on the suite's Postgres server, migrated, and a
 * Kysely handle on it. Files run in parallel without seeing each other.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { type DatabaseHandle, openDatabase } from '../../src/db/connect.ts';
import { DEFAULT_ENVIRONMENT, scopedToEnvironment } from '../../src/db/environment-scope.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import type { Database } from '../../src/db/tables.ts';
import { EVENTS_STREAM } from '../../src/sync/events/cursor.ts';
import { RECONCILIATION_STREAM } from '../../src/sync/reconcile/pass.ts';
import { silentLogger } from './logs.ts';

export interface TestDatabase {
  readonly url: string;
  readonly schema: string;
  /** The `default` environment's handle, as the sync gets it (db/environment-scope.ts). */
  readonly db: Kysely<Database>;
  /** Every environment's rows: the handle an application's own queries get. */
  readonly whole: Kysely<Database>;
  /** Another environment's handle on the same tables. */
  environment(name: string): Kysely<Database>;
  readonly handle: DatabaseHandle;
  /** Empty every table and put the cursor back to the start. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** A new empty database on the suite's server (named `name`, or something random). */
export async function createDatabaseUrl(name = `t_${randomBytes(6).toString('hex')}`): Promise<string> {
  const admin = inject('postgresUrl');
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * The suite runs twice: on a Postgres server, and (vitest project `embedded`) on the embedded
 * PGlite database the CLI uses when DATABASE_URL is unset. Tests that need several connections
 * or processes say so in their name, or live in files the embedded project does not include.
 */
export const EMBEDDED = process.env.WORKOS_SYNC_TEST_DATABASE === 'embedded';

export async function createTestDatabase(
  options: { schema?: string; migrate?: boolean } = {},
): Promise<TestDatabase> {
  const schema = options.schema ?? 'workos';
  const url = EMBEDDED ? '' : await createDatabaseUrl();
  const dataDir = EMBEDDED ? mkdtempSync(join(tmpdir(), 'workos-sync-embedded-')) : undefined;
  const config = loadConfig({ DATABASE_URL: url, WORKOS_SYNC_SCHEMA: schema, WORKOS_SYNC_DATA_DIR: dataDir });
  const handle = await openDatabase(config.database, silentLogger());
  if (options.migrate !== false) await migrateToLatest(handle.db, schema);
  return {
    url,
    schema,
    db: scopedToEnvironment(handle.db, schema, DEFAULT_ENVIRONMENT),
    whole: handle.db,
    environment: (name) => scopedToEnvironment(handle.db, schema, name),
    handle,
    async reset() {
      await scopedToEnvironment(handle.db, schema, DEFAULT_ENVIRONMENT)
        .transaction()
        .execute(async (trx) => {
          for (const table of [
            'connections',
            'connection_domains',
            'connection_certificates',
            'organizations',
            'organization_domains',
            'events',
            'reconciliation_runs',
            'leases',
            'sync_state',
            'reconciliation_pass_listed',
          ] as const) {
            await trx.deleteFrom(table).execute();
          }
          // The rows the migrations seed: every other column at its default.
          for (const stream of [EVENTS_STREAM, RECONCILIATION_STREAM])
            await trx.insertInto('sync_state').values({ stream }).execute();
        });
      await handle.db.deleteFrom('workers').execute();
      await handle.db.deleteFrom('request_budget').execute();
    },
    async close() {
      await handle.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
