import type { Config } from '../config.ts';
import { openDatabase } from '../db/connect.ts';
import { migrateToLatest, pendingMigrations } from '../db/migrate.ts';
import { migrationSql } from '../db/print-sql.ts';
import { loggerFor } from '../runtime.ts';

export async function migrateCommand(config: Config, options: { readonly printSql: boolean }): Promise<void> {
  const log = loggerFor(config);
  const database = await openDatabase(config.database, log);
  try {
    const schema = config.database.schema;
    if (options.printSql) {
      const pending = await pendingMigrations(database.db, schema);
      process.stdout.write(pending.length > 0 ? await migrationSql(schema, pending) : '-- nothing pending\n');
      return;
    }
    const { applied } = await migrateToLatest(database.db, schema);
    process.stdout.write(
      applied.length > 0
        ? `applied ${applied.length} migration(s) to schema "${schema}" on ${database.description}: ${applied.join(', ')}\n`
        : `schema "${schema}" on ${database.description} is up to date\n`,
    );
  } finally {
    await database.close();
  }
}
