/**
 * A real Postgres for the test suite, in order of preference:
 *   1. TEST_DATABASE_URL, when set;
 *   2. Testcontainers, when a container runtime answers;
 *   3. a throwaway cluster from the machine's PostgreSQL binaries (initdb + postgres, unix
 *      socket only, run as the `postgres` user when we are root), tied to this process's life.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PostgresServer {
  readonly url: string;
  readonly kind: 'external' | 'testcontainers' | 'binaries';
  stop(): Promise<void>;
}

export const TEMP_PREFIX = 'workos-sync-pg-';
export const OWNER_FILE = 'owner.pid';

export async function startPostgres(): Promise<PostgresServer> {
  const external = process.env.TEST_DATABASE_URL;
  if (external) return { url: external, kind: 'external', stop: async () => {} };
  const container = await tryTestcontainers();
  if (container) return container;
  return startFromBinaries();
}

async function tryTestcontainers(): Promise<PostgresServer | undefined> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    // A socket that accepts but never answers would hang the probe: bound it.
    await withTimeout(getContainerRuntimeClient(), 5_000);
  } catch {
    return undefined;
  }
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const container = await new PostgreSqlContainer('postgres:16-alpine').start();
  return {
    url: container.getConnectionUri(),
    kind: 'testcontainers',
    stop: async () => void (await container.stop()),
  };
}

/** A cluster of our own that a test may stop and start again (a database outage). */
export interface RestartablePostgres extends PostgresServer {
  /** Fast shutdown: connections are cut, the data stays. */
  pause(): Promise<void>;
  resume(): Promise<void>;
}

export async function startFromBinaries(): Promise<RestartablePostgres> {
  sweepStaleClusters();
  const bin = findBinDir();
  const dir = mkdtempSync(join(tmpdir(), TEMP_PREFIX));
  // Marks whose cluster this is, so a concurrent run's sweep leaves it alone while we live.
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? lookupUser('postgres') : undefined;
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8'],
    {
      stdio: 'pipe',
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    },
  );
  // setpriv makes the server die with this process even on SIGKILL; no orphans between runs.
  const args = [
    '--pdeathsig',
    'QUIT',
    '--',
    join(bin, 'postgres'),
    '-D',
    data,
    '-k',
    dir,
    '-c',
    'listen_addresses=',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=200',
  ];
  const url = `postgres://postgres@localhost/postgres?host=${encodeURIComponent(dir)}&port=5432`;
  const launch = async () => {
    const child = spawn('setpriv', args, {
      stdio: 'ignore',
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    await waitUntilReady(url, child);
    return child;
  };
  let child: ChildProcess | undefined = await launch();
  return {
    url,
    kind: 'binaries',
    async pause() {
      if (child) await stopChild(child);
      child = undefined;
    },
    async resume() {
      child ??= await launch();
    },
    async stop() {
      if (child) await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function findBinDir(): string {
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    const root = '/usr/lib/postgresql';
    const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
    if (versions[0]) return join(root, versions[0], 'bin');
    throw new Error('no PostgreSQL binaries found: install Debian`s postgresql, or set TEST_DATABASE_URL');
  }
}

export function lookupUser(name: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

export async function waitUntilReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`postgres exited with code ${child.exitCode}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  throw new Error('postgres did not become ready within 30 s');
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGINT');
  });
}

/**
 * Clusters left by a run that was killed: the test process that made them and their postmaster
 * are both gone, their folder is not. Other runs' live clusters (even mid-initdb) are kept.
 */
function sweepStaleClusters(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    if (pidAlive(join(dir, OWNER_FILE)) || pidAlive(join(dir, 'data', 'postmaster.pid'))) continue;
    rmSync(dir, { recursive: true, force: true });
  }
}

function pidAlive(file: string): boolean {
  if (!existsSync(file)) return false;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  return pid > 0 && isAlive(pid);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
