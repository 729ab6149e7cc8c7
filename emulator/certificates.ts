/**
 * The certificate state a correct mirror should hold, per (connection, certificate_type), derived
 * from the certificate events the model emitted.
 *
 * Rule: each column holds the value from the newest event that carries it. A renewal carries
 * `expiry_date` and `renewed_at`; a renewal-required carries `expiry_date`, `is_expired`,
 * `days_until_expiry` and (as its event time) `renewal_required_at`. Columns no event has carried
 * yet are null. Rows outlive the deletion of their connection.
 */
import type { CertificateType, WireConnectionEvent } from '../src/workos/wire.ts';

export interface ExpectedCertificate {
  connection_id: string;
  certificate_type: CertificateType;
  organization_id: string | null;
  expiry_date: string;
  is_expired: boolean | null;
  days_until_expiry: number | null;
  renewed_at: string | null;
  renewal_required_at: string | null;
}

export type CertificateEvent = WireConnectionEvent<
  'connection.saml_certificate_renewed' | 'connection.saml_certificate_renewal_required'
>;

export class CertificateBook {
  private readonly rows = new Map<string, ExpectedCertificate>();

  /** Events must arrive in log order (the model applies each as it emits it). */
  apply(event: CertificateEvent): void {
    const { connection, certificate } = event.data;
    const row = this.row(connection.id, certificate.certificate_type, certificate.expiry_date);
    row.organization_id = connection.organization_id ?? row.organization_id;
    row.expiry_date = certificate.expiry_date;
    if (event.event === 'connection.saml_certificate_renewed') {
      row.renewed_at = event.data.renewed_at;
    } else {
      row.is_expired = event.data.certificate.is_expired;
      row.days_until_expiry = event.data.days_until_expiry;
      row.renewal_required_at = event.created_at;
    }
  }

  /** Copies, sorted by connection id then certificate type. */
  all(): ExpectedCertificate[] {
    return [...this.rows.values()]
      .map((row) => ({ ...row }))
      .sort(
        (a, b) =>
          a.connection_id.localeCompare(b.connection_id) ||
          a.certificate_type.localeCompare(b.certificate_type),
      );
  }

  private row(
    connectionId: string,
    certificateType: CertificateType,
    expiryDate: string,
  ): ExpectedCertificate {
    const key = `${connectionId}\u0000${certificateType}`;
    let row = this.rows.get(key);
    if (!row) {
      row = {
        connection_id: connectionId,
        certificate_type: certificateType,
        organization_id: null,
        expiry_date: expiryDate,
        is_expired: null,
        days_until_expiry: null,
        renewed_at: null,
        renewal_required_at: null,
      };
      this.rows.set(key, row);
    }
    return row;
  }
}
