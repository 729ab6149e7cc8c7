/** `npm run demo`: the zero-setup tour runs offline on the embedded database and exits 0. */
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { runCli } from './support/cli.ts';

it('prints the tour and leaves nothing behind', { timeout: 120_000 }, async () => {
  const result = await runCli(['demo', '--live-seconds', '4'], { LOG_LEVEL: 'info' });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const out = result.stdout;
  for (const section of [
    'A simulated WorkOS environment',
    'Backfill: reconcile against List Connections',
    "the worker polls every 30 s, and each change's webhook makes it poll at once",
    'Reconciliation: what events could not say',
    'Status',
    'Connections by state',
    'Which connection serves a domain (the domain_routes view',
    'SAML certificates expiring within 30 days',
    'To mirror your own WorkOS environment',
  ]) {
    expect(out).toContain(section);
  }
  // the live changes reached the mirror through the worker
  expect(out).toMatch(/is deactivated\n\s+webhook → in Postgres \d+ ms later/);
  // a domain verified: the routing query answers it, with no reconciliation in between
  expect(out).toMatch(
    /verifies (\S+) \(an organization_domain\.verified event, no connection event\)\n\s+webhook → the routing query \(domain_routes\) answers "verified" for \1, no reconciliation, \d+ ms later/,
  );
  expect(out).toMatch(/updated\s+1\n/);
  expect(out).toMatch(/^\s+lag\s+\d+\.\d s$/m);
  const dir = /embedded Postgres \(PGlite\) in (\S+)/.exec(out)?.[1];
  expect(dir).toBeDefined();
  expect(existsSync(dir!)).toBe(false);
});
