import type { Config } from '../config.ts';
import { pendingMigrations } from '../db/migrate.ts';
import { migrationSql } from '../db/print-sql.ts';
import { openSync } from './open.ts';

export async function migrateCommand(
  config: Config,
  options: { readonly printSql: boolean; readonly finalize: boolean },
): Promise<void> {
  const { sync } = await openSync(config, { migrate: false });
  try {
    const schema = config.database.schema;
    if (options.printSql) {
      const pending = await pendingMigrations((await sync.database()).db, schema, {
        finalize: options.finalize,
      });
      process.stdout.write(pending.length > 0 ? await migrationSql(schema, pending) : '-- nothing pending\n');
      return;
    }
    const { applied, awaitingFinalize } = await sync.migrate({ finalize: options.finalize });
    const where = (await sync.database()).description;
    process.stdout.write(
      applied.length > 0
        ? `applied ${applied.length} migration(s) to schema "${schema}" on ${where}: ${applied.join(', ')}\n`
        : `schema "${schema}" on ${where} is up to date\n`,
    );
    if (awaitingFinalize.length > 0)
      process.stdout.write(
        `${awaitingFinalize.join(', ')} waits for \`workos-sync migrate --finalize\`: run it once every replica runs this release\n`,
      );
  } finally {
    await sync.close();
  }
}
