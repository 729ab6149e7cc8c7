/**
 * Reconciliation counts the listed connections it wrote only to advance their version (same
 * content, newer `updated_at`). Frozen in time: imports nothing from src/.
 */
import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's table types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('reconciliation_runs')
    .addColumn('touched', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up().
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('reconciliation_runs').dropColumn('touched').execute();
}
