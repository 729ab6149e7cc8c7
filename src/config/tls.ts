/**
 * TLS to Postgres from two settings at once, the connection string's parameters and the CA file:
 * checked together, once, after each has been parsed on its own.
 */
import { readFileSync } from 'node:fs';
import {
  checkCaBundle,
  DEFAULT_SSL_MODE,
  type PostgresTls,
  SSL_MODES,
  type SslMode,
  UNSUPPORTED_URL_PARAMETERS,
} from '../db/tls.ts';
import { ConfigError } from '../errors.ts';

/**
 * The URL's TLS parameters in libpq's meaning (db/tls.ts applies them), and the CA file, read
 * here, once: a file that cannot be read or holds no certificate is an error now, not at the
 * first connection. Messages name the setting and the path, never what the file holds.
 */
export function parseTls(
  urlName: string,
  caName: string,
  url: string,
  caPath: string | undefined,
): PostgresTls {
  const params = new URL(url).searchParams;
  for (const [param, why] of Object.entries(UNSUPPORTED_URL_PARAMETERS)) {
    if (params.has(param)) throw new ConfigError(`${urlName} has ${param}=…: ${why}`);
  }
  const given = params.get('sslmode');
  const mode = (given ?? DEFAULT_SSL_MODE) as SslMode;
  if (!SSL_MODES.includes(mode)) {
    const hint =
      given === 'no-verify'
        ? " (pg's no-verify is sslmode=require here: it encrypts without verifying)"
        : given === 'allow'
          ? ' (allow is not supported: prefer uses TLS whenever the server offers it)'
          : '';
    throw new ConfigError(`${urlName} has sslmode=${given}: use one of ${SSL_MODES.join(', ')}${hint}`);
  }
  const rootCert = params.get('sslrootcert') ?? undefined;
  // The same file twice is one CA (what a caller passes on from a Config it was given).
  if (rootCert !== undefined && caPath !== undefined && rootCert !== caPath) {
    throw new ConfigError(`${caName} and the sslrootcert of ${urlName} name different CA files: give one`);
  }
  if (rootCert === 'system') {
    throw new ConfigError(
      `${urlName} has sslrootcert=system: leave sslrootcert out to trust Node's built-in root CAs`,
    );
  }
  const [subject, file, path] =
    caPath !== undefined ? [caName, 'a file', caPath] : [urlName, 'an sslrootcert file', rootCert];
  let ca: string | undefined;
  if (path !== undefined) {
    try {
      ca = readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new ConfigError(
        `${subject} names ${file} that cannot be read (${typeof code === 'string' ? code : 'unreadable'}): ${path}`,
      );
    }
    const problem = checkCaBundle(ca);
    if (problem) throw new ConfigError(`${subject} names ${file} that ${problem}: ${path}`);
  }
  if (mode === 'verify-ca' && ca === undefined) {
    throw new ConfigError(
      `${urlName} has sslmode=verify-ca but no CA to verify against: set ${caName} (or sslrootcert). Against Node's public root CAs, verify-ca would accept any server with a publicly issued certificate; use verify-full for those`,
    );
  }
  return { mode, ca, caFile: path };
}
