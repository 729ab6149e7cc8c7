/**
 * A SAML connection's `options.signing_cert` (PEM) → the facts the mirror keeps of it. Pure.
 * It is the one place outside events where a certificate's expiry can be read.
 *
 * Parsing X.509 is the costliest step of a reconciliation (about 70 µs a certificate), and nearly
 * every listed certificate is one the mirror already holds. `readSigningCertificate` recognises
 * those by fingerprint — a hash of the PEM's DER, a few µs — and parses only the others.
 */
import { hash, X509Certificate } from 'node:crypto';

/** The certificate a listing shows (`options.signing_cert`): the identity provider's response-signing one. */
export const LISTED_CERTIFICATE = 'ResponseSigning';

export interface SigningCertificate {
  readonly expiry_date: Date;
  readonly fingerprint: string;
  readonly subject: string;
}

export type SigningCertificateResult =
  | { readonly status: 'absent' }
  | { readonly status: 'parsed'; readonly certificate: SigningCertificate }
  | { readonly status: 'unparsable'; readonly error: string };

/** What the mirror holds of a connection's listed certificate, to recognise it by. */
export interface KnownCertificate {
  readonly fingerprint: string | null;
  readonly expiry_date: Date;
  readonly subject: string | null;
}

/**
 * `parseSigningCertificate`, except that a certificate whose fingerprint is the one `known` was
 * read from is not parsed again: it is that certificate, so it reads as it did then (X.509
 * validity has whole seconds; the mirror may hold the same instant to the millisecond).
 */
export function readSigningCertificate(
  options: unknown,
  known: KnownCertificate | undefined,
): SigningCertificateResult {
  const pem = signingCertOf(options);
  if (known?.fingerprint && known.subject !== null && typeof pem === 'string') {
    if (fingerprintOfPem(pem) === known.fingerprint) {
      const seconds = Math.floor(known.expiry_date.getTime() / 1000) * 1000;
      return {
        status: 'parsed',
        certificate: {
          expiry_date: new Date(seconds),
          fingerprint: known.fingerprint,
          subject: known.subject,
        },
      };
    }
  }
  return parseSigningCertificate(options);
}

/** SHA-256 of the first certificate's DER, as `X509Certificate.fingerprint256` writes it. */
export function fingerprintOfPem(pem: string): string | null {
  const begin = pem.indexOf(PEM_BEGIN);
  const end = begin === -1 ? -1 : pem.indexOf(PEM_END, begin);
  if (end === -1) return null;
  // Node's base64 decoder skips the line breaks.
  const der = Buffer.from(pem.slice(begin + PEM_BEGIN.length, end), 'base64');
  const hex = hash('sha256', der, 'hex').toUpperCase();
  let out = hex.slice(0, 2);
  for (let i = 2; i < hex.length; i += 2) out += `:${hex.slice(i, i + 2)}`;
  return out;
}

const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';
const PEM_END = '-----END CERTIFICATE-----';

function signingCertOf(options: unknown): unknown {
  return typeof options === 'object' && options !== null
    ? (options as { signing_cert?: unknown }).signing_cert
    : undefined;
}

export function parseSigningCertificate(options: unknown): SigningCertificateResult {
  const pem = signingCertOf(options);
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
