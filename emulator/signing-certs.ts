/**
 * SAML signing certificates as the model holds them: synchronous and cheap, so mutations never
 * wait on cryptography. Their rendering into a real X.509 PEM for `options.signing_cert` happens
 * only when a response is rendered (`signing-cert-pems.ts`).
 */

/** A generated certificate: served as a real PEM whose `validTo` is `notAfter` (to the second). */
export interface SigningCertificate {
  notAfter: Date;
  /** The subject's CN, e.g. `idp.acme.com` (the certificate's subject is `CN=<subject>`). */
  subject: string;
}

/** Text served verbatim as `signing_cert` (e.g. `'not a pem'`): a certificate no parser accepts. */
export interface RawSigningCertificate {
  raw: string;
}

/** What mutations accept: `subject` defaults to one derived from the connection; `null` removes it. */
export type SigningCertificateInput = { notAfter: Date; subject?: string } | RawSigningCertificate | null;

/** How a connection record holds its certificate (immutable; replaced, never edited). */
export type StoredSigningCertificate =
  | { readonly notAfterMs: number; readonly subject: string }
  | { readonly raw: string }
  | null;

/** What the default subject is derived from. */
interface CertificateOwner {
  id: string;
  organizationId: string | undefined;
  domains: ReadonlyArray<{ domain: string }>;
}

/** `idp.<first domain>`, else `idp.<organization id>`, else `idp.<connection id>`. */
export function defaultSubject(owner: CertificateOwner): string {
  return `idp.${(owner.domains[0]?.domain ?? owner.organizationId ?? owner.id).toLowerCase()}`;
}

/** Validates and freezes a mutation's input; `fallbackSubject` fills a missing subject. */
export function storeSigningCertificate(
  input: SigningCertificateInput,
  fallbackSubject: () => string,
): StoredSigningCertificate {
  if (input === null) return null;
  if ('raw' in input) {
    if (typeof input.raw !== 'string') throw new TypeError('signing certificate: raw must be a string');
    return Object.freeze({ raw: input.raw });
  }
  const notAfterMs = input.notAfter instanceof Date ? input.notAfter.getTime() : Number.NaN;
  if (!Number.isFinite(notAfterMs)) throw new TypeError('signing certificate: notAfter must be a valid Date');
  const subject = input.subject ?? fallbackSubject();
  if (subject.length === 0) throw new TypeError('signing certificate: subject must not be empty');
  return Object.freeze({ notAfterMs, subject });
}

/** The public (copied) form of a stored certificate. */
export function describeSigningCertificate(
  stored: StoredSigningCertificate,
): SigningCertificate | RawSigningCertificate | null {
  if (stored === null) return null;
  if ('raw' in stored) return { raw: stored.raw };
  return { notAfter: new Date(stored.notAfterMs), subject: stored.subject };
}
