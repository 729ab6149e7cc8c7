/**
 * A reconciliation bounded to a number of pages (`reconcile --max-pages`) covers the listing over
 * several runs, one pass: where the next run resumes, when the pass began, and which connections
 * it listed so far (they are not deleted when the pass ends). Frozen in time: imports nothing
 * from src/.
 */
import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's table types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sync_state').addColumn('pass_began_at', 'timestamptz').execute();
  // For this stream, `cursor` is List Connections' `after`: null while no pass is under way.
  await db.insertInto('sync_state').values({ stream: 'reconciliation' }).execute();
  await db.schema
    .createTable('reconciliation_pass_listed')
    .addColumn('connection_id', 'text', (c) => c.primaryKey())
    .execute();
  await db.schema
    .alterTable('reconciliation_runs')
    .addColumn('listing_complete', 'boolean', (c) => c.notNull().defaultTo(sql`true`))
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up().
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('reconciliation_runs').dropColumn('listing_complete').execute();
  await db.schema.dropTable('reconciliation_pass_listed').execute();
  await db.deleteFrom('sync_state').where('stream', '=', 'reconciliation').execute();
  await db.schema.alterTable('sync_state').dropColumn('pass_began_at').execute();
}
