/**
 * `.env.example` and the README's configuration table, written from the settings' rows
 * (src/config/settings.ts), so that neither can drift from the code: `npm run docs:settings`
 * rewrites both, `--check` only says whether they are current (test/settings-docs.test.ts
 * holds them to the rows). Only the README's lines between the two markers are ever touched.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SETTINGS } from '../src/config.ts';

export const ENV_EXAMPLE = fileURLToPath(new URL('../.env.example', import.meta.url));
export const README = fileURLToPath(new URL('../README.md', import.meta.url));

export const TABLE_START =
  '<!-- settings:start: generated from the rows of src/config/settings.ts; `npm run docs:settings` rewrites this table and .env.example -->';
export const TABLE_END = '<!-- settings:end -->';

const code = (text: string) => `\`${text}\``;
const COLUMNS = 100;

export function renderTable(): string {
  const rows = SETTINGS.map((s) => {
    const shown = s.default === undefined ? s.unset : code(String(s.default));
    return `| ${code(s.name)} | ${shown} | ${s.description} | ${s.option === null ? '—' : code(s.option)} |`;
  });
  return ['| variable | default | meaning | library option |', '|---|---|---|---|', ...rows].join('\n');
}

export function renderEnvExample(): string {
  const header = comment(
    "workos-sync's settings, as the command line reads them from its environment (`cp .env.example .env`); an empty value is unset. Written from the rows of src/config/settings.ts by `npm run docs:settings`: change them there.",
  );
  const settings = SETTINGS.map((s) => `${comment(sentence(s.description))}\n${s.name}=${s.default ?? ''}`);
  return `${header}\n\n${settings.join('\n')}\n`;
}

/** The README with its table replaced by the rows' (the rest of the file as it is). */
export function withTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END, start);
  if (start < 0 || end < 0) throw new Error(`README.md has no ${TABLE_START} … ${TABLE_END} markers`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${renderTable()}\n${readme.slice(end)}`;
}

/** The Markdown description as a sentence of plain text: links as their text. */
function sentence(markdown: string): string {
  const text = markdown.replace(/\[([^\]]+)\]\([^)]+\)/g, '$1');
  return `${text[0]!.toUpperCase()}${text.slice(1)}${text.endsWith('.') ? '' : '.'}`;
}

/** `# ` lines, wrapped at 100 columns, never inside a `code span`. */
function comment(text: string): string {
  const lines: string[] = [];
  let line = '#';
  for (const word of text.match(/(?:`[^`]*`|[^ `])+/g) ?? []) {
    if (line.length + 1 + word.length > COLUMNS && line !== '#') {
      lines.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  return [...lines, line].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  const stale: string[] = [];
  for (const [file, wanted] of [
    [ENV_EXAMPLE, renderEnvExample()],
    [README, withTable(readFileSync(README, 'utf8'))],
  ] as const) {
    if (readFileSync(file, 'utf8') === wanted) continue;
    stale.push(file);
    if (!check) writeFileSync(file, wanted);
  }
  if (check && stale.length > 0) {
    process.stderr.write(`not what the settings' rows say (npm run docs:settings): ${stale.join(', ')}\n`);
    process.exitCode = 1;
  }
}
