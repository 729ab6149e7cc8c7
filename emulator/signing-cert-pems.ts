/**
 * Renders a SAML signing certificate (`signing-certs.ts`) into a real self-signed X.509 PEM for
 * `options.signing_cert`: asynchronous, done when a response is rendered, never inside the model.
 *
 * Rendering uses `@peculiar/x509` over WebCrypto: one ECDSA P-256 key pair per process, made on
 * first use and reused for every certificate. A certificate costs a few milliseconds (the library's
 * ASN.1 encoding in JavaScript), so PEMs are cached by (subject, notAfter, notBefore): a listing of
 * 50,000 connections that share a few hundred (subject, expiry) pairs renders each pair once.
 */
import { createHash, webcrypto } from 'node:crypto';
import type { RawSigningCertificate, SigningCertificate } from './signing-certs.ts';

const DAY_MS = 86_400_000;
const YEAR_MS = 365 * DAY_MS;

type X509Module = typeof import('@peculiar/x509');
/** The library types its provider as the DOM's `Crypto`; Node's `webcrypto` is that object. */
type CryptoProviderArg = Parameters<X509Module['X509CertificateGenerator']['createSelfSigned']>[1];

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/** Far more than any scenario's distinct (subject, expiry) pairs; past it the cache starts over. */
const MAX_CACHED = 20_000;
/** Certificates rendered together while warming the cache. */
const WARM_BATCH = 8;

let x509Module: Promise<X509Module> | undefined;
let keyPair: Promise<webcrypto.CryptoKeyPair> | undefined;

/** Rendered PEMs, or renders in flight, by (subject, notAfter, notBefore). */
const pems = new Map<string, string | Promise<string>>();

/**
 * `@peculiar/x509` resolves its internals through tsyringe, which refuses to load without the
 * Reflect metadata API (the library's README asks for `reflect-metadata` or another polyfill). The
 * project has no such dependency, so the three functions tsyringe calls are supplied here, before
 * the library is first imported, and only where no polyfill is installed already.
 */
function ensureReflectMetadata(): void {
  const reflect = Reflect as unknown as Record<string, unknown>;
  if (typeof reflect.getMetadata === 'function') return;
  const metadata = new WeakMap<object, Map<unknown, unknown>>();
  const own = (key: unknown, target: object) => metadata.get(target)?.get(key);
  reflect.defineMetadata = (key: unknown, value: unknown, target: object) => {
    const entries = metadata.get(target) ?? new Map<unknown, unknown>();
    entries.set(key, value);
    metadata.set(target, entries);
  };
  reflect.getOwnMetadata = own;
  reflect.getMetadata = (key: unknown, target: object) => {
    for (let at: object | null = target; at !== null; at = Object.getPrototypeOf(at)) {
      if (metadata.get(at)?.has(key)) return own(key, at);
    }
    return undefined;
  };
}

/** Loads `@peculiar/x509` once; a failed load is retried by the next call. */
function loadX509(): Promise<X509Module> {
  if (!x509Module) {
    ensureReflectMetadata();
    x509Module = import('@peculiar/x509');
    x509Module.catch(() => {
      x509Module = undefined;
    });
  }
  return x509Module;
}

/** The process's one key pair, made on first use; a failure is retried by the next call. */
function loadKeys(): Promise<webcrypto.CryptoKeyPair> {
  if (!keyPair) {
    keyPair = webcrypto.subtle.generateKey(ALGORITHM, false, ['sign', 'verify']);
    keyPair.catch(() => {
      keyPair = undefined;
    });
  }
  return keyPair;
}

/** 16 bytes of SHA-256 over (subject, notAfter): positive, no leading zero byte, never all zeros. */
function serialNumber(subject: string, notAfterMs: number): string {
  const bytes = createHash('sha256')
    .update(`${subject}\u0000${new Date(notAfterMs).toISOString()}`)
    .digest();
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x40;
  return bytes.subarray(0, 16).toString('hex');
}

