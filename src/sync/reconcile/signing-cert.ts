/**
 * A SAML connection's `options.signing_cert` (PEM) → the facts the mirror keeps of it. Pure.
 * It is the one place outside events where a certificate's expiry can be read.
 */
import { X509Certificate } from 'node:crypto';

export interface SigningCertificate {
  readonly expiry_date: Date;
  readonly fingerprint: string;
  readonly subject: string;
}

export type SigningCertificateResult =
  | { readonly status: 'absent' }
  | { readonly status: 'parsed'; readonly certificate: SigningCertificate }
  | { readonly status: 'unparsable'; readonly error: string };

export function parseSigningCertificate(options: unknown): SigningCertificateResult {
  const pem =
    typeof options === 'object' && options !== null
      ? (options as { signing_cert?: unknown }).signing_cert
      : undefined;
  if (pem === undefined || pem === null || pem === '') return { status: 'absent' };
  if (typeof pem !== 'string') return { status: 'unparsable', error: 'signing_cert is not a string' };
  try {
    const x509 = new X509Certificate(pem);
    const expiry = new Date(x509.validTo);
    if (Number.isNaN(expiry.getTime()))
      return { status: 'unparsable', error: `unreadable validTo "${x509.validTo}"` };
    return {
      status: 'parsed',
      certificate: {
        expiry_date: expiry,
        fingerprint: x509.fingerprint256,
        subject: x509.subject.replaceAll('\n', ', '),
      },
    };
  } catch (error) {
    return { status: 'unparsable', error: error instanceof Error ? error.message : String(error) };
  }
}
