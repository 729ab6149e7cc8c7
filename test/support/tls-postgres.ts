/**
 * A throwaway Postgres cluster that serves TLS on localhost, for the tests of `sslmode` and the
 * CA setting: a CA and a server certificate for `localhost` it signed (only that name, so a
 * connection to 127.0.0.1 fails a host-name check), made with the machine's openssl; another CA
 * that signed nothing; a login role with a password (SCRAM) owning a database. It serves either
 * TLS only (`hostssl` lines alone in pg_hba.conf) or no TLS at all (`ssl = off`), switched by a
 * reload. Its folder is named and marked like postgres-server.ts's, whose sweep removes it
 * after a killed run.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  findBinDir,
  lookupUser,
  OWNER_FILE,
  stopChild,
  TEMP_PREFIX,
  waitUntilReady,
} from './postgres-server.ts';
import { freePort } from './worker-process.ts';

export interface TlsPostgres {
  readonly port: number;
  /** The CA that signed the server's certificate. */
  readonly caFile: string;
  /** A CA that signed nothing the server has. */
  readonly otherCaFile: string;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** A URL for the role, on `localhost` (or `host`), with these query parameters. */
  url(params?: Record<string, string>, host?: string): string;
  /** A URL for the role over the cluster's Unix-domain socket (trusted), with these parameters. */
  socketUrl(params?: Record<string, string>): string;
  /** `only`: TLS connections only (hostssl); `off`: ssl = off, plaintext connections only. */
  serve(tls: 'only' | 'off'): Promise<void>;
  stop(): Promise<void>;
}

export async function startTlsPostgres(): Promise<TlsPostgres> {
  const bin = findBinDir();
  const dir = mkdtempSync(join(tmpdir(), TEMP_PREFIX));
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  const user = process.getuid?.() === 0 ? lookupUser('postgres') : undefined;
  const asServer = user ? { uid: user.uid, gid: user.gid } : {};
  if (user) chownSync(dir, user.uid, user.gid);

  const certs = makeCertificates(join(dir, 'certs'));
  // Postgres refuses a key file others can read, or that another user owns.
  chmodSync(certs.serverKey, 0o600);
  if (user) chownSync(certs.serverKey, user.uid, user.gid);

  const data = join(dir, 'data');
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8'],
    { stdio: 'pipe', ...asServer },
  );
  const port = await freePort();
  const admin = `postgres://postgres@localhost/postgres?host=${encodeURIComponent(dir)}&port=${port}`;
  const tlsConf = join(data, 'tls.conf');
  const hbaConf = join(data, 'pg_hba.conf');
  const configure = (tls: 'only' | 'off') => {
    const method = tls === 'only' ? 'hostssl' : 'host';
    writeFileSync(tlsConf, `ssl = ${tls === 'only' ? 'on' : 'off'}\n`);
    writeFileSync(
      hbaConf,
      [
        'local all all trust',
        `${method} all all 127.0.0.1/32 scram-sha-256`,
        `${method} all all ::1/128 scram-sha-256`,
        '',
      ].join('\n'),
    );
    if (user) {
      chownSync(tlsConf, user.uid, user.gid);
      chownSync(hbaConf, user.uid, user.gid);
    }
  };
  configure('only');
  writeFileSync(
    join(data, 'postgresql.conf'),
    `\nssl_cert_file = '${certs.serverCert}'\nssl_key_file = '${certs.serverKey}'\ninclude 'tls.conf'\n`,
    { flag: 'a' },
  );

  const child: ChildProcess = spawn(
    'setpriv',
    [
      '--pdeathsig',
      'QUIT',
      '--',
      join(bin, 'postgres'),
      '-D',
      data,
      '-k',
      dir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=localhost',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ],
    { stdio: 'ignore', ...asServer },
  );
  await waitUntilReady(admin, child);

  const role = { user: 'sync', password: 'tls-test-pw-4f9c1e', database: 'mirror' };
  await withAdmin(admin, async (client) => {
    await client.query(`create role ${role.user} login password '${role.password}'`);
    await client.query(`create database ${role.database} owner ${role.user}`);
  });

  return {
    port,
    caFile: certs.caCert,
    otherCaFile: certs.otherCaCert,
    ...role,
    url(params = {}, host = 'localhost') {
      const url = new URL(`postgres://${role.user}:${role.password}@${host}:${port}/${role.database}`);
      for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
      return url.toString();
    },
    socketUrl(params = {}) {
      const url = new URL(`postgres://${role.user}@localhost/${role.database}`);
      url.searchParams.set('host', dir);
      url.searchParams.set('port', String(port));
      for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
      return url.toString();
    },
    async serve(tls) {
      configure(tls);
      await withAdmin(admin, (client) => client.query('select pg_reload_conf()'));
      // The postmaster rereads its files on SIGHUP, asynchronously: new sessions show when it has.
      const want = tls === 'only' ? 'on' : 'off';
      for (let i = 0; i < 100; i++) {
        const now = await withAdmin(admin, async (client) => (await client.query('show ssl')).rows[0].ssl);
        if (now === want) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`the TLS cluster did not switch to ssl = ${want}`);
    },
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Certificates {
  readonly caCert: string;
  readonly otherCaCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

/** EC keys: as good for this as RSA, and generated in milliseconds. */
function makeCertificates(dir: string): Certificates {
  mkdirSync(dir, { recursive: true });
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string, cn: string) =>
    openssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-subj',
      `/CN=${cn}`,
      '-days',
      '2',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
  ca('ca', 'workos-sync test CA');
  ca('other-ca', 'workos-sync other test CA');
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    'server.crt',
    '-extfile',
    'san.cnf',
  );
  return {
    caCert: join(dir, 'ca.crt'),
    otherCaCert: join(dir, 'other-ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
  };
}

async function withAdmin<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
