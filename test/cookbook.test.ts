/**
 * The README's SQL cookbook, run against a synced scenario: every recipe executes, and answers
 * what its question asks.
 */
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateScenario, WorkosModel } from '../src/emulator/index.ts';
import { catchUp } from '../src/sync/catch-up.ts';
import { reconcile } from '../src/sync/reconcile/reconcile.ts';
import { workosConnectionsSource } from '../src/workos/connections-source.ts';
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
let shared: string;
const log = silentLogger();

beforeAll(async () => {
  const model = new WorkosModel({ seed: 31 });
  generateScenario(model, { seed: 31, events: 600 });
  const [a, b] = model.liveConnections();
  // one domain claimed twice; an event WorkOS should never send; a rename only a listing shows
  shared = 'shared-claim.example';
  model.setDomains(String(a!.id), [shared]);
  model.setDomains(String(b!.id), [shared, 'other.example']);
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
  await reconcile({ db: h.database.db, source: workosConnectionsSource(h.workos), log, scrub: noSecrets });
  await catchUp(h.deps(), { backoff: FAST_BACKOFF });
  model.rename(String(a!.id), 'Renamed without an event');
  await reconcile({ db: h.database.db, source: workosConnectionsSource(h.workos), log, scrub: noSecrets });
  domain = 'other.example';
  connectionId = String(b!.id);
}, 120_000);
afterAll(() => h.close());

async function run(query: string): Promise<Record<string, unknown>[]> {
  const concrete = query
    .replaceAll("'foo-corp.com'", `'${domain}'`)
    .replaceAll("'conn_01EHWNC0FCBHZ3BJ7EGKYXK0E6'", `'${connectionId}'`);
  return (await sql.raw<Record<string, unknown>>(concrete).execute(h.database.db)).rows;
}

it('has at least eight recipes', () => {
  expect(recipes().length).toBeGreaterThanOrEqual(8);
});

it.each(recipes().map((r) => [r.question, r.query]))('%s', async (question, query) => {
  const rows = await run(query);
  switch (question) {
    case 'Which organisations have an active SSO connection?':
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((r) => Number(r.active_connections) > 0)).toBe(true);
      break;
    case 'Which connection serves a domain?':
      expect(rows).toEqual([
        expect.objectContaining({ domain, connection_id: connectionId, state: 'inactive' }),
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
      expect(rows.at(-1)).toMatchObject({ event: 'connection.deactivated', outcome: 'applied' });
      break;
    case 'What drift did the last reconciliation find?':
      expect(rows).toEqual([expect.objectContaining({ status: 'succeeded', updated: 1 })]);
      expect(String(rows[0]!.rows_it_wrote)).toContain('Renamed without an event');
      break;
    case 'Which events were quarantined, and why?':
      expect(rows).toHaveLength(1);
      expect(String(rows[0]!.error)).toMatch(/data\.connection_type/);
      break;
    case 'Which domains are claimed by more than one live connection?':
      expect(rows).toContainEqual(expect.objectContaining({ domain: shared, connections: '2' }));
      expect(rows.every((r) => Number(r.connections) > 1)).toBe(true);
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
