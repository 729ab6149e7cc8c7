/**
 * A Kysely dialect as the engine uses it, whichever database it reaches (its own pool, the
 * application's pool or Kysely, the embedded PGlite):
 * - every database error is classified (errors.ts) where it arises — a connection that cannot be
 *   had, a query, a `begin` or `commit` that fails — so no caller up the stack classifies it again;
 * - on a Postgres server, every transaction carries the session limits (session-limits.ts), set by
 *   `SET LOCAL` in the same round trip as its `begin`: whatever code opened it, through PgBouncer too;
 * - on a Postgres server, every statement waits for its reply no longer than the client's own
 *   bound (`replyDeadlineMs`, enforced by the pool's clients: reply-deadline.ts), except in a
 *   transaction that lifted its limits (`liftStatementLimits`); a connection that went silent is
 *   closed, and what ends its transaction fails with that, a transient error;
 * It wraps the dialect's own driver; what that driver owns (a pool we made) it still destroys, and
 * what it does not (the application's pool) it leaves alone (`owned: false`).
 */
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  sql,
  type Transaction,
  type TransactionSettings,
} from 'kysely';
import { RetryableError } from '../errors.ts';
import { classifyDatabaseError } from './errors.ts';
import { withReplyDeadline } from './reply-deadline.ts';
import { replyDeadlineMs, type SessionLimits } from './session-limits.ts';
import type { Database } from './tables.ts';

/** The statement that lifts the limits (`liftStatementLimits`): seen, the driver lifts the reply bound too. */
const LIFT_LIMITS =
  "select set_config('statement_timeout', '0', true), set_config('lock_timeout', '0', true)";

export interface EngineDialectOptions {
  /** Server-side bounds for every transaction; null on the embedded database (one session only). */
  readonly limits: SessionLimits | null;
  /** Whether closing the mirror may destroy what the inner driver holds (false: the application's). */
  readonly owned: boolean;
}

export class EngineDialect implements Dialect {
  constructor(
    private readonly inner: Dialect,
    private readonly options: EngineDialectOptions,
  ) {}

  createAdapter(): DialectAdapter {
    return this.inner.createAdapter();
  }

  createDriver(): Driver {
    return new EngineDriver(this.inner.createDriver(), this.options);
  }

  createQueryCompiler(): QueryCompiler {
    return this.inner.createQueryCompiler();
  }

  // biome-ignore lint/suspicious/noExplicitAny: the introspector works on any schema.
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return this.inner.createIntrospector(db);
  }
}

class EngineDriver implements Driver {
  readonly #limits: string | null;
  /** How long a statement may wait for its reply (ms); null on the embedded database. */
  readonly #replyMs: number | null;
  /** Whether `begin` and the limits can go as one query: not on a driver that prepares every query. */
  #oneRoundTrip = true;
  readonly #wrapped = new WeakMap<DatabaseConnection, ClassifiedConnection>();

  constructor(
    private readonly inner: Driver,
    private readonly options: EngineDialectOptions,
  ) {
    const { limits } = options;
    const ms = (value: number) => String(Math.max(0, Math.round(value)));
    this.#limits = limits
      ? `set local idle_in_transaction_session_timeout = ${ms(limits.idleInTransactionMs)};
        set local lock_timeout = ${ms(limits.lockTimeoutMs)};
        set local statement_timeout = ${ms(limits.statementTimeoutMs)}`
      : null;
    this.#replyMs = limits ? replyDeadlineMs(limits) : null;
  }

  init(): Promise<void> {
    return classified(() => this.inner.init());
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await classified(() => this.inner.acquireConnection());
    let wrapped = this.#wrapped.get(connection);
    if (!wrapped) {
      wrapped = new ClassifiedConnection(connection, this.#replyMs);
      this.#wrapped.set(connection, wrapped);
    }
    return wrapped;
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const inner = innerOf(connection);
    const wrapped = connection as ClassifiedConnection;
    wrapped.lifted = false;
    wrapped.lastTransient = undefined;
    if (this.#limits === null) return classified(() => this.inner.beginTransaction(inner, settings));
    try {
      if (this.#oneRoundTrip && !settings.isolationLevel && !settings.accessMode) {
        // pg sends a query without parameters by the simple protocol, which takes several
        // statements: `begin` and the limits in one round trip, not two. A driver that prepares
        // every query refuses that (42601, before running any of it): then two round trips.
        try {
          await connection.executeQuery(CompiledQuery.raw(`begin; ${this.#limits}`));
          return;
        } catch (error) {
          if ((error as { code?: unknown }).code !== '42601') throw error;
          this.#oneRoundTrip = false;
        }
      }
      await wrapped.bounded(() => this.inner.beginTransaction(inner, settings));
      for (const statement of this.#limits.split(';'))
        await connection.executeQuery(CompiledQuery.raw(statement));
    } catch (error) {
      // Kysely only rolls back a transaction it saw begin: never hand back a connection inside one.
      await this.inner.rollbackTransaction(inner).catch(() => undefined);
      throw error;
    }
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const wrapped = connection as ClassifiedConnection;
    try {
      await wrapped.bounded(() => this.inner.commitTransaction(wrapped.inner));
    } finally {
      wrapped.lifted = false;
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const wrapped = connection as ClassifiedConnection;
    const lastTransient = wrapped.lastTransient;
    try {
      await wrapped.bounded(() => this.inner.rollbackTransaction(wrapped.inner));
    } catch (error) {
      // A rollback fails when the connection is gone (lost, or closed for going silent): the
      // transaction then ends with how it was lost — a COMMIT cut off says so — not with the
      // rollback's "client is not queryable".
      throw lastTransient ?? error;
    } finally {
      wrapped.lifted = false;
    }
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(innerOf(connection));
  }

  async destroy(): Promise<void> {
    if (this.options.owned) await this.inner.destroy();
  }
}

class ClassifiedConnection implements DatabaseConnection {
  /** Its transaction ran `liftStatementLimits`: no reply bound until it ends. */
  lifted = false;
  /**
   * The last transient failure of a statement in its transaction: should the rollback fail too,
   * the connection is gone, and this says how (lost, cut off during COMMIT, gone silent).
   */
  lastTransient: Error | undefined;

  constructor(
    readonly inner: DatabaseConnection,
    private readonly replyMs: number | null,
  ) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (query.sql === LIFT_LIMITS) this.lifted = true;
    return this.bounded(() => this.inner.executeQuery<R>(query), query);
  }

  /** Runs `work` under the reply bound (unless lifted), its errors classified. */
  async bounded<T>(work: () => Promise<T>, statement?: CompiledQuery): Promise<T> {
    try {
      return await classified(() => withReplyDeadline(this.lifted ? null : this.replyMs, work), statement);
    } catch (error) {
      if (error instanceof RetryableError) this.lastTransient = error;
      throw error;
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

function innerOf(connection: DatabaseConnection): DatabaseConnection {
  return connection instanceof ClassifiedConnection ? connection.inner : connection;
}

async function classified<T>(work: () => Promise<T>, statement?: CompiledQuery): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw classifyDatabaseError(error, statement);
  }
}

/**
 * For a transaction whose statements may rightly run long — a migration's DDL on a big table, its
 * wait for another process's migration, a user's query (`sql`): no statement or lock bound, and no
 * client-side bound on the wait for a reply (reply-deadline.ts) until it ends. The idle bound
 * stays, so a process that stops inside one still cannot hold its locks for long.
 */
export async function liftStatementLimits(trx: Transaction<Database>): Promise<void> {
  await sql.raw(LIFT_LIMITS).execute(trx);
}
