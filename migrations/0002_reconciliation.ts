/**
 * Reconciliation's extra facts: certificates learned from List Connections (fingerprint and
 * subject of `options.signing_cert`), what each run could not use, and cursor recoveries.
 * Frozen in time: imports nothing from src/.
 */
import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's table types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('connection_certificates')
    .addColumn('fingerprint', 'text')
    .addColumn('subject', 'text')
    .execute();
  await db.schema
    .alterTable('reconciliation_runs')
    .addColumn('invalid', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('certificates_updated', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('certificates_unparsable', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('sync_state')
    .addColumn('last_recovery_at', 'timestamptz')
    .addColumn('last_recovery_reason', 'text')
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up().
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('sync_state')
    .dropColumn('last_recovery_at')
    .dropColumn('last_recovery_reason')
    .execute();
  await db.schema
    .alterTable('reconciliation_runs')
    .dropColumn('invalid')
    .dropColumn('certificates_updated')
    .dropColumn('certificates_unparsable')
    .execute();
  await db.schema
    .alterTable('connection_certificates')
    .dropColumn('fingerprint')
    .dropColumn('subject')
    .execute();
}
