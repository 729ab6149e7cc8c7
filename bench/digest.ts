/**
 * A fingerprint of what a mirror holds (every column a sync decides, none it stamps with the
 * wall clock), so two loops that should leave the same tables can be checked to.
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../src/db/tables.ts';
import { SCHEMA } from './postgres.ts';

const TABLES: ReadonlyArray<readonly [table: string, columns: string, order: string]> = [
  [
    'connections',
    'id, organization_id, connection_type, name, state, created_at, updated_at, deleted_at, raw, last_event_id',
    'id',
  ],
  ['connection_domains', 'id, connection_id, domain', 'id'],
  [
    'connection_certificates',
    'connection_id, certificate_type, organization_id, expiry_date, is_expired, days_until_expiry, ' +
      'renewed_at, renewal_required_at, version_at, source, last_event_id, fingerprint, subject',
    'connection_id, certificate_type',
  ],
  ['events', 'id, event, created_at, data, context, outcome, error', 'seq'],
];

export async function mirrorDigest(db: Kysely<Database>): Promise<string> {
  const parts: string[] = [];
  for (const [table, columns, order] of TABLES) {
    const { rows } = await sql<{ digest: string | null }>`select md5(string_agg((${sql.raw(columns)})::text,
      E'\\n' order by ${sql.raw(order)})) as digest from ${sql.raw(`${SCHEMA}.${table}`)}`.execute(db);
    parts.push(`${table}:${rows[0]?.digest ?? 'empty'}`);
  }
  return parts.join(' ');
}
