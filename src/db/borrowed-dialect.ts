/**
 * The mirror on the application's own Kysely: a Postgres dialect whose connections are borrowed
 * from it, one at a time, through its public `connection()` (held until released). Queries are
 * compiled by the mirror's own compiler and run on a plugin-free view of the application's
 * Kysely, so its plugins (say, camel-casing results) never touch the mirror's rows.
 */
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
  type QueryResult,
} from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: the application's Kysely, over its own tables.
type AnyKysely = Kysely<any>;

export class BorrowedDialect implements Dialect {
  readonly #app: AnyKysely;

  constructor(app: AnyKysely) {
    this.#app = app.withoutPlugins();
  }

  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }

  createDriver(): Driver {
    return new BorrowingDriver(this.#app);
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }

  createIntrospector(db: AnyKysely): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}

class BorrowingDriver implements Driver {
  constructor(private readonly app: AnyKysely) {}

  async init(): Promise<void> {}

  acquireConnection(): Promise<DatabaseConnection> {
    return new Promise((resolve, reject) => {
      let release!: () => void;
      const released = new Promise<void>((done) => {
        release = done;
      });
      this.app
        .connection()
        .execute(async (single) => {
          resolve(new BorrowedConnection(single, release));
          await released;
        })
        .catch(reject);
    });
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as BorrowedConnection).release();
  }

  /** The application's Kysely is the application's to destroy. */
  async destroy(): Promise<void> {}
}

class BorrowedConnection implements DatabaseConnection {
  constructor(
    private readonly single: AnyKysely,
    readonly release: () => void,
  ) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.single.executeQuery<R>(query);
  }

  streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not used by the mirror');
  }
}
