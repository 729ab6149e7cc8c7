/**
 * The two certificate notices WorkOS emits for a connection (`connection.saml_certificate_renewed`
 * and `…_renewal_required`), and the certificate rows a mirror should derive from them
 * (`certificates.ts`). ResponseSigning notices — renewals and renewal notices alike — of a SAML
 * connection set the expiry of the signing certificate it lists to the event's `expiry_date`,
 * keeping its subject, so the listing and the newest ResponseSigning event always agree; like the
 * other certificate events they leave `updated_at` alone. Other certificate types never touch it.
 */
import type { CertificateType, WireConnectionEvent } from '../src/workos/wire.ts';
import { CertificateBook, type ExpectedCertificate } from './certificates.ts';
import type { ConnectionBook } from './connection-book.ts';
import type { ConnectionFactory } from './connection-factory.ts';
import type { EventLog } from './event-log.ts';
import { type ConnectionRecord, isSamlType, toRenewalRequiredPayload, toRenewedPayload } from './payloads.ts';
import { defaultSubject } from './signing-certs.ts';

export class CertificateEvents {
  private readonly book = new CertificateBook();

  constructor(
    private readonly log: EventLog,
    private readonly connections: ConnectionBook,
    private readonly factory: ConnectionFactory,
  ) {}

  renewed(
    id: string,
    certificateType: CertificateType,
    expiryDate: Date,
    at?: Date,
  ): WireConnectionEvent<'connection.saml_certificate_renewed'> {
    const record = this.connections.require(id);
    const event = this.log.emit('connection.saml_certificate_renewed', at, (createdAt) =>
      toRenewedPayload(record, certificateType, expiryDate, createdAt),
    );
    this.book.apply(event);
    this.followCertificateEvent(record, certificateType, expiryDate);
    return event;
  }

  /** `days_until_expiry` is counted from the event time (floored, ≥ 0); expired ⇔ expiry ≤ event time. */
  renewalRequired(
    id: string,
    certificateType: CertificateType,
    expiryDate: Date,
    at?: Date,
  ): WireConnectionEvent<'connection.saml_certificate_renewal_required'> {
    const record = this.connections.require(id);
    const event = this.log.emit('connection.saml_certificate_renewal_required', at, (createdAt) =>
      toRenewalRequiredPayload(record, certificateType, expiryDate, createdAt),
    );
    this.book.apply(event);
    this.followCertificateEvent(record, certificateType, expiryDate);
    return event;
  }

  /** The certificate rows a correct mirror holds after applying every event. */
  expected(): ExpectedCertificate[] {
    return this.book.all();
  }

  /** ResponseSigning events of SAML connections set the listed certificate's expiry. */
  private followCertificateEvent(record: ConnectionRecord, type: CertificateType, expiryDate: Date): void {
    if (type !== 'ResponseSigning' || !isSamlType(record.connectionType)) return;
    const current = record.signingCert;
    const subject = current !== null && 'subject' in current ? current.subject : defaultSubject(record);
    record.signingCert = this.factory.signingCertificate(record, { notAfter: expiryDate, subject });
  }
}
