/**
 * A release built from the git history: the tree of one commit unpacked into a folder of its own
 * (`git archive`, which leaves no git state behind), the current `node_modules` linked into it,
 * and its own command line run from its own sources through tsx, as test/support/cli.ts runs the
 * current one. Refuses, with the reason, a clone that lacks the commit (a shallow one) and a
 * `node_modules` whose versions are not the ones that release pins.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CliResult, cliEnv, finished } from './cli.ts';
import { freePort, scrapeMetric, until, type WorkerProcess } from './worker-process.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface Release {
  readonly commit: string;
  /** Where its tree was unpacked. */
  readonly dir: string;
  spawnCli(args: readonly string[], env: Record<string, string | undefined>): ChildProcess;
  runCli(args: readonly string[], env: Record<string, string | undefined>): Promise<CliResult>;
  /** Its `run`, with the settings test/support/worker-process.ts gives the current one. */
  startWorker(env: Record<string, string | undefined>): Promise<WorkerProcess>;
  remove(): void;
}

function git(args: readonly string[]): string {
  return execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function hasCommit(commit: string): boolean {
  try {
    git(['cat-file', '-e', `${commit}^{commit}`]);
    return true;
  } catch {
    return false;
  }
}

/**
 * What running that release's CLI needs from `node_modules` (its runtime dependencies and tsx),
 * at the versions it pins, against what is installed; a list of the differences.
 */
function dependencyMismatches(commit: string): string[] {
  const pkg = JSON.parse(git(['show', `${commit}:package.json`])) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const needed: Record<string, string> = { ...pkg.dependencies };
  if (pkg.devDependencies?.tsx) needed.tsx = pkg.devDependencies.tsx;
  const mismatches: string[] = [];
  for (const [name, wanted] of Object.entries(needed)) {
    const manifest = join(root, 'node_modules', name, 'package.json');
    const installed = existsSync(manifest)
      ? (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version
      : 'not installed';
    if (installed !== wanted)
      mismatches.push(`${name}: ${commit} pins ${wanted}, node_modules has ${installed}`);
  }
  return mismatches;
}

export function checkoutRelease(commit: string): Release {
  if (!hasCommit(commit)) {
    const shallow = git(['rev-parse', '--is-shallow-repository']).trim() === 'true';
    throw new Error(
      `the previous release, commit ${commit}, is not in this clone${
        shallow ? ' (a shallow clone: git rev-parse --is-shallow-repository says true)' : ''
      }: this test builds that release from the git history, so clone with full history (git fetch --unshallow)`,
    );
  }
  const mismatches = dependencyMismatches(commit);
  if (mismatches.length > 0)
    throw new Error(
      `the previous release (${commit}) cannot run on this checkout's node_modules, which this test links into it: ${mismatches.join('; ')}`,
    );

  const dir = mkdtempSync(join(tmpdir(), `workos-sync-${commit}-`));
  try {
    execFileSync('sh', ['-c', 'git -C "$0" archive "$1" | tar -x -C "$2"', root, commit, dir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    symlinkSync(realpathSync(join(root, 'node_modules')), join(dir, 'node_modules'), 'dir');
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const cli = join(dir, 'src', 'cli.ts');

  const spawnCli = (args: readonly string[], env: Record<string, string | undefined>) =>
    spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
      cwd: dir,
      env: cliEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  return {
    commit,
    dir,
    spawnCli,
    runCli: (args, env) => finished(spawnCli(args, env)),
    async startWorker(env) {
      const port = await freePort();
      const child = spawnCli(['run'], {
        WORKOS_SYNC_POLL_CRON: '* * * * * *',
        WORKOS_SYNC_RECONCILE_CRON: '0 0 1 1 *',
        WORKOS_SYNC_LEASE_SECONDS: '2',
        WORKOS_SYNC_HTTP_PORT: String(port),
        LOG_LEVEL: 'info',
        ...env,
      });
      let stderr = '';
      child.stderr?.on('data', (chunk) => {
        stderr += chunk;
      });
      const exited = finished(child);
      const url = `http://127.0.0.1:${port}`;
      try {
        await until(
          async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true,
          30_000,
          () => `the ${commit} worker never served /healthz:\n${stderr}`,
        );
      } catch (error) {
        child.kill('SIGKILL');
        throw error;
      }
      return {
        child,
        url,
        exited,
        logs: () => stderr,
        metric: (name, labels) => scrapeMetric(`${url}/metrics`, name, labels),
      };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
