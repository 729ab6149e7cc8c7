/**
 * The arrows between src/'s layers point down: the top (cli.ts, commands/, workos-sync.ts,
 * index.ts, the configuration) uses db/, sync/, workos/ and worker/, which take their settings as
 * types of their own and never import the configuration back. And only src/config.ts reads the
 * process's environment.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const src = join(dirname(fileURLToPath(import.meta.url)), '../src');
const modules = readdirSync(src, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.ts'))
  .map((file) => ({ file, text: readFileSync(join(src, file), 'utf8') }));
const TOP = ['cli.ts', 'config.ts', 'config/', 'commands/', 'workos-sync.ts', 'index.ts'];
const isTop = (file: string) =>
  TOP.some((top) => file === top || (top.endsWith('/') && file.startsWith(top)));

it('db/, sync/, workos/ and worker/ import nothing from the top layer', () => {
  const upward = modules
    .filter(({ file }) => /^(db|sync|workos|worker)\//.test(file))
    .flatMap(({ file, text }) =>
      [...text.matchAll(/from '(\.[^']+)'/g)]
        .map((m) => relative(src, resolve(dirname(join(src, file)), m[1]!)))
        .filter(isTop)
        .map((target) => `${file} → ${target}`),
    );
  expect(upward).toEqual([]);
});

it('only src/config.ts reads process.env', () => {
  const readers = modules.filter(({ text }) => /process\.env\b/.test(text)).map(({ file }) => file);
  expect(readers).toEqual(['config.ts']);
});
