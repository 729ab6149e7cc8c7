/**
 * TLS to a Postgres server with libpq's meaning of `sslmode`, which pg 8 does not give: it treats
 * `prefer`, `require` and `verify-ca` as `verify-full` (unless the URL says `uselibpqcompat=true`),
 * and even then its `prefer` fails against a server without TLS instead of going on in plaintext.
 * So the TLS parameters are taken out of the URL before pg sees it (pg would let them override
 * what we pass) and turned into pg's `ssl` option here — and, for `prefer`, into a socket that
 * negotiates TLS itself (`NegotiatingSocket`).
 */
import { X509Certificate } from 'node:crypto';
import { isIP, Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import type pg from 'pg';

/** libpq's modes, weakest first. (`allow` is not offered: plaintext first is never what one wants.) */
export const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** libpq's default when the URL names no `sslmode`. */
export const DEFAULT_SSL_MODE: SslMode = 'prefer';

export interface PostgresTls {
  readonly mode: SslMode;
  /** The CA certificates (PEM) to trust instead of Node's built-in roots, read at start. */
  readonly ca: string | undefined;
  /** Where they were read from (for messages; never their contents). */
  readonly caFile: string | undefined;
}

/** URL parameters this module reads and takes out; pg never sees them. */
const TLS_URL_PARAMETERS = ['sslmode', 'sslrootcert', 'uselibpqcompat'] as const;

/**
 * Parameters pg would act on by itself (reading files per connection, overriding our `ssl`
 * option) that workos-sync does not support: refused at start rather than half-honoured.
 */
export const UNSUPPORTED_URL_PARAMETERS: Readonly<Record<string, string>> = {
  ssl: 'use sslmode=require (or verify-full) instead of ssl=',
  sslcert: 'client certificates are not supported',
  sslkey: 'client certificates are not supported',
  sslpassword: 'client certificates are not supported',
  sslcrl: 'certificate revocation lists are not supported',
  sslnegotiation: 'only the usual TLS negotiation is supported',
};

/**
 * The certificates of a PEM file, checked: Node accepts any text as a CA and then fails every
 * connection with a puzzling verification error, so a file that holds no certificate, or one
 * that does not parse, is refused at start. Returns why not, never the file's contents.
 */
export function checkCaBundle(pem: string): string | undefined {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)';
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch {
      return `holds a certificate that does not parse (the ${ordinal(i + 1)} in the file)`;
    }
  }
  return undefined;
}

/** What a pg.Pool is given for this URL: the connection string without the TLS parameters, and TLS. */
export function pgTlsOptions(
  url: string,
  tls: PostgresTls,
): Pick<pg.PoolConfig, 'connectionString' | 'ssl' | 'stream'> {
  const parsed = new URL(url);
  for (const name of TLS_URL_PARAMETERS) parsed.searchParams.delete(name);
  const connectionString = parsed.toString();
  // libpq uses no TLS on a Unix-domain socket, whatever the mode: the traffic never leaves the host.
  const host = parsed.searchParams.get('host') ?? decodeURIComponent(parsed.hostname);
  if (tls.mode === 'disable' || host.startsWith('/')) return { connectionString, ssl: false };
  const options = tlsOptionsFor(tls);
  if (tls.mode === 'prefer') {
    // pg is told "no TLS" and given a socket that asks for it, and goes on in plaintext if refused.
    return { connectionString, ssl: false, stream: () => new NegotiatingSocket(options) };
  }
  return { connectionString, ssl: options };
}

/**
 * Node's TLS options for a mode. Verification as libpq does it: `verify-full` checks the chain
 * and the host name, `verify-ca` the chain only; `require` and `prefer` check nothing — unless a
 * CA is given, when they check the chain like `verify-ca` (libpq does so when it has a root
 * certificate file). Without a CA, the chain is checked against Node's built-in roots.
 */
function tlsOptionsFor(tls: PostgresTls): ConnectionOptions {
  const ca = tls.ca === undefined ? {} : { ca: tls.ca };
  const chainOnly = { ...ca, rejectUnauthorized: true, checkServerIdentity: () => undefined };
  switch (tls.mode) {
    case 'verify-full':
      return { ...ca, rejectUnauthorized: true };
    case 'verify-ca':
      return chainOnly;
    default:
      return tls.ca === undefined ? { rejectUnauthorized: false } : chainOnly;
  }
}

/** Node's codes for a certificate that failed verification, and what they mean to an operator. */
const CERTIFICATE_PROBLEMS: Readonly<Record<string, string>> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'is not signed by a trusted CA',
  UNABLE_TO_GET_ISSUER_CERT: 'is not signed by a trusted CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'is not signed by a trusted CA',
  SELF_SIGNED_CERT_IN_CHAIN: 'chains up to a CA that is not trusted',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'is self-signed, and not trusted',
  CERT_HAS_EXPIRED: 'has expired',
  CERT_NOT_YET_VALID: 'is not valid yet',
  ERR_TLS_CERT_ALTNAME_INVALID: 'does not name the host connected to',
};

