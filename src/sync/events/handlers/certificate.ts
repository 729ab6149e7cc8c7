/**
 * The two SAML certificate events. A certificate is versioned by event time (`versions.ts`, rule
 * 6): news older than what the mirror holds for (connection, certificate type) does not change it.
 *
 * `renewed_at` and `renewal_required_at` describe the certificate the row holds: a renewal to a
 * new expiry clears when renewal was last required (that notice was about the old certificate),
 * and a notice about a certificate the row did not hold clears when it was renewed. Because a
 * listing (reconciliation) cannot tell those timestamps, an event older than a listed row that
 * shows the same certificate still adds them; so the result is the same whether the listing or
 * the events came first (backfill reconciles first, a live worker the other way round).
 */
import {
  certificateRenewalRequired,
  certificateRenewed,
  type ParsedCertificateRenewalRequired,
  type ParsedCertificateRenewed,
} from '../../../workos/schemas.ts';
import { type CertificateState, type MirrorView, NO_ROWS, sameExpiry } from '../../mirror/rows.ts';
import { certificateTakes } from '../../mirror/versions.ts';
import { type Decision, defineHandler, type HandledEvent } from './types.ts';

type CertificatePayload = ParsedCertificateRenewed | ParsedCertificateRenewalRequired;

/** What one event says: about the certificate, and about when things happened. */
interface Report {
  readonly expiry_date: Date;
  readonly is_expired: boolean;
  readonly days_until_expiry: number | null;
  readonly renewed_at: Date | null;
  readonly renewal_required_at: Date | null;
}

function touches(data: CertificatePayload) {
  return { ...NO_ROWS, certificates: [[data.connection.id, data.certificate.certificate_type] as const] };
}

function decide(event: HandledEvent<CertificatePayload>, mirror: MirrorView, report: Report): Decision {
  const { connection, certificate } = event.data;
  const stored = mirror.certificate(connection.id, certificate.certificate_type);
  const sameCertificate = stored !== undefined && sameExpiry(stored.expiry_date, report.expiry_date);

  if (stored && !certificateTakes(stored, event.created_at)) {
    if (stored.source !== 'listing' || !sameCertificate)
      return { outcome: 'stale', reason: 'the stored certificate is newer' };
    const row: CertificateState = {
      ...stored,
      // the same certificate: the event's milliseconds are more precise than X.509's seconds
      expiry_date: report.expiry_date,
      renewed_at: latest(stored.renewed_at, report.renewed_at),
      renewal_required_at: latest(stored.renewal_required_at, report.renewal_required_at),
      days_until_expiry:
        report.renewal_required_at &&
        (!stored.renewal_required_at || report.renewal_required_at >= stored.renewal_required_at)
          ? report.days_until_expiry
          : stored.days_until_expiry,
    };
    const unchanged =
      sameInstant(row.expiry_date, stored.expiry_date) &&
      sameInstant(row.renewed_at, stored.renewed_at) &&
      sameInstant(row.renewal_required_at, stored.renewal_required_at) &&
      row.days_until_expiry === stored.days_until_expiry;
    if (unchanged) return { outcome: 'stale', reason: 'the stored certificate is newer' };
    return { outcome: 'applied', writes: [{ kind: 'certificate', row }] };
  }

  const row: CertificateState = {
    connection_id: connection.id,
    certificate_type: certificate.certificate_type,
    organization_id: connection.organization_id ?? stored?.organization_id ?? null,
    expiry_date: report.expiry_date,
    is_expired: report.is_expired,
    days_until_expiry: report.days_until_expiry,
    renewed_at: report.renewed_at ?? (sameCertificate ? (stored?.renewed_at ?? null) : null),
    renewal_required_at:
      report.renewal_required_at ?? (sameCertificate ? (stored?.renewal_required_at ?? null) : null),
    version_at: event.created_at,
    source: 'event',
    last_event_id: event.id,
    // An event names no certificate: keep what a listing told of this one.
    fingerprint: sameCertificate ? (stored?.fingerprint ?? null) : null,
    subject: sameCertificate ? (stored?.subject ?? null) : null,
  };
  return { outcome: 'applied', writes: [{ kind: 'certificate', row }] };
}

export const certificateRenewedHandler = defineHandler<ParsedCertificateRenewed>({
  schema: certificateRenewed,
  touches,
  decide: (event, mirror) =>
    decide(event, mirror, {
      expiry_date: event.data.certificate.expiry_date,
      is_expired: event.data.certificate.expiry_date <= event.data.renewed_at,
      // The count a renewal_required event reported was about the certificate just replaced.
      days_until_expiry: null,
      renewed_at: event.data.renewed_at,
      renewal_required_at: null,
    }),
});

export const certificateRenewalRequiredHandler = defineHandler<ParsedCertificateRenewalRequired>({
  schema: certificateRenewalRequired,
  touches,
  decide: (event, mirror) =>
    decide(event, mirror, {
      expiry_date: event.data.certificate.expiry_date,
      is_expired: event.data.certificate.is_expired ?? event.data.certificate.expiry_date <= event.created_at,
      days_until_expiry: event.data.days_until_expiry ?? null,
      renewed_at: null,
      renewal_required_at: event.created_at,
    }),
});

function latest(a: Date | null | undefined, b: Date | null): Date | null {
  if (!a) return b;
  if (!b) return a;
  return a >= b ? a : b;
}

function sameInstant(a: Date | null | undefined, b: Date | null | undefined): boolean {
  return (a?.getTime() ?? null) === (b?.getTime() ?? null);
}
