/**
 * Kysely's Postgres dialect as the engine uses it:
 * - the session limits (session-limits.ts) are set by `SET LOCAL` in every `begin`, so every
 *   transaction of ours carries them whatever code opened it, through PgBouncer too;
 * - every database error is classified (errors.ts) where it arises — a connection that cannot be
 *   had, a query that fails — so no caller up the stack classifies it again.
 */
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  PostgresDialect,
  type PostgresDialectConfig,
  PostgresDriver,
  sql,
  type Transaction,
  type TransactionSettings,
} from 'kysely';
import pg from 'pg';
import { classifyDatabaseError } from './errors.ts';
import type { SessionLimits } from './session-limits.ts';
import type { Database } from './tables.ts';

export class EnginePostgresDialect extends PostgresDialect {
  readonly #config: PostgresDialectConfig;
  readonly #limits: SessionLimits;

  constructor(config: PostgresDialectConfig, limits: SessionLimits) {
    super(config);
    this.#config = config;
    this.#limits = limits;
  }

  override createDriver(): Driver {
    return new EnginePostgresDriver(this.#config, this.#limits);
  }
}

type PostgresConnection = Parameters<PostgresDriver['rollbackTransaction']>[0];

class EnginePostgresDriver extends PostgresDriver {
  readonly #limits: string;

  constructor(config: PostgresDialectConfig, limits: SessionLimits) {
    super(config);
    const ms = (value: number) => String(Math.max(0, Math.round(value)));
    this.#limits = `set local idle_in_transaction_session_timeout = ${ms(limits.idleInTransactionMs)};
      set local lock_timeout = ${ms(limits.lockTimeoutMs)};
      set local statement_timeout = ${ms(limits.statementTimeoutMs)}`;
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    try {
      return await super.acquireConnection();
    } catch (error) {
      throw classifyDatabaseError(error);
    }
  }

  override async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings) {
    try {
      if (settings.isolationLevel || settings.accessMode) {
        await super.beginTransaction(connection, settings);
        await connection.executeQuery(CompiledQuery.raw(this.#limits));
      } else {
        // One query without parameters goes by the simple protocol, which takes several
        // statements: `begin` and the limits in one round trip, not two.
        await connection.executeQuery(CompiledQuery.raw(`begin; ${this.#limits}`));
      }
    } catch (error) {
      // Kysely only rolls back a transaction it saw begin: never hand back a connection inside one.
      // (Every connection of this driver is its own PostgresConnection; the type is not exported.)
      await this.rollbackTransaction(connection as PostgresConnection).catch(() => undefined);
      throw error;
    }
  }
}

/** pg's client (the pool's `Client` option), with the error of every failed query classified. */
export class ClassifyingClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: pg's query has a dozen overloads; this keeps them all.
  override query(...args: any[]): any {
    // biome-ignore lint/suspicious/noExplicitAny: see above.
    const result = (super.query as (...a: any[]) => any)(...args);
    return typeof result?.then === 'function'
      ? result.then(undefined, (error: unknown) => {
          throw classifyDatabaseError(error);
        })
      : result;
  }
}

/**
 * For a transaction whose statements may rightly run long — a migration's DDL on a big table, its
 * wait for another process's migration, a user's query (`sql`): no statement or lock bound. The
 * idle bound stays, so a process that stops inside one still cannot hold its locks for long.
 */
export async function liftStatementLimits(trx: Transaction<Database>): Promise<void> {
  await sql`select set_config('statement_timeout', '0', true), set_config('lock_timeout', '0', true)`.execute(
    trx,
  );
}
