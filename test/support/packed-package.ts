/**
 * The package as users get it: `npm pack` of this checkout (which builds it, through `prepack`),
 * and a new project that installs the tarball with npm, offline.
 *
 * Offline needs care. `npm install <tarball>` resolves the package's dependencies afresh, and
 * npm 11 reads full registry documents to do that, while the `npm ci` that filled the cache read
 * only abbreviated ones (and a fresh resolution may pick a release newer than the one cached). So
 * the new project gets a package-lock.json first: this repository's, cut down to the production
 * tree. npm then installs exactly the versions CI tests, from the tarballs `npm ci` cached.
 */
import { type ExecFileOptions, execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const root = fileURLToPath(new URL('../..', import.meta.url));
const exec = promisify(execFile);

interface LockEntry {
  readonly dev?: boolean;
}
interface PackageJson {
  readonly name: string;
  readonly version: string;
  readonly license: string;
  readonly bin: Record<string, string>;
  readonly engines: Record<string, string>;
  readonly dependencies: Record<string, string>;
}

export const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;

/**
 * npm and npx run by `node` (the first `node` on PATH is what `#!/usr/bin/env node` finds, npm's
 * and the package's bin alike), with nothing from the environment that runs the tests but the
 * npm cache it uses.
 */
export function npmEnv(node: string): NodeJS.ProcessEnv {
  return {
    PATH: [dirname(node), process.env.PATH].join(delimiter),
    HOME: process.env.HOME,
    LOG_LEVEL: 'warn',
    npm_config_update_notifier: 'false',
    ...(process.env.npm_config_cache ? { npm_config_cache: process.env.npm_config_cache } : {}),
  };
}

export function run(
  file: string,
  args: readonly string[],
  options: ExecFileOptions,
): Promise<{ stdout: string; stderr: string }> {
  return exec(file, args, { maxBuffer: 16 * 1024 * 1024, ...options, encoding: 'utf8' });
}

/** `npm pack` of this checkout into `destination`; the tarball's path. */
export async function pack(destination: string, node: string): Promise<string> {
  await run('npm', ['pack', '--pack-destination', destination], { cwd: root, env: npmEnv(node) });
  const [tarball, ...others] = readdirSync(destination).filter((name) => name.endsWith('.tgz'));
  if (!tarball || others.length > 0) throw new Error(`npm pack left ${readdirSync(destination).join(', ')}`);
  return join(destination, tarball);
}

/**
 * A new project in `dir` that depends on nothing yet, with a lockfile pinning what installing
 * `tarball` will add: the package and this repository's production dependency tree.
 */
export function writeConsumerProject(dir: string, tarball: string): void {
  const spec = `file:${relative(dir, tarball)}`;
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const { name, version, license, bin, engines, dependencies } = packageJson;
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', dependencies: { [name]: spec } },
    [`node_modules/${name}`]: { version, resolved: spec, license, dependencies, bin, engines },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path !== '' && !entry.dev) packages[path] = entry;
  }
  const manifest = { name: 'consumer', private: true, type: 'module', dependencies: { [name]: spec } };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(
    join(dir, 'package-lock.json'),
    `${JSON.stringify({ name: 'consumer', lockfileVersion: 3, requires: true, packages }, null, 2)}\n`,
  );
}
