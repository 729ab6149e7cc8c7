/** This package's version, for `--version` and the User-Agent WorkOS sees. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let version: string | undefined;

/**
 * Read once, at run time, from the nearest package.json named workos-sync above this module:
 * ../ from src/, ../../ from dist/src/, further from a build elsewhere (the benchmark compiles the
 * CLI into node_modules/.cache/). `unknown` when there is none.
 */
export function packageVersion(): string {
  if (version !== undefined) return version;
  version = 'unknown';
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (manifest.name === 'workos-sync' && typeof manifest.version === 'string') {
        version = manifest.version as string;
        break;
      }
    } catch {
      // none here (or not readable): look further up
    }
    if (dirname(dir) === dir) break;
  }
  return version;
}
