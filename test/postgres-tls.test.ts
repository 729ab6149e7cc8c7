/**
 * TLS to Postgres, libpq's way: `sslmode` in DATABASE_URL means what it means to psql (pg 8 would
 * make `require` verify everything, and fail `prefer` against a server without TLS), and
 * WORKOS_SYNC_PG_SSL_CA (`database.sslCa`) trusts a private CA. One real cluster for the file,
 * serving TLS with a certificate for `localhost` signed by a CA made here with openssl; what the
 * server says about each session (`pg_stat_ssl`) is the evidence. Through `openDatabase`, the
 * library and the CLI (`status`, a child process).
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/connect.ts';
import { ConfigError } from '../src/errors.ts';
import { createWorkosSync } from '../src/index.ts';
import { runCli } from './support/cli.ts';
import { silentLogger } from './support/logs.ts';
import { startTlsPostgres, type TlsPostgres } from './support/tls-postgres.ts';

let server: TlsPostgres;

beforeAll(async () => {
  server = await startTlsPostgres();
});
afterAll(() => server?.stop());

/** Connects through the engine as configured, and reports what the server saw of the session. */
async function session(env: Record<string, string | undefined>) {
  const handle = await openDatabase(loadConfig(env).database, silentLogger());
  try {
    // Enough rows that the answer crosses many TLS records and socket reads, both ways of prefer.
    const { rows } = await sql<{ ssl: boolean; bytes: number }>`
      select s.ssl, (select sum(length(repeat('x', 1000) || g))::int from generate_series(1, 2000) g) as bytes
      from pg_stat_ssl s where s.pid = pg_backend_pid()`.execute(handle.db);
    return rows[0]!;
  } finally {
    await handle.close();
  }
}

async function failure(env: Record<string, string | undefined>): Promise<Error> {
  const error = await session(env).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected the connection to fail').toBeInstanceOf(Error);
  expect((error as Error).message).not.toContain(server.password);
  return error as Error;
}

const encrypted = { ssl: true, bytes: expect.any(Number) };

