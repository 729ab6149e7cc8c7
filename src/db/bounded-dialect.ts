/**
 * Kysely's Postgres dialect, with the engine's session limits (session-limits.ts) set by
 * `SET LOCAL` right after every `begin`, so every transaction of ours carries them whatever code
 * opened it, and through a transaction-pooling PgBouncer too.
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
import type { SessionLimits } from './session-limits.ts';
import type { Database } from './tables.ts';

export class BoundedPostgresDialect extends PostgresDialect {
  readonly #config: PostgresDialectConfig;
  readonly #limits: SessionLimits;

  constructor(config: PostgresDialectConfig, limits: SessionLimits) {
    super(config);
    this.#config = config;
    this.#limits = limits;
  }

  override createDriver(): Driver {
    return new BoundedPostgresDriver(this.#config, this.#limits);
  }
}

type PostgresConnection = Parameters<PostgresDriver['rollbackTransaction']>[0];

class BoundedPostgresDriver extends PostgresDriver {
  readonly #limits: CompiledQuery;

  constructor(config: PostgresDialectConfig, limits: SessionLimits) {
    super(config);
    this.#limits = CompiledQuery.raw(
      `select set_config('idle_in_transaction_session_timeout', $1, true),
              set_config('lock_timeout', $2, true),
              set_config('statement_timeout', $3, true)`,
      [limits.idleInTransactionMs, limits.lockTimeoutMs, limits.statementTimeoutMs].map(String),
    );
  }

  override async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings) {
    await super.beginTransaction(connection, settings);
    try {
      await connection.executeQuery(this.#limits);
    } catch (error) {
      // Kysely only rolls back a transaction it saw begin: never hand back a connection inside one.
      // (Every connection of this driver is its own PostgresConnection; the type is not exported.)
      await this.rollbackTransaction(connection as PostgresConnection).catch(() => undefined);
      throw error;
    }
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
