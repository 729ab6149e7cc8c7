/**
 * A Kysely handle bound to the configured schema: on a Postgres server (by URL, or through the
 * application's own pool or Kysely), or on the embedded PGlite database under the data directory.
 * Whichever it is, it goes through the engine's dialect (engine-dialect.ts): errors classified
 * where they arise, and on a server every transaction bounded.
 *
 * Embedded caveat, relied upon everywhere: PGlite has one connection, so code inside
 * `db.transaction()` must use the transaction handle only — touching `db` there hangs forever.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Dialect, Kysely, PostgresDialect, type PostgresPool } from 'kysely';
import pg from 'pg';
import type { Logger } from '../logger.ts';
import { BorrowedDialect } from './borrowed-dialect.ts';
import { acquireDirectoryLock } from './directory-lock.ts';
import { EngineDialect } from './engine-dialect.ts';
import type { DedicatedSession } from './listen.ts';
import { boundedReplies } from './reply-deadline.ts';
import type { DatabaseSettings } from './settings.ts';
import type { Database } from './tables.ts';
import { explainConnectError, type PostgresTls, pgTlsOptions } from './tls.ts';

/** How our sessions show in `pg_stat_activity`; `?application_name=…` in DATABASE_URL wins. */
const APPLICATION_NAME = 'workos-sync';

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: 'postgres' | 'embedded';
  /** Where the data is, safe to print (no password). */
  readonly description: string;
  /** Ends what the mirror opened: its own pool or embedded database, never the application's. */
  close(): Promise<void>;
  /**
   * A session outside the pool, for LISTEN: on a server reached by URL or through the
   * application's pool. None on the application's Kysely or the embedded database.
   */
  readonly dedicatedSession?: (() => Promise<DedicatedSession>) | undefined;
}

export async function openDatabase(
  settings: DatabaseSettings,
  log: Logger,
  options: { readonly poolSize?: number } = {},
): Promise<DatabaseHandle> {
  const { target, schema } = settings;
  const server = (
    dialect: Dialect,
    owned: boolean,
    description: string,
    dedicatedSession?: () => Promise<DedicatedSession>,
  ): DatabaseHandle => {
    const engine = new EngineDialect(dialect, { limits: settings.sessionLimits, owned });
    const db = new Kysely<Database>({ dialect: engine }).withSchema(schema);
    return { db, kind: 'postgres', description, close: () => db.destroy(), dedicatedSession };
  };
  switch (target.kind) {
    case 'url':
      return server(
        new PostgresDialect({
          pool: ownPool(target.url, target.tls, log, options.poolSize ?? settings.poolSize ?? 4),
        }),
        true,
        describeUrl(target.url),
        async () => {
          const client = new pg.Client({
            ...pgTlsOptions(target.url, target.tls),
            application_name: APPLICATION_NAME,
          });
          client.on('error', () => undefined); // reported by the listener, which replaces the session
          await client
            .connect()
            .catch((error: unknown) => Promise.reject(explainConnectError(error, target.tls)));
          return { client, release: () => client.end() };
        },
      );
    case 'pool': {
      const pool = target.pool;
      // The application's clients, each bounded while the engine holds it (reply-deadline.ts): one
      // that goes silent is ended, and the application's pool drops it as it is given back.
      const bounded: PostgresPool = {
        // What Kysely's query cancellation builds a client of its own from, as from the pool itself.
        Client: (pool as { Client?: PostgresPool['Client'] }).Client,
        options: pool.options,
        connect: async () => boundedReplies(await pool.connect()),
        end: () => pool.end(),
      };
      return server(
        new PostgresDialect({ pool: bounded }),
        false,
        "the application's Postgres pool",
        async () => {
          const client = await pool.connect();
          client.on('error', () => undefined);
          return { client, release: async () => client.release(true) };
        },
      );
    }
    case 'kysely':
      return server(new BorrowedDialect(target.kysely), false, "the application's Kysely");
    case 'embedded':
      return openEmbedded(target.dataDir, schema);
  }
}

function ownPool(url: string, tls: PostgresTls, log: Logger, poolSize: number): PostgresPool {
  // pg lets the connection string's parameters override these: `?application_name=` wins. The
  // TLS parameters are taken out of it first and given as pg's options (tls.ts), so `sslmode`
  // means what it means to libpq, and pg reads no PGSSLMODE of its own from the environment.
  const pool = new pg.Pool({
    ...pgTlsOptions(url, tls),
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
  // A connection that fails over TLS (an untrusted certificate, a server without TLS or with
  // TLS only) says so in the terms of the settings. `Client` and `options` are what Kysely's
  // query cancellation builds a client of its own from, as it would from the pool itself.
  return {
    Client: pg.Client,
    options: pool.options,
    connect: () =>
      pool
        .connect()
        .then(boundedReplies, (error: unknown) => Promise.reject(explainConnectError(error, tls))),
    end: () => pool.end(),
  };
}

async function openEmbedded(dataDir: string, schema: string): Promise<DatabaseHandle> {
  const dir = resolve(dataDir);
  await mkdir(dir, { recursive: true });
  const lock = await acquireDirectoryLock(dir);
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    const { PGliteDialect } = await import('kysely');
    const pglite = await PGlite.create(`${dir}/pgdata`);
    const dialect = new EngineDialect(new PGliteDialect({ pglite }), { limits: null, owned: true });
    const db = new Kysely<Database>({ dialect }).withSchema(schema);
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
