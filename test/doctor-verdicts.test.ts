/** `doctor`'s conclusions (src/commands/doctor/verdicts.ts), by table: measurement → status. */
import { describe, expect, it } from 'vitest';
import {
  type CheckStatus,
  certificatesVerdict,
  clockVerdict,
  cursorVerdict,
  keyVerdict,
  migrationsVerdict,
  type Privileges,
  privilegesVerdict,
  webhookSecretVerdict,
} from '../src/commands/doctor/verdicts.ts';

describe('clocks against WorkOS', () => {
  it.each<[number, CheckStatus]>([
    [0, 'ok'],
    [5_000, 'ok'],
    [-5_000, 'ok'],
    [5_001, 'warn'],
    [-60_000, 'warn'],
    [120_000, 'warn'],
    [120_001, 'fail'],
    [-600_000, 'fail'],
  ])('%i ms off: %s', (offsetMs, status) => {
    expect(clockVerdict('host', offsetMs).status).toBe(status);
    expect(clockVerdict('database', offsetMs).status).toBe(status);
  });

  it('says which way, and how far', () => {
    expect(clockVerdict('host', 600_000).message).toMatch(
      /^this host's clock is 600\.0 s ahead of WorkOS's: webhook signatures/,
    );
    expect(clockVerdict('database', -30_000).message).toMatch(
      /^the database's clock is 30\.0 s behind WorkOS's/,
    );
  });
});

describe('the cursor against WorkOS retention', () => {
  it.each<[{ id: string; ageDays: number | null } | null, 'served' | 'refused', CheckStatus]>([
    [null, 'served', 'ok'],
    [{ id: 'event_1', ageDays: 1 }, 'served', 'ok'],
    [{ id: 'event_1', ageDays: 30 }, 'served', 'ok'],
    [{ id: 'event_1', ageDays: 30.1 }, 'served', 'warn'],
    [{ id: 'event_1', ageDays: null }, 'served', 'ok'],
    [{ id: 'event_1', ageDays: 1 }, 'refused', 'fail'],
    [{ id: 'event_1', ageDays: 400 }, 'refused', 'fail'],
  ])('%j %s: %s', (cursor, probe, status) => {
    expect(cursorVerdict(cursor, probe).status).toBe(status);
  });
});

describe('the API key', () => {
  it.each<[string, string, CheckStatus, RegExp]>([
    ['sk_live_abc', 'default', 'ok', /production/],
    ['sk_test_abc', 'default', 'ok', /a test environment/],
    ['sk_live_abc', 'production', 'ok', /production/],
    ['sk_test_abc', 'staging', 'ok', /test/],
    ['sk_test_abc', 'production', 'warn', /for the environment named "production"/],
    ['sk_live_abc', 'staging', 'warn', /for the environment named "staging"/],
    ['sk_live_abc', 'dev', 'warn', /"dev"/],
    ['sk_abc', 'production', 'ok', /its prefix does not say/],
    ['pk_abc', 'default', 'warn', /does not look like a WorkOS secret key/],
  ])('%s for %s: %s', (key, environment, status, message) => {
    const verdict = keyVerdict(key, environment);
    expect(verdict.status).toBe(status);
    expect(verdict.message).toMatch(message);
    expect(verdict.message).not.toContain('abc'); // the key itself is never printed
  });
});

describe('the webhook secret', () => {
  it.each<[string | undefined, CheckStatus]>([
    [undefined, 'ok'],
    ['whsec_0123456789abcdef', 'ok'],
    ['"whsec_0123456789abcdef"', 'fail'],
    ["whsec_0123456789abcdef'", 'fail'],
    ['whsec_0123 456789abcdef', 'fail'],
    ['whsec_01234', 'warn'],
  ])('%j: %s', (secret, status) => {
    const verdict = webhookSecretVerdict(secret);
    expect(verdict.status).toBe(status);
    if (secret) expect(verdict.message).not.toContain(secret.replace(/["']/g, ''));
  });
});

it.each<[number, number, CheckStatus]>([
  [0, 0, 'ok'],
  [1, 0, 'warn'],
  [0, 3, 'warn'],
])('certificates: %i expired, %i within 30 days: %s', (expired, within30Days, status) => {
  expect(certificatesVerdict({ expired, within30Days }).status).toBe(status);
});

describe("the role's rights", () => {
  const writer: Privileges = {
    role: 'sync',
    schema: 'workos',
    schemaExists: true,
    createSchema: false,
    usage: true,
    create: false,
    tables: 13,
    lacking: [],
  };
  it.each<[string, Partial<Privileges>, readonly string[], CheckStatus, RegExp]>([
    ['a writer, migrated', {}, [], 'ok', /reads and writes workos's 13 tables, no DDL/],
    ['an owner', { create: true }, [], 'ok', /may migrate workos/],
    ['an owner, migrations pending', { create: true }, ['0008_x'], 'ok', /may migrate/],
    [
      'a writer, migrations pending',
      {},
      ['0008_x'],
      'fail',
      /1 migrations are pending, and role sync may not create/,
    ],
    ['no usage', { usage: false }, [], 'fail', /no USAGE on schema workos/],
    [
      'a reader',
      { lacking: ['connections', 'events', 'leases', 'sync_state'] },
      [],
      'fail',
      /may not read and write connections, events, leases, … \(4\)/,
    ],
    ['no schema, may create it', { schemaExists: false, createSchema: true }, [], 'ok', /does not exist yet/],
    [
      'no schema, may not create it',
      { schemaExists: false },
      [],
      'fail',
      /does not exist, and role sync may not create it/,
    ],
  ])('%s', (_case, change, pending, status, message) => {
    const verdict = privilegesVerdict({ ...writer, ...change }, pending);
    expect(verdict.status).toBe(status);
    expect(verdict.message).toMatch(message);
    expect(verdict.status === 'ok' || verdict.fix !== undefined).toBe(true);
  });
});

it.each<[Parameters<typeof migrationsVerdict>[0], CheckStatus]>([
  [{ schemaExists: true, applied: 7, pending: [], awaitingFinalize: [] }, 'ok'],
  [{ schemaExists: false, applied: 0, pending: ['0001_initial'], awaitingFinalize: [] }, 'warn'],
  [{ schemaExists: true, applied: 5, pending: ['0006_environments'], awaitingFinalize: [] }, 'warn'],
  [{ schemaExists: true, applied: 6, pending: [], awaitingFinalize: ['0007_environment_keys'] }, 'warn'],
])('migrations %j: %s', (m, status) => {
  expect(migrationsVerdict(m).status).toBe(status);
});
