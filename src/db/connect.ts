/**
 * A Kysely handle bound to the configured schema: on a Postgres server (DATABASE_URL), or on the
 * embedded PGlite database under the data directory when none is configured.
 *
 * Embedded caveat, relied upon everywhere: PGlite has one connection, so code inside
 * `db.transaction()` must use the transaction handle only — touching `db` there hangs forever.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Kysely } from 'kysely';
import pg from 'pg';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { acquireDirectoryLock } from './directory-lock.ts';
import { ClassifyingClient, EnginePostgresDialect } from './postgres-dialect.ts';
import type { SessionLimits } from './session-limits.ts';
import type { Database } from './tables.ts';

/** How our sessions show in `pg_stat_activity`; `?application_name=…` in DATABASE_URL wins. */
export const APPLICATION_NAME = 'workos-sync';

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: 'postgres' | 'embedded';
  /** Where the data is, safe to print (no password). */
  readonly description: string;
  close(): Promise<void>;
}

export async function openDatabase(
  config: Config['database'],
  log: Logger,
  options: { readonly poolSize?: number } = {},
): Promise<DatabaseHandle> {
  if (config.url) return openServer(config, config.url, log, options.poolSize ?? 4);
  return openEmbedded(config.dataDir, config.schema);
}

function openServer(
  config: { readonly schema: string; readonly sessionLimits: SessionLimits },
  url: string,
  log: Logger,
  poolSize: number,
): DatabaseHandle {
  // pg lets the connection string's parameters override these: `?application_name=` wins.
  const pool = new pg.Pool({
    connectionString: url,
    Client: ClassifyingClient,
    application_name: APPLICATION_NAME,
    max: poolSize,
    connectionTimeoutMillis: 10_000,
  });
  // An idle client losing its server (restart, failover) must not crash the process; the next
  // query fails instead, and the caller waits that out.
  pool.on('error', (error) => log.warn({ err: error }, 'idle database connection lost'));
  // pg-pool removes its listener while a client is checked out, and a connection the server
  // drops then (a restart between two statements) would raise an unhandled 'error' and kill the
  // process. With this one the client is just broken: its next query fails, and is retried.
  pool.on('connect', (client) => {
    client.on('error', (error) => log.debug({ err: error }, 'database connection lost while in use'));
  });
  const dialect = new EnginePostgresDialect({ pool }, config.sessionLimits);
  const db = new Kysely<Database>({ dialect }).withSchema(config.schema);
  return { db, kind: 'postgres', description: describeUrl(url), close: () => db.destroy() };
}

async function openEmbedded(dataDir: string, schema: string): Promise<DatabaseHandle> {
  const dir = resolve(dataDir);
  await mkdir(dir, { recursive: true });
  const lock = await acquireDirectoryLock(dir);
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    const { PGliteDialect } = await import('kysely');
    const pglite = await PGlite.create(`${dir}/pgdata`);
    const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) }).withSchema(schema);
    return {
      db,
      kind: 'embedded',
      description: `embedded Postgres (PGlite) in ${dir}`,
      async close() {
        await db.destroy();
        await lock.release();
      },
    };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

function describeUrl(url: string): string {
  const parsed = new URL(url);
  const host = parsed.searchParams.get('host') ?? parsed.host;
  return `Postgres ${parsed.username ? `${decodeURIComponent(parsed.username)}@` : ''}${host}${parsed.pathname}`;
}
