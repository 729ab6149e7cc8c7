/**
 * The README's SQL cookbook, run against a synced scenario: every recipe executes, and answers
 * what its question asks.
 */
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateScenario, WorkosModel } from '../emulator/index.ts';
import { poll } from '../src/sync/poll.ts';
import { reconcile } from '../src/sync/reconcile/reconcile.ts';
import { workosConnectionsSource } from '../src/workos/connections-source.ts';
import { workosOrganizationsSource } from '../src/workos/organizations-source.ts';
import { runCli } from './support/cli.ts';
import { noSecrets, silentLogger } from './support/logs.ts';
import { API_KEY, FAST_BACKOFF, type SyncHarness, startHarness } from './support/sync.ts';

interface Recipe {
  readonly question: string;
  readonly query: string;
}

function recipes(): Recipe[] {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.slice(
    readme.indexOf('<!-- cookbook:start -->'),
    readme.indexOf('<!-- cookbook:end -->'),
  );
  return [...section.matchAll(/### (.+)\n\n```sql\n([\s\S]+?)```/g)].map((m) => ({
    question: m[1]!,
    query: m[2]!,
  }));
}

let h: SyncHarness;
let domain: string;
let connectionId: string;
let acme: { organizationId: string; connectionId: string };
const log = silentLogger();
const DAY = 86_400_000;

beforeAll(async () => {
  const model = new WorkosModel({ seed: 31 });
  // Organizations WorkOS knows, whose domains their connections list: Acme's verified domain is
  // served by its active connection; Globex's has no active one; a pending and a failed domain
  // older than a week; a domain two organizations claim. Made silently, before the scenario's
  // history (WorkOS's past beyond the events retained): the listing brings them.
  const past = (days: number) => new Date(Date.now() - days * DAY);
  const old = { at: past(30), silent: true };
  const organization = (
    name: string,
    domains: { domain: string; state: 'verified' | 'pending' | 'failed' }[],
  ) => model.createOrganization({ name, domains, ...old }).data.id;
  const acmeId = organization('Acme Corp', [{ domain: 'acme-corp.example', state: 'verified' }]);
  const acmeConnection = String(
    model.createConnection({ organizationId: acmeId, name: 'Acme Okta', ...old }).id,
  );
  acme = { organizationId: acmeId, connectionId: acmeConnection };
  const globexId = organization('Globex', [
    { domain: 'globex.example', state: 'verified' },
    { domain: 'globex-eu.example', state: 'pending' },
  ]);
  model.createConnection({ organizationId: globexId, name: 'Globex draft', ...old });
  organization('Initech', [{ domain: 'initech.example', state: 'failed' }]);
  organization('Initrode', [{ domain: 'Initech.example', state: 'verified' }]);
  generateScenario(model, { seed: 31, events: 600 });
  model.activate(acme.connectionId);
  // two of the scenario's connections, whose organizations WorkOS does not list
  const [a, b] = model.liveConnections().filter((c) => !model.hasOrganization(String(c.organization_id)));
  model.setDomains(String(a!.id), ['other.example']);
  model.setDomains(String(b!.id), ['other.example']);
  model.activate(String(a!.id));
  model.activate(String(b!.id));
  model.appendRawEvent({
    object: 'event',
    event: 'connection.activated',
    data: { id: 'conn_broken' },
    created_at: new Date().toISOString(),
  });
  model.deactivate(String(b!.id));
  h = await startHarness({ model });
  const reconcileNow = () =>
    reconcile({
      db: h.database.db,
      connections: workosConnectionsSource(h.workos),
      organizations: workosOrganizationsSource(h.workos),
      log,
      scrub: noSecrets,
    });
  await reconcileNow();
  await poll(h.deps(), { backoff: FAST_BACKOFF });
  model.rename(String(a!.id), 'Renamed without an event');
  await reconcileNow();
  domain = 'acme-corp.example';
  connectionId = String(b!.id);
}, 120_000);
afterAll(() => h.close());

async function run(query: string): Promise<Record<string, unknown>[]> {
  const concrete = query
    .replaceAll("'foo-corp.com'", `'${domain}'`)
    .replaceAll("'conn_01EHWNC0FCBHZ3BJ7EGKYXK0E6'", `'${connectionId}'`);
  return (await sql.raw<Record<string, unknown>>(concrete).execute(h.database.db)).rows;
}

it('has at least twelve recipes', () => {
  expect(recipes().length).toBeGreaterThanOrEqual(12);
});

it.each(recipes().map((r) => [r.question, r.query]))('%s', async (question, query) => {
  const rows = await run(query);
  switch (question) {
    case 'Which organisations, by name, have working SSO?':
      expect(rows).toContainEqual(
        expect.objectContaining({
          organization: 'Acme Corp',
          organization_id: acme.organizationId,
          active_connections: '1',
        }),
      );
      expect(rows.map((r) => r.organization)).not.toContain('Globex');
      break;
    case 'Which connection serves a domain?':
      expect(rows).toEqual([
        {
          domain,
          domain_state: 'verified',
          organization_name: 'Acme Corp',
          connection_id: acme.connectionId,
          connection_type: 'OktaSAML',
          connection_state: 'active',
        },
      ]);
      break;
    case 'Which verified domains have no active connection?':
      expect(rows.map((r) => r.domain)).toEqual(['globex.example', 'Initech.example']);
      break;
    case 'Which domain verifications have been pending or failed for more than 7 days?':
      expect(rows.map((r) => [r.domain, r.state])).toEqual(
        expect.arrayContaining([
          ['globex-eu.example', 'pending'],
          ['initech.example', 'failed'],
        ]),
      );
      expect(rows).toHaveLength(2);
      break;
    case 'Which domain is claimed by more than one organization?':
      expect(rows).toEqual([
        { domain: 'initech.example', organizations: '2', claimed_by: 'Initech, Initrode' },
      ]);
      break;
    case 'Which SAML certificates expire in the next 30 days (or already have)?':
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((r) => Number(r.days_left) < 30)).toBe(true);
      break;
    case 'Which connections were deactivated this week?':
      expect(rows.some((r) => r.id === connectionId)).toBe(true);
      break;
    case 'What happened to one connection, and when?':
      // Applied, or stale when the listing read before the events had already seen it (rule 1's tie).
      expect(rows.at(-1)).toMatchObject({
        event: 'connection.deactivated',
        outcome: expect.stringMatching(/^(applied|stale)$/),
      });
      break;
    case 'What drift did the last reconciliation find?':
      expect(rows).toEqual([expect.objectContaining({ status: 'succeeded', updated: 1 })]);
      expect(String(rows[0]!.rows_it_wrote)).toContain('Renamed without an event');
      break;
    case 'How many live connections does each environment have, by state?': {
      const live = await run('select count(*) as n from workos.live_connections');
      expect(new Set(rows.map((r) => r.environment))).toEqual(new Set(['default']));
      expect(rows.reduce((sum, r) => sum + Number(r.connections), 0)).toBe(Number(live[0]!.n));
      break;
    }
    case 'Which events were quarantined, and why?':
      expect(rows).toHaveLength(1);
      expect(String(rows[0]!.error)).toMatch(/data\.connection_type/);
      break;
    default:
      expect(rows.length).toBeGreaterThan(0);
  }
});

it('runs through `workos-sync sql` too', async () => {
  const result = await runCli(['sql', 'select count(*) as live from live_connections', '--json'], {
    DATABASE_URL: h.database.url,
    WORKOS_API_KEY: API_KEY,
  });
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)[0].live).toBe(
    String((await run('select count(*) from workos.live_connections'))[0]!.count),
  );
});
