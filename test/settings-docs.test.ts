/**
 * `.env.example` and the README's configuration table say what the settings' rows say
 * (src/config/settings.ts): `npm run docs:settings` rewrites both from the rows.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ENV_EXAMPLE,
  README,
  renderEnvExample,
  renderTable,
  TABLE_END,
  TABLE_START,
} from '../scripts/settings-docs.ts';
import { loadConfig } from '../src/config.ts';

describe('written from the rows (npm run docs:settings)', () => {
  it('.env.example', () => {
    expect(readFileSync(ENV_EXAMPLE, 'utf8'), 'run `npm run docs:settings`').toBe(renderEnvExample());
  });

  it('the README`s configuration table, in the Configuration section', () => {
    const readme = readFileSync(README, 'utf8');
    const start = readme.indexOf(TABLE_START);
    const end = readme.indexOf(TABLE_END, start);
    expect(start, 'the README has the settings table markers').toBeGreaterThan(0);
    expect(readme.slice(start + TABLE_START.length, end), 'run `npm run docs:settings`').toBe(
      `\n${renderTable()}\n`,
    );
    const section = readme.indexOf('\n## Configuration\n');
    expect(section).toBeGreaterThan(0);
    expect(start).toBeGreaterThan(section);
    expect(readme.indexOf('\n## ', section + 1)).toBeGreaterThan(end);
  });
});

it('.env.example, copied to .env as it is, configures the defaults', () => {
  const env = Object.fromEntries(
    [...readFileSync(ENV_EXAMPLE, 'utf8').matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]),
  );
  expect(loadConfig(env)).toEqual(loadConfig({}));
});