/**
 * `notAfter − 365 days`, or earlier when that would still lie ahead of `now` (the day before
 * `now`, at midnight UTC), so a listed certificate is always already valid.
 */
function notBeforeOf(notAfterMs: number, now: Date): number {
  const dayBeforeNow = Math.floor(now.getTime() / DAY_MS) * DAY_MS - DAY_MS;
  return Math.min(notAfterMs - YEAR_MS, dayBeforeNow);
}

async function generate(subject: string, notAfterMs: number, notBeforeMs: number): Promise<string> {
  const [x509, keys] = await Promise.all([loadX509(), loadKeys()]);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serialNumber(subject, notAfterMs),
      // The JSON form of a name needs no escaping of `,`, `=` or `+` in the subject.
      name: [{ CN: [subject] }],
      notBefore: new Date(notBeforeMs),
      notAfter: new Date(notAfterMs),
      signingAlgorithm: ALGORITHM,
      keys,
    },
    webcrypto as CryptoProviderArg,
  );
  return certificate.toString('pem');
}

/**
 * The `signing_cert` value of a certificate at time `now` (the model's clock): the PEM of a
 * generated one (a string when cached, else a promise of it), raw text verbatim, or null.
 */
export function renderSigningCert(
  certificate: SigningCertificate | RawSigningCertificate | null,
  now: Date,
): string | null | Promise<string> {
  if (certificate === null) return null;
  if ('raw' in certificate) return certificate.raw;
  const { subject } = certificate;
  const notAfterMs = certificate.notAfter.getTime();
  const notBeforeMs = notBeforeOf(notAfterMs, now);
  const key = `${subject}\u0000${notAfterMs}\u0000${notBeforeMs}`;
  const cached = pems.get(key);
  if (cached !== undefined) return cached;
  if (pems.size >= MAX_CACHED) pems.clear();
  const pending = generate(subject, notAfterMs, notBeforeMs).then(
    (pem) => {
      if (pems.get(key) === pending) pems.set(key, pem);
      return pem;
    },
    (error: unknown) => {
      if (pems.get(key) === pending) pems.delete(key);
      throw error;
    },
  );
  pems.set(key, pending);
  return pending;
}

/** Connections as the wire shows them: SAML ones carry `options.signing_cert`. */
interface RenderableConnection {
  id: string;
  options?: { signing_cert: string | null };
}

/**
 * Fills `options.signing_cert` of each SAML connection in place, from `certificateOf(id)`. Cached
 * PEMs are set synchronously; only certificates not rendered before are awaited (together).
 */
export async function fillSigningCerts(
  connections: readonly RenderableConnection[],
  certificateOf: (id: string) => SigningCertificate | RawSigningCertificate | null,
  now: Date,
): Promise<void> {
  const pending: Promise<void>[] = [];
  for (const connection of connections) {
    const options = connection.options;
    if (!options) continue;
    const value = renderSigningCert(certificateOf(connection.id), now);
    if (typeof value === 'string' || value === null) options.signing_cert = value;
    else
      pending.push(
        value.then((pem) => {
          options.signing_cert = pem;
        }),
      );
  }
  if (pending.length > 0) await Promise.all(pending);
}

/**
 * Renders certificates a few at a time (WebCrypto signs off the main thread while the next one is
 * encoded), each distinct one once, so that listings find them cached; requests are served in
 * between. Never rejects (a failed render is retried by the listing that needs it).
 */
export async function warmSigningCerts(
  certificates: Iterable<SigningCertificate | RawSigningCertificate | null>,
  now: Date,
): Promise<void> {
  const batch: Promise<unknown>[] = [];
  for (const certificate of certificates) {
    const value = renderSigningCert(certificate, now);
    if (!(value instanceof Promise)) continue;
    batch.push(value.catch(() => undefined));
    if (batch.length >= WARM_BATCH) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
}

/** For tests and benchmarks: how many PEMs are cached (settled or in flight). */
export function signingCertCacheSize(): number {
  return pems.size;
}
