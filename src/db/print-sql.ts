/**
 * The SQL of pending migrations without running it: the migrations execute against a Kysely
 * whose driver records each compiled statement instead of sending it.
 */
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
} from 'kysely';
import { migrations } from '../../migrations/index.ts';

export async function migrationSql(schema: string, names: readonly string[]): Promise<string> {
  const lines: string[] = [`create schema if not exists "${schema}";`];
  for (const name of names) {
    const statements: string[] = [];
    // biome-ignore lint/suspicious/noExplicitAny: migrations are typed against no schema.
    const db = new Kysely<any>({
      dialect: {
        createAdapter: () => new PostgresAdapter(),
        createDriver: () => new RecordingDriver(statements),
        createIntrospector: (k) => new PostgresIntrospector(k),
        createQueryCompiler: () => new PostgresQueryCompiler(),
      },
    }).withSchema(schema);
    await migrations[name as keyof typeof migrations].up(db);
    lines.push(`-- ${name}`, ...statements.map((s) => `${s};`));
    lines.push(`insert into "${schema}"."schema_migrations" (name) values ('${name}');`);
  }
  return `${lines.join('\n')}\n`;
}

class RecordingDriver implements Driver {
  constructor(private readonly statements: string[]) {}
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    const statements = this.statements;
    return {
      async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
        statements.push(inlineParameters(query));
        return { rows: [] };
      },
      async *streamQuery() {},
    };
  }
  async beginTransaction(): Promise<void> {}
  async commitTransaction(): Promise<void> {}
  async rollbackTransaction(): Promise<void> {}
  async releaseConnection(): Promise<void> {}
  async destroy(): Promise<void> {}
}

function inlineParameters(query: CompiledQuery): string {
  return query.sql.replace(/\$(\d+)/g, (_, n: string) => literal(query.parameters[Number(n) - 1]));
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `'${String(value).replace(/'/g, "''")}'`;
}
