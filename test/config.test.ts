/**
 * Configuration: parsed once, frozen, one clear error per bad setting — and the README and
 * .env.example list exactly the settings the code knows.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, SETTINGS, secretsOf } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';

const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
const known = SETTINGS.map((s) => s.name).sort();

describe('the documented settings are the settings', () => {
  it('README configuration table', () => {
    const readme = read('README.md');
    // The section, up to the next heading.
    const start = readme.indexOf('## Configuration');
    const table = readme.slice(start, readme.indexOf('\n## ', start + 1));
    const documented = [...table.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!);
    expect([...new Set(documented)].sort()).toEqual(known);
  });

  it('.env.example', () => {
    const listed = [...read('.env.example').matchAll(/^([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!).sort();
    expect(listed).toEqual(known);
  });

  it('defaults in the README are the code`s', () => {
    const readme = read('README.md');
    for (const setting of SETTINGS) {
      if (setting.default === undefined || setting.name.startsWith('WORKOS_SYNC_HTTP_')) continue;
      expect(readme, setting.name).toContain(`| \`${setting.name}\` | \`${setting.default}\` |`);
    }
  });
});

describe('loadConfig', () => {
  it('applies defaults, lets flags win over the environment, and freezes the result', () => {
    const config = loadConfig(
      { WORKOS_SYNC_SCHEMA: 'from_env', LOG_LEVEL: 'debug' },
      { WORKOS_SYNC_SCHEMA: 'from_flag' },
    );
    expect(config.database.schema).toBe('from_flag');
    expect(config.logLevel).toBe('debug');
    expect(config.workos.apiUrl).toBe('https://api.workos.com/');
    expect(config.http).toEqual({ host: '127.0.0.1', port: 9464, basicAuth: null });
    expect(config.leaseTtlMs).toBe(30_000);
    expect(Object.isFrozen(config) && Object.isFrozen(config.database)).toBe(true);
  });

  it.each([
    ['WORKOS_SYNC_SCHEMA', 'Public'],
    ['WORKOS_SYNC_SCHEMA', 'x; drop table'],
    ['DATABASE_URL', 'mysql://x'],
    ['WORKOS_API_URL', 'ftp://x'],
    ['WORKOS_SYNC_POLL_CRON', '* *'],
    ['WORKOS_SYNC_HTTP_PORT', '-1'],
    ['WORKOS_SYNC_LEASE_SECONDS', '0'],
    ['LOG_LEVEL', 'verbose'],
  ])('%s=%s is one error naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name} `));
  });

  it('a password with a stray % is one error naming DATABASE_URL, without the password', () => {
    const load = () => loadConfig({ DATABASE_URL: 'postgres://u:50%off-pw@h/db' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(
      /^DATABASE_URL has a malformed percent-escape in its password: write a literal % as %25/,
    );
    try {
      load();
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('off-pw');
    }
    expect(secretsOf(loadConfig({ DATABASE_URL: 'postgres://u:50%25off-pw@h/db' }))).toContain('50%off-pw');
  });

  it('knows which values are secrets', () => {
    const config = loadConfig({
      WORKOS_API_KEY: 'sk_test_abc123',
      DATABASE_URL: 'postgres://u:p%40ss-word@h/db',
    });
    expect(secretsOf(config)).toEqual(expect.arrayContaining(['sk_test_abc123', 'p%40ss-word', 'p@ss-word']));
  });

  it('WORKOS_SYNC_HTTP_BASIC_AUTH: user:password, its password and header secrets, a bad one named without its value', () => {
    const config = loadConfig({ WORKOS_SYNC_HTTP_BASIC_AUTH: 'prometheus:s3cret:with-colon' });
    expect(config.http.basicAuth).toEqual({ username: 'prometheus', password: 's3cret:with-colon' });
    expect(secretsOf(config)).toEqual(
      expect.arrayContaining([
        's3cret:with-colon',
        Buffer.from('prometheus:s3cret:with-colon').toString('base64'),
      ]),
    );
    expect(loadConfig({}).http.basicAuth).toBeNull();
    for (const [value, message] of [
      ['no-colon-here', 'WORKOS_SYNC_HTTP_BASIC_AUTH must be user:password'],
      [':only-a-password', 'WORKOS_SYNC_HTTP_BASIC_AUTH must be user:password'],
      ['user:', 'WORKOS_SYNC_HTTP_BASIC_AUTH must be user:password'],
      ['user:short', "WORKOS_SYNC_HTTP_BASIC_AUTH's password must be at least 8 characters"],
    ]) {
      const load = () => loadConfig({ WORKOS_SYNC_HTTP_BASIC_AUTH: value });
      expect(load).toThrow(ConfigError);
      expect(load).toThrow(message!);
      try {
        load();
      } catch (error) {
        if (value!.length > 5) expect((error as Error).message).not.toContain(value!.split(':').pop());
      }
    }
  });
});

describe('TLS to Postgres: sslmode and WORKOS_SYNC_PG_SSL_CA', () => {
  const dir = mkdtempSync(join(tmpdir(), 'workos-sync-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // Any well-formed certificate will do for the file checks (these tests connect nowhere).
  const caFile = join(dir, 'ca.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, 'ca.key'),
      '-out',
      caFile,
      '-subj',
      '/CN=config test CA',
      '-days',
      '1',
    ],
    { stdio: 'pipe' },
  );
  const notCa = join(dir, 'not-ca.pem');
  writeFileSync(notCa, 'not a certificate: s3cret-contents\n');
  const url = (query: string) => `postgres://u:pw-secret@db.internal/app${query}`;
  const tlsOf = (env: Record<string, string>) => {
    const target = loadConfig(env).database.target;
    return target.kind === 'url' ? target.tls : undefined;
  };

  it('reads the mode from the URL (libpq`s default prefer) and the CA once, here', () => {
    expect(tlsOf({ DATABASE_URL: url('') })).toEqual({ mode: 'prefer', ca: undefined, caFile: undefined });
    expect(tlsOf({ DATABASE_URL: url('?sslmode=verify-full'), WORKOS_SYNC_PG_SSL_CA: caFile })).toEqual({
      mode: 'verify-full',
      ca: readFileSync(caFile, 'utf8'),
      caFile,
    });
    expect(tlsOf({ DATABASE_URL: url(`?sslmode=verify-ca&sslrootcert=${caFile}`) })).toMatchObject({
      mode: 'verify-ca',
      caFile,
    });
  });

  it.each([
    [
      url('?sslmode=verify-everything'),
      /^DATABASE_URL has sslmode=verify-everything: use one of disable, prefer, require, verify-ca, verify-full$/,
    ],
    [
      url('?sslmode=no-verify'),
      /^DATABASE_URL has sslmode=no-verify: .*\(pg's no-verify is sslmode=require here/,
    ],
    [url('?sslmode=allow'), /^DATABASE_URL has sslmode=allow: .*allow is not supported/],
    [url('?ssl=true'), /^DATABASE_URL has ssl=…: use sslmode=require \(or verify-full\) instead of ssl=$/],
    [
      url('?sslcert=/c.pem&sslkey=/k.pem'),
      /^DATABASE_URL has sslcert=…: client certificates are not supported$/,
    ],
    [url('?sslrootcert=system'), /^DATABASE_URL has sslrootcert=system: leave sslrootcert out/],
    [
      url('?sslmode=verify-ca'),
      /^DATABASE_URL has sslmode=verify-ca but no CA to verify against: set WORKOS_SYNC_PG_SSL_CA/,
    ],
    [
      url('?sslrootcert=/nonexistent.pem'),
      /^DATABASE_URL names an sslrootcert file that cannot be read \(ENOENT\): \/nonexistent\.pem$/,
    ],
  ])('%s is one error naming DATABASE_URL, without the password', (value, message) => {
    const load = () => loadConfig({ DATABASE_URL: value });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(message);
    expect(() => load()).not.toThrow(/pw-secret/);
  });

  it('a CA file that is missing, or holds no certificate, is one error naming the setting and the path only', () => {
    const load =
      (file: string, databaseUrl = url('?sslmode=verify-full')) =>
      () =>
        loadConfig({ DATABASE_URL: databaseUrl, WORKOS_SYNC_PG_SSL_CA: file });
    expect(load(join(dir, 'missing.pem'))).toThrow(
      new ConfigError(
        `WORKOS_SYNC_PG_SSL_CA names a file that cannot be read (ENOENT): ${join(dir, 'missing.pem')}`,
      ),
    );
    expect(load(dir)).toThrow(/^WORKOS_SYNC_PG_SSL_CA names a file that cannot be read \(EISDIR\)/);
    expect(load(notCa)).toThrow(
      new ConfigError(
        `WORKOS_SYNC_PG_SSL_CA names a file that holds no PEM certificate (-----BEGIN CERTIFICATE-----): ${notCa}`,
      ),
    );
    const broken = join(dir, 'broken.pem');
    writeFileSync(
      broken,
      `${readFileSync(caFile, 'utf8')}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`,
    );
    expect(load(broken)).toThrow(/holds a certificate that does not parse \(the 2nd in the file\)/);
    expect(load(caFile, url(`?sslrootcert=${notCa}`))).toThrow(
      /^WORKOS_SYNC_PG_SSL_CA and the sslrootcert of DATABASE_URL name different CA files: give one$/,
    );
    expect(load(caFile, url(`?sslmode=verify-full&sslrootcert=${caFile}`))()).toMatchObject({
      database: { target: { tls: { mode: 'verify-full', caFile } } },
    });
    expect(() => loadConfig({ WORKOS_SYNC_PG_SSL_CA: caFile })).toThrow(
      /^WORKOS_SYNC_PG_SSL_CA is set, but DATABASE_URL is not/,
    );
  });
});
