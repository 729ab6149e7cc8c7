/**
 * The upsert of one certificate row, whoever learned it (an event or a listing): every column
 * from the incoming row. Callers add the version guard (`version_at`) that decides whether the
 * incoming row may win.
 */
import { excludedColumn } from '../../db/excluded.ts';
import type { ConnectionCertificatesTable } from '../../db/tables.ts';
import { writtenNow } from './versions.ts';

/**
 * `on conflict (connection_id, certificate_type) do update set …`. Only events carry renewal
 * notices: a listing's write (`notices: false`) leaves `renewed_at` and `renewal_required_at` as
 * stored, so a notice an event recorded between the listing's read and its write survives it.
 */
export function takeIncomingCertificate(options: { readonly notices: boolean }) {
  const incoming = excludedColumn<ConnectionCertificatesTable>();
  return {
    organization_id: incoming('organization_id'),
    expiry_date: incoming('expiry_date'),
    is_expired: incoming('is_expired'),
    days_until_expiry: incoming('days_until_expiry'),
    ...(options.notices
      ? { renewed_at: incoming('renewed_at'), renewal_required_at: incoming('renewal_required_at') }
      : {}),
    version_at: incoming('version_at'),
    source: incoming('source'),
    last_event_id: incoming('last_event_id'),
    fingerprint: incoming('fingerprint'),
    subject: incoming('subject'),
    synced_at: writtenNow(),
  };
}
