/**
 * The two SAML certificate events. A certificate is versioned by event time: news older than
 * what the mirror holds for (connection, certificate type) is stale. Each event type sets its own
 * fields and keeps the other's (a renewal keeps when renewal was last required, and vice versa).
 */
import {
  certificateRenewalRequired,
  certificateRenewed,
  type ParsedCertificateRenewalRequired,
  type ParsedCertificateRenewed,
} from '../../workos/schemas.ts';
import type { CertificateState, MirrorView } from '../mirror.ts';
import { type Decision, defineHandler, type HandledEvent } from './types.ts';

type CertificatePayload = ParsedCertificateRenewed | ParsedCertificateRenewalRequired;

function touches(data: CertificatePayload) {
  return {
    connections: [],
    certificates: [[data.connection.id, data.certificate.certificate_type] as const],
  };
}

function decideCertificate(
  event: HandledEvent<CertificatePayload>,
  mirror: MirrorView,
  fields: (
    stored: CertificateState | undefined,
  ) => Omit<
    CertificateState,
    | 'connection_id'
    | 'certificate_type'
    | 'organization_id'
    | 'version_at'
    | 'source'
    | 'last_event_id'
    | 'fingerprint'
    | 'subject'
  >,
): Decision {
  const { connection, certificate } = event.data;
  const stored = mirror.certificate(connection.id, certificate.certificate_type);
  if (stored && stored.version_at > event.created_at) {
    return { outcome: 'stale', reason: 'the stored certificate is newer' };
  }
  const row: CertificateState = {
    connection_id: connection.id,
    certificate_type: certificate.certificate_type,
    organization_id: connection.organization_id ?? stored?.organization_id ?? null,
    ...fields(stored),
    version_at: event.created_at,
    source: 'event',
    last_event_id: event.id,
    // An event names no certificate; a renewal replaces the one the listing described.
    fingerprint: event.event === 'connection.saml_certificate_renewed' ? null : (stored?.fingerprint ?? null),
    subject: event.event === 'connection.saml_certificate_renewed' ? null : (stored?.subject ?? null),
  };
  return { outcome: 'applied', writes: [{ kind: 'certificate', row }] };
}

export const certificateRenewedHandler = defineHandler<ParsedCertificateRenewed>({
  schema: certificateRenewed,
  touches,
  decide: (event, mirror) =>
    decideCertificate(event, mirror, (stored) => ({
      expiry_date: event.data.certificate.expiry_date,
      is_expired: event.data.certificate.expiry_date <= event.data.renewed_at,
      // The count a renewal_required event reported was about the certificate just replaced.
      days_until_expiry: null,
      renewed_at: event.data.renewed_at,
      renewal_required_at: stored?.renewal_required_at ?? null,
    })),
});

export const certificateRenewalRequiredHandler = defineHandler<ParsedCertificateRenewalRequired>({
  schema: certificateRenewalRequired,
  touches,
  decide: (event, mirror) =>
    decideCertificate(event, mirror, (stored) => ({
      expiry_date: event.data.certificate.expiry_date,
      is_expired: event.data.certificate.is_expired ?? event.data.certificate.expiry_date <= event.created_at,
      days_until_expiry: event.data.days_until_expiry ?? null,
      renewed_at: stored?.renewed_at ?? null,
      renewal_required_at: event.created_at,
    })),
});