describe('against a server that takes TLS connections only', () => {
  it('verify-full with the CA that signed the server`s certificate connects, encrypted', async () => {
    expect(
      await session({
        DATABASE_URL: server.url({ sslmode: 'verify-full' }),
        WORKOS_SYNC_PG_SSL_CA: server.caFile,
      }),
    ).toEqual(encrypted);
    // libpq's own parameter for the same file
    expect(
      await session({ DATABASE_URL: server.url({ sslmode: 'verify-full', sslrootcert: server.caFile }) }),
    ).toEqual(encrypted);
  });

  it('verify-full with another CA fails, naming the certificate problem and the CA', async () => {
    const error = await failure({
      DATABASE_URL: server.url({ sslmode: 'verify-full' }),
      WORKOS_SYNC_PG_SSL_CA: server.otherCaFile,
    });
    expect(error.message).toMatch(
      /^TLS to Postgres failed \(sslmode=verify-full, trusting the CA in .*other-ca\.crt\): the server's certificate is not signed by a trusted CA — unable to verify the first certificate \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/,
    );
    // and without a CA, against Node's public roots, the private CA is not trusted either
    expect((await failure({ DATABASE_URL: server.url({ sslmode: 'verify-full' }) })).message).toMatch(
      /trusting Node's built-in root CAs\): the server's certificate is not signed by a trusted CA/,
    );
  });

  it('verify-full checks the host name, verify-ca only the chain', async () => {
    // The certificate names localhost only; 127.0.0.1 is the same server under another name.
    const byIp = (sslmode: string) => server.url({ sslmode }, '127.0.0.1');
    const error = await failure({ DATABASE_URL: byIp('verify-full'), WORKOS_SYNC_PG_SSL_CA: server.caFile });
    expect(error.message).toMatch(
      /the server's certificate does not name the host connected to — .*127\.0\.0\.1.*\(ERR_TLS_CERT_ALTNAME_INVALID\)/,
    );
    expect(await session({ DATABASE_URL: byIp('verify-ca'), WORKOS_SYNC_PG_SSL_CA: server.caFile })).toEqual(
      encrypted,
    );
    expect(
      (await failure({ DATABASE_URL: byIp('verify-ca'), WORKOS_SYNC_PG_SSL_CA: server.otherCaFile })).message,
    ).toMatch(/not signed by a trusted CA/);
  });

  it('require without a CA encrypts and verifies nothing; with a CA it checks the chain, as libpq', async () => {
    expect(await session({ DATABASE_URL: server.url({ sslmode: 'require' }) })).toEqual(encrypted);
    // pg's own reading of the same URL would verify it all, and fail here.
    expect(await session({ DATABASE_URL: server.url({ sslmode: 'require' }, '127.0.0.1') })).toEqual(
      encrypted,
    );
    expect(
      await session({
        DATABASE_URL: server.url({ sslmode: 'require' }),
        WORKOS_SYNC_PG_SSL_CA: server.caFile,
      }),
    ).toEqual(encrypted);
    const error = await failure({
      DATABASE_URL: server.url({ sslmode: 'require' }),
      WORKOS_SYNC_PG_SSL_CA: server.otherCaFile,
    });
    expect(error.message).toMatch(/^TLS to Postgres failed \(sslmode=require, .*not signed by a trusted CA/);
  });

  it('prefer, and no sslmode at all (libpq`s default), use the TLS the server offers', async () => {
    expect(await session({ DATABASE_URL: server.url({ sslmode: 'prefer' }) })).toEqual(encrypted);
    expect(await session({ DATABASE_URL: server.url() })).toEqual(encrypted);
    expect(
      (
        await failure({
          DATABASE_URL: server.url({ sslmode: 'prefer' }),
          WORKOS_SYNC_PG_SSL_CA: server.otherCaFile,
        })
      ).message,
    ).toMatch(/^TLS to Postgres failed \(sslmode=prefer, .*not signed by a trusted CA/);
  });

  it('disable is refused by the server, and the error says what to change', async () => {
    const error = await failure({ DATABASE_URL: server.url({ sslmode: 'disable' }) });
    expect(error.message).toMatch(
      /^Postgres refused a connection without TLS \(sslmode=disable\): no pg_hba\.conf entry for host "127\.0\.0\.1", user "sync", database "mirror", no encryption — if the server takes only TLS connections, set sslmode=require or verify-full in DATABASE_URL$/,
    );
    expect((error as { code?: string }).code).toBe('28000');
  });

  it('a Unix-domain socket never uses TLS, whatever the mode (libpq`s rule)', async () => {
    const plain = { ssl: false, bytes: expect.any(Number) };
    for (const sslmode of ['require', 'verify-full']) {
      expect(
        await session({ DATABASE_URL: server.socketUrl({ sslmode }), WORKOS_SYNC_PG_SSL_CA: server.caFile }),
      ).toEqual(plain);
    }
  });

  it('the library: database.sslCa trusts the CA, and a bad one is an error naming the option', async () => {
    const url = server.url({ sslmode: 'verify-full' });
    const sync = createWorkosSync({ database: { url, sslCa: server.caFile }, logger: silentLogger() });
    try {
      await sync.migrate();
      expect(await sync.status()).toMatchObject({
        cursor: null,
        database: expect.stringMatching(/^Postgres /),
      });
    } finally {
      await sync.close();
    }
    const missing = () => createWorkosSync({ database: { url, sslCa: '/nonexistent/ca.pem' } });
    expect(missing).toThrow(ConfigError);
    expect(missing).toThrow(
      /^database\.sslCa names a file that cannot be read \(ENOENT\): \/nonexistent\/ca\.pem$/,
    );
  });
});

describe('the CLI over TLS', () => {
  const env = (ca: string | undefined) => ({
    DATABASE_URL: server.url({ sslmode: 'verify-full' }),
    WORKOS_SYNC_PG_SSL_CA: ca,
  });

  it('status: with the right CA exit 0; with another CA exit 1, naming the certificate problem', async () => {
    const ok = await runCli(['status', '--json'], env(server.caFile));
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ cursor: null, quarantined: 0 });

    const wrong = await runCli(['status'], env(server.otherCaFile));
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toMatch(
      /^workos-sync: TLS to Postgres failed \(sslmode=verify-full, trusting the CA in .*other-ca\.crt\): the server's certificate is not signed by a trusted CA — unable to verify the first certificate \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)\n$/,
    );
    expect(wrong.stderr).not.toContain(server.password);
  });

  it('a CA file that cannot be read is exit 2, naming the setting, not showing what a file holds', async () => {
    const missing = await runCli(['status'], env('/nonexistent/ca.pem'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      'workos-sync: WORKOS_SYNC_PG_SSL_CA names a file that cannot be read (ENOENT): /nonexistent/ca.pem\n',
    );
    // a file that is not a certificate (here: the CA's private key, which must not be echoed)
    const notCa = await runCli(['status'], env(server.caFile.replace('ca.crt', 'ca.key')));
    expect(notCa.code).toBe(2);
    expect(notCa.stderr).toMatch(
      /^workos-sync: WORKOS_SYNC_PG_SSL_CA names a file that holds no PEM certificate \(-----BEGIN CERTIFICATE-----\): .*ca\.key\n$/,
    );
    expect(notCa.stderr).not.toContain('PRIVATE KEY');
  });
});

// Last: it switches the server's TLS off.
describe('against a server without TLS', () => {
  beforeAll(() => server.serve('off'));

  it('prefer, and no sslmode, go on in plaintext on the same connection', async () => {
    const plain = { ssl: false, bytes: expect.any(Number) };
    expect(await session({ DATABASE_URL: server.url({ sslmode: 'prefer' }) })).toEqual(plain);
    expect(await session({ DATABASE_URL: server.url() })).toEqual(plain);
    expect(await session({ DATABASE_URL: server.url({ sslmode: 'disable' }) })).toEqual(plain);
  });

  it('require and the verify modes are refused: the server does not offer TLS', async () => {
    for (const sslmode of ['require', 'verify-ca', 'verify-full']) {
      const error = await failure({
        DATABASE_URL: server.url({ sslmode }),
        WORKOS_SYNC_PG_SSL_CA: server.caFile,
      });
      expect(error.message).toBe(
        `TLS to Postgres failed (sslmode=${sslmode}): the server does not offer TLS (use sslmode=prefer or disable to connect without it)`,
      );
    }
  });
});
