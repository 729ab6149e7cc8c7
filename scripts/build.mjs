// `npm run build`: dist/ from nothing — the compiled CLI, library (with .d.ts) and migrations, and
// the bin shim (write-bin.mjs). dist/ is emptied first, so a module deleted from src/ cannot
// linger in the package.
//
// `npm pack` and `npm publish` run it through `prepack`, not `prepare`: `prepare` would also run
// on every `npm ci` / `npm install` in a clone (CI, each engineer, the Dockerfile's build stage)
// to compile a dist/ nothing there uses — the tests build their own and development runs the
// sources through tsx — and a type error would then break installing the dependencies. The one
// case `prepare` serves, installing from a git URL, is not a way we ship: install the packed
// tarball (or the registry's copy), which contains dist/.
//
// No source maps: the package ships no TypeScript to map back to, the CLI does not start Node
// with --enable-source-maps, and the emitted JavaScript is the sources minus their types (target
// ES2023: nothing is down-levelled), so a stack trace's line already reads like the source's.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const outDir = process.argv[2] ?? 'dist';
rmSync(outDir, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], { stdio: 'inherit' });
execFileSync(process.execPath, [new URL('write-bin.mjs', import.meta.url).pathname, outDir], {
  stdio: 'inherit',
});