/**
 * A failure to connect, said in terms of the TLS settings when it is about them: the certificate
 * check (with Node's reason and code), a server without TLS, a server that takes only TLS. The
 * original stays as `cause` and its `code` is kept, so the error is classified as before. No
 * password is in any of these: they name the mode, the CA file and the server's own words.
 */
export function explainConnectError(error: unknown, tls: PostgresTls): unknown {
  if (!(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  const mode = `sslmode=${tls.mode}`;
  const trusted = tls.caFile ? `the CA in ${tls.caFile}` : "Node's built-in root CAs";
  let message: string | undefined;
  if (typeof code === 'string' && code in CERTIFICATE_PROBLEMS) {
    message = `TLS to Postgres failed (${mode}, trusting ${trusted}): the server's certificate ${CERTIFICATE_PROBLEMS[code]} — ${error.message} (${code})`;
  } else if (error.message === 'The server does not support SSL connections') {
    message = `TLS to Postgres failed (${mode}): the server does not offer TLS (use sslmode=prefer or disable to connect without it)`;
  } else if (tls.mode === 'disable' && code === '28000' && /no encryption$/.test(error.message)) {
    message = `Postgres refused a connection without TLS (${mode}): ${error.message} — if the server takes only TLS connections, set sslmode=require or verify-full in DATABASE_URL`;
  }
  if (message === undefined) return error;
  return Object.assign(new Error(message, { cause: error }), { code });
}

/** The SSLRequest message: length 8, then the code 1234.5679 (80877103). */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * libpq's `prefer` as a socket for pg: it connects, sends the SSLRequest, and on the server's
 * `S` does the TLS handshake, on its `N` stays in plaintext — on the same connection, as libpq
 * does — and only then tells pg it is connected. pg, configured without TLS, speaks the protocol
 * through it either way. Unlike libpq it does not start over in plaintext after a TLS attempt
 * that failed (a handshake error, a certificate that failed a CA's check): that is an error.
 */
export class NegotiatingSocket extends Duplex {
  readonly #raw = new Socket();
  /** The raw socket (plaintext) or the TLS socket over it, once negotiated. */
  #target: Socket | undefined;

  constructor(private readonly tls: ConnectionOptions) {
    // As net.Socket: the end of the server's stream ends ours.
    super({ allowHalfOpen: false });
  }

  connect(port: number, host: string): this {
    const raw = this.#raw;
    raw.once('error', (error) => this.destroy(error));
    raw.connect(port, host, () => raw.write(SSL_REQUEST));
    raw.once('data', (answer) => {
      // One byte, and nothing after it: bytes a man in the middle slipped in before the
      // handshake would otherwise be read as the server's (CVE-2021-23222).
      if (answer.length !== 1) {
        this.destroy(new Error('the Postgres server sent more than its one-byte answer to the TLS request'));
      } else if (answer[0] === 0x53 /* S */) {
        const secure = tlsConnect({
          ...this.tls,
          socket: raw,
          host,
          // SNI must not carry an IP address (RFC 6066).
          ...(isIP(host) === 0 ? { servername: host } : {}),
        });
        secure.once('error', (error) => this.destroy(error));
        secure.once('secureConnect', () => this.#attach(secure));
      } else if (answer[0] === 0x4e /* N */) {
        this.#attach(raw);
      } else {
        this.destroy(new Error('the Postgres server answered the TLS request with neither yes nor no'));
      }
    });
    return this;
  }

  #attach(target: Socket): void {
    this.#target = target;
    target.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) target.pause();
    });
    target.on('end', () => this.push(null));
    target.on('error', (error) => this.destroy(error));
    target.on('close', () => this.destroy());
    this.emit('connect');
  }

  override _read(): void {
    this.#target?.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    // pg writes only once told it is connected; anything earlier waits for that.
    if (!this.#target) {
      this.once('connect', () => this._write(chunk, encoding, done));
      return;
    }
    this.#target.write(chunk, done);
  }

  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    done: (error?: Error | null) => void,
  ): void {
    this._write(Buffer.concat(chunks.map((c) => c.chunk)), 'binary', done);
  }

  override _final(done: (error?: Error | null) => void): void {
    (this.#target ?? this.#raw).end();
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.#target?.destroy();
    this.#raw.destroy();
    done(error);
  }

  setNoDelay(noDelay?: boolean): this {
    this.#raw.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    this.#raw.setKeepAlive(enable, initialDelay);
    return this;
  }

  ref(): this {
    this.#raw.ref();
    return this;
  }

  unref(): this {
    this.#raw.unref();
    return this;
  }
}

function ordinal(n: number): string {
  return n === 1 ? '1st' : n === 2 ? '2nd' : n === 3 ? '3rd' : `${n}th`;
}
