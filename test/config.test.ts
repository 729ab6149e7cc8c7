/**
 * Configuration: parsed once, frozen, one clear error per bad setting — and the README and
 * .env.example list exactly the settings the code knows.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig, SETTINGS, secretsOf } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';

const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
const known = SETTINGS.map((s) => s.name).sort();

describe('the documented settings are the settings', () => {
  it('README configuration table', () => {
    const readme = read('README.md');
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Health and metrics'));
    const documented = [...table.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!);
    expect([...new Set(documented)].sort()).toEqual(known);
  });

  it('.env.example', () => {
    const listed = [...read('.env.example').matchAll(/^([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!).sort();
    expect(listed).toEqual(known);
  });

  it('defaults in the README are the code`s', () => {
    const readme = read('README.md');
    for (const setting of SETTINGS) {
      if (setting.default === undefined || setting.name.startsWith('WORKOS_SYNC_HTTP_')) continue;
      expect(readme, setting.name).toContain(`| \`${setting.name}\` | \`${setting.default}\` |`);
    }
  });
});

describe('loadConfig', () => {
  it('applies defaults, lets flags win over the environment, and freezes the result', () => {
    const config = loadConfig(
      { WORKOS_SYNC_SCHEMA: 'from_env', LOG_LEVEL: 'debug' },
      { WORKOS_SYNC_SCHEMA: 'from_flag' },
    );
    expect(config.database.schema).toBe('from_flag');
    expect(config.logLevel).toBe('debug');
    expect(config.workos.apiUrl).toBe('https://api.workos.com/');
    expect(config.http).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(config.leaseTtlMs).toBe(30_000);
    expect(Object.isFrozen(config) && Object.isFrozen(config.database)).toBe(true);
  });

  it.each([
    ['WORKOS_SYNC_SCHEMA', 'Public'],
    ['WORKOS_SYNC_SCHEMA', 'x; drop table'],
    ['DATABASE_URL', 'mysql://x'],
    ['WORKOS_API_URL', 'ftp://x'],
    ['WORKOS_SYNC_POLL_CRON', '* *'],
    ['WORKOS_SYNC_HTTP_PORT', '-1'],
    ['WORKOS_SYNC_LEASE_SECONDS', '0'],
    ['LOG_LEVEL', 'verbose'],
  ])('%s=%s is one error naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name} `));
  });

  it('a password with a stray % is one error naming DATABASE_URL, without the password', () => {
    const load = () => loadConfig({ DATABASE_URL: 'postgres://u:50%off-pw@h/db' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(
      /^DATABASE_URL has a malformed percent-escape in its password: write a literal % as %25/,
    );
    try {
      load();
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('off-pw');
    }
    expect(secretsOf(loadConfig({ DATABASE_URL: 'postgres://u:50%25off-pw@h/db' }))).toContain('50%off-pw');
  });

  it('knows which values are secrets', () => {
    const config = loadConfig({
      WORKOS_API_KEY: 'sk_test_abc123',
      DATABASE_URL: 'postgres://u:p%40ss-word@h/db',
    });
    expect(secretsOf(config)).toEqual(expect.arrayContaining(['sk_test_abc123', 'p%40ss-word', 'p@ss-word']));
  });
});
