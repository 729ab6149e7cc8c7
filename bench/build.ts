/**
 * The command line compiled as `npm run build` compiles it, into node_modules/.cache (out of the
 * way of dist/), for the figures that run `workos-sync` in child processes as users run it
 * (`node dist/cli.js`): peak RSS, the fleet. Compiled once per benchmark run.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BUILD = join(ROOT, 'node_modules', '.cache', 'workos-sync-bench');
/** The compiled CLI's entry. */
export const CLI = join(BUILD, 'src', 'cli.js');

let compiled = false;

/** Compiles the sources into BUILD unless this run already has; a few seconds. */
export function compileCli(): void {
  if (compiled) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  // Type checking is the test suite's job; this only needs the JavaScript.
  execFileSync(
    process.execPath,
    [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', BUILD, '--noCheck', '--sourceMap', 'false'],
    { cwd: ROOT, stdio: 'pipe' },
  );
  compiled = true;
}
