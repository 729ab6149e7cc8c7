/** The certificate report: every live connection's SAML certificates, most urgent first. */
import type { Kysely, Selectable } from 'kysely';
import type { Database, ExpiringCertificatesView } from '../db/tables.ts';

export type CertificateReportRow = Pick<
  Selectable<ExpiringCertificatesView>,
  | 'organization_id'
  | 'connection_id'
  | 'connection_name'
  | 'certificate_type'
  | 'expiry_date'
  | 'days_left'
  | 'is_expired'
  | 'renewed_at'
  | 'renewal_required_at'
  | 'source'
>;

/** With `withinDays`, only the certificates that expire within that many days (or already have). */
export async function listCertificates(
  db: Kysely<Database>,
  options: { readonly withinDays?: number | undefined } = {},
): Promise<CertificateReportRow[]> {
  let query = db
    .selectFrom('expiring_certificates')
    .select([
      'organization_id',
      'connection_id',
      'connection_name',
      'certificate_type',
      'expiry_date',
      'days_left',
      'is_expired',
      'renewed_at',
      'renewal_required_at',
      'source',
    ])
    .orderBy('expiry_date')
    .orderBy('connection_id');
  if (options.withinDays !== undefined) query = query.where('days_left', '<', options.withinDays);
  return query.execute();
}

/** `30d`, `12h` (rounded up to whole days), or a number of days; null when it is none of those. */
export function parseDays(value: string | number): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : null;
  const match = /^(\d+)\s*([dh]?)$/i.exec(value.trim());
  if (!match) return null;
  const n = Number(match[1]);
  return match[2]?.toLowerCase() === 'h' ? Math.ceil(n / 24) : n;
}
