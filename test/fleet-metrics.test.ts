/**
 * The fleet's own metrics, and which environments' series a replica's page carries, on real parts:
 * replicas served in process as `run` serves an environments file (serveFleet: the fleet, its
 * metrics server and its webhook receiver), on one Postgres, four WorkOS environments on the
 * emulator (alpha and gamma with a webhook secret, beta and delta without).
 *
 * Alone, a replica runs all four and says so (live replicas, environments run and declared,
 * hand-offs). A second replica joins and the share moves: the first counts its releases, and the
 * released environments' series leave its page while the ones it keeps stay (the receiver's count
 * of its own deliveries aside); the second has them. The second leaves and the first takes them
 * back on new registries, counting from zero. A replica whose ticks fail counts them.
 *
 * What one environment adds to a page is counted, printed, and held to the figure docs/fleet.md
 * gives; so is what one scrape of them all costs in statements.
 */
import { readFileSync } from 'node:fs';
import {
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  sql,
} from 'kysely';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { assignEnvironments } from '../src/worker/fleet/assignment.ts';
import { fleetStatusReader } from '../src/worker/fleet/fleet-status.ts';
import { serveFleet } from '../src/worker/fleet/serve-fleet.ts';
import { createMetrics, WEBHOOK_RESULTS } from '../src/worker/metrics.ts';
import type { RunningSync } from '../src/worker/serve.ts';
import { nudgeChannel } from '../src/worker/webhooks/nudge-bus.ts';
import { createWorkosClient } from '../src/workos/client.ts';
import { workosConnectionsSource } from '../src/workos/connections-source.ts';
import { workosEventsSource } from '../src/workos/events-source.ts';
import { workosOrganizationsSource } from '../src/workos/organizations-source.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { capturingLogger, noSecrets } from './support/logs.ts';
import { freePort, until } from './support/worker-process.ts';

const NAMES = ['alpha', 'beta', 'gamma', 'delta'] as const;
type Name = (typeof NAMES)[number];
const SECRETS: Partial<Record<Name, string>> = {
  alpha: 'whsec_fleet_metrics_alpha_5eed',
  gamma: 'whsec_fleet_metrics_gamma_f00d',
};
const keyOf = (name: string) => `sk_test_fleet_metrics_${name}`;
const A = 'replica-a';
const B = 'replica-b';
// Short, so that a hand-off takes a second or two (handOffBounds: two ticks).
const TIMINGS = { tickMs: 500, heartbeatTtlMs: 1_500, leaseTtlMs: 3_000 };
const FIGURES = readFileSync(new URL('../docs/fleet.md', import.meta.url), 'utf8');

let emulator: Emulator;
let t: TestDatabase;
const logs = capturingLogger(Object.values(SECRETS).concat(NAMES.map(keyOf)), 'warn');
const running: RunningSync[] = [];
const fatal: string[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  emulator = await startEmulator({ apiKey: keyOf('default') });
  for (const [i, name] of NAMES.entries()) {
    const model = new WorkosModel({ environment: name, seed: 70 + i });
    generateScenario(model, { seed: 70 + i, events: 40 });
    // Domains in two states: the organization domains' gauge has a series per state present.
    const organization = model.createOrganization({
      name: `domains of ${name}`,
      domains: [`${name}-one.example`, `${name}-two.example`],
    }).data.id;
    model.verifyDomain(model.getOrganization(organization).domains[0]!.id);
    emulator.addEnvironment(name, { apiKey: keyOf(name), model });
  }
});

afterAll(async () => {
  for (const replica of running) await replica.stop();
  await emulator?.close();
  await t?.close();
});

const clients = new Map<string, ReturnType<typeof createWorkosClient>>();
function client(name: string) {
  let made = clients.get(name);
  if (!made) {
    made = createWorkosClient({ apiKey: keyOf(name), apiUrl: emulator.url, timeoutMs: 10_000 });
    clients.set(name, made);
  }
  return made;
}

interface Replica {
  readonly sync: RunningSync;
  /** Every sample of its /metrics page. */
  page(): Promise<Sample[]>;
}

/** A replica of the fleet as `run` serves it, on `on` (the test database unless told). */
async function startReplica(holder: string, on: TestDatabase = t): Promise<Replica> {
  const withSecrets = NAMES.flatMap((name) => {
    const secret = SECRETS[name];
    return secret ? [{ name, secret }] : [];
  });
  const sync = serveFleet(
    {
      db: on.whole,
      schema: on.schema,
      log: logs.log,
      scrub: noSecrets,
      dedicatedSession: on.handle.dedicatedSession,
      environmentDeps: (name) => ({
        events: workosEventsSource(client(name), { phase: 'poll' }),
        connections: workosConnectionsSource(client(name)),
        organizations: workosOrganizationsSource(client(name)),
        log: logs.log,
        scrub: noSecrets,
      }),
    },
    {
      environments: NAMES.map((name) => ({ name, pollCron: '* * * * * *', reconcileCron: '17 * * * *' })),
      holder,
      release: 'test',
      timings: TIMINGS,
      http: { host: '127.0.0.1', port: 'ephemeral' },
      webhooks: {
        host: '127.0.0.1',
        port: await freePort(),
        environments: withSecrets,
        verifier: client('alpha').webhooks,
        channel: nudgeChannel(on.schema),
      },
      onEnvironmentFatal: (name, error) => fatal.push(`${name}: ${error.message}`),
    },
  );
  running.push(sync);
  const { url } = await sync.ready;
  return { sync, page: async () => parse(await (await fetch(`${url}/metrics`)).text()) };
}

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly line: string;
}

/** The sample lines of a Prometheus text page. */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]),
    );
    samples.push({ name: match[1]!, labels, value: Number(match[3]), line });
  }
  return samples;
}

/** The value of `name` with exactly `labels`; undefined when the page has no such series. */
function value(page: readonly Sample[], name: string, labels: Record<string, string> = {}) {
  const want = JSON.stringify(Object.entries(labels).sort());
  return page.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}

const ofEnvironment = (page: readonly Sample[], name: string) =>
  page.filter((s) => s.labels.environment === name);
/** Its series but the organization domains' by state, which are as many as the states its data has. */
const fixedPart = (page: readonly Sample[], name: string) =>
  ofEnvironment(page, name).filter((s) => s.name !== 'workos_sync_organization_domains');

/** The verification states an environment's live organization domains are in: one series each. */
async function domainStates(name: string): Promise<number> {
  const rows = await t
    .environment(name)
    .selectFrom('live_organization_domains')
    .select(sql<string>`coalesce(state, 'unknown')`.as('state'))
    .distinct()
    .execute();
  return rows.length;
}

async function holders(): Promise<Map<string, string>> {
  const rows = await t.whole
    .selectFrom('leases')
    .select(['environment', 'holder'])
    .where('name', '=', 'events')
    .where('expires_at', '>', new Date())
    .execute();
  return new Map(rows.map((r) => [r.environment, r.holder]));
}

async function caughtUp(name: Name): Promise<boolean> {
  const state = await t
    .environment(name)
    .selectFrom('sync_state')
    .select('cursor')
    .where('stream', '=', 'events')
    .executeTakeFirst();
  return state?.cursor === emulator.environment(name)!.model.events().at(-1)?.id;
}

/** A figure docs/fleet.md states, by the pattern that finds it there. */
function documented(pattern: RegExp): number {
  const match = pattern.exec(FIGURES);
  expect(match, `docs/fleet.md states ${pattern}`).not.toBeNull();
  return Number(match![1]);
}

const fleetGauges = (page: readonly Sample[]) => ({
  live: value(page, 'workos_sync_fleet_live_workers'),
  environments: value(page, 'workos_sync_fleet_environments'),
  declared: value(page, 'workos_sync_fleet_environments_declared'),
  failed: value(page, 'workos_sync_fleet_environments_failed'),
  taken: value(page, 'workos_sync_fleet_handoffs_total', { direction: 'taken' }),
  released: value(page, 'workos_sync_fleet_handoffs_total', { direction: 'released' }),
  tickFailures: value(page, 'workos_sync_fleet_tick_failures_total'),
});

it('a replica exports the fleet as it sees it and the series of the environments it runs only, across a hand-off and back', async () => {
  const share = assignEnvironments([A, B], NAMES).byWorker;
  const kept = share.get(A)!;
  const moved = share.get(B)!;
  // The hand-off moves an environment with a secret and one without, and keeps one of each.
  for (const side of [kept, moved]) {
    expect(side.filter((n) => SECRETS[n as Name]).length).toBe(1);
    expect(side.filter((n) => !SECRETS[n as Name]).length).toBe(1);
  }
  const withSecret = moved.find((n) => SECRETS[n as Name])!;
  const withoutSecret = moved.find((n) => !SECRETS[n as Name])!;

  // Alone: every environment run by the first replica, each caught up and held.
  const a = await startReplica(A);
  await until(
    async () =>
      (await Promise.all(NAMES.map(caughtUp))).every(Boolean) &&
      [...(await holders()).values()].filter((h) => h === A).length === NAMES.length,
    60_000,
    () => `never caught up and held: ${JSON.stringify(logs.lines())}`,
  );
  let page = await a.page();
  expect(fleetGauges(page)).toEqual({
    live: 1,
    environments: 4,
    declared: 4,
    failed: 0,
    taken: 4,
    released: 0,
    tickFailures: 0,
  });

  // What one environment adds: the same with and without a webhook secret (each environment's
  // registry has the webhook counter's zeros; the receiver's series of an environment with a secret
  // are the same label sets, added up into them), besides a series per organization domain state.
  const counted = Object.fromEntries(NAMES.map((name) => [name, fixedPart(page, name).length]));
  const byFamily: Record<string, number> = {};
  for (const s of ofEnvironment(page, 'beta')) byFamily[s.name] = (byFamily[s.name] ?? 0) + 1;
  console.info(
    JSON.stringify({
      seriesPerEnvironment: {
        withSecret: ofEnvironment(page, 'alpha').length,
        withoutSecret: ofEnvironment(page, 'beta').length,
      },
      bytesPerEnvironment: ofEnvironment(page, 'beta').reduce((sum, s) => sum + s.line.length + 1, 0),
      organizationDomainStates: Object.fromEntries(
        await Promise.all(NAMES.map(async (n) => [n, await domainStates(n)])),
      ),
      byFamily,
    }),
  );
  const perEnvironment = documented(/adds \*\*(\d+) series\*\*/);
  expect(counted).toEqual(Object.fromEntries(NAMES.map((name) => [name, perEnvironment])));
  for (const name of NAMES) {
    expect(ofEnvironment(page, name).length - fixedPart(page, name).length).toBe(await domainStates(name));
  }
  const appliedBefore = ofEnvironment(page, withSecret)
    .filter((s) => s.name === 'workos_sync_events_total' && s.labels.outcome === 'applied')
    .reduce((sum, s) => sum + s.value, 0);
  expect(appliedBefore).toBeGreaterThan(0);

  // A second replica joins: the share moves, the first releases its part and the second takes it.
  const b = await startReplica(B);
  let seen = '';
  await until(
    async () => {
      const held = await holders();
      seen = JSON.stringify({
        held: [...held],
        a: fleetGauges(await a.page()),
        b: fleetGauges(await b.page()),
      });
      return (
        kept.every((n) => held.get(n) === A) &&
        moved.every((n) => held.get(n) === B) &&
        fleetGauges(await a.page()).released === moved.length &&
        fleetGauges(await b.page()).taken === moved.length
      );
    },
    30_000,
    () => `the share never moved: ${seen}`,
  );
  page = await a.page();
  expect(fleetGauges(page)).toEqual({
    live: 2,
    environments: 2,
    declared: 4,
    failed: 0,
    taken: 4,
    released: 2,
    tickFailures: 0,
  });
  // Released: gone from its page, but for the receiver's count of the deliveries it received.
  expect(ofEnvironment(page, withoutSecret)).toEqual([]);
  expect(ofEnvironment(page, withSecret).map((s) => [s.name, s.labels.result])).toEqual(
    WEBHOOK_RESULTS.map((result) => ['workos_sync_webhooks_total', result]),
  );
  // Kept: all there.
  for (const name of kept) expect(fixedPart(page, name)).toHaveLength(perEnvironment);
  // The second replica has what moved, and of what the first kept the receiver's counts only.
  const other = await b.page();
  expect(fleetGauges(other)).toMatchObject({ live: 2, environments: 2, taken: 2, released: 0 });
  for (const name of moved) expect(fixedPart(other, name)).toHaveLength(perEnvironment);
  for (const name of kept)
    expect(new Set(ofEnvironment(other, name).map((s) => s.name))).toEqual(
      SECRETS[name as Name] ? new Set(['workos_sync_webhooks_total']) : new Set(),
    );

  // The second leaves: the first takes its part back, on new registries counting from zero (its
  // worlds have not changed since, so nothing applied yet).
  await b.sync.stop();
  await until(
    async () => fleetGauges(await a.page()).environments === NAMES.length,
    30_000,
    () => 'the first replica never took its share back',
  );
  page = await a.page();
  expect(fleetGauges(page)).toMatchObject({ live: 1, environments: 4, taken: 6, released: 2 });
  for (const name of moved) expect(fixedPart(page, name)).toHaveLength(perEnvironment);
  expect(
    ofEnvironment(page, withSecret)
      .filter((s) => s.name === 'workos_sync_events_total')
      .reduce((sum, s) => sum + s.value, 0),
  ).toBe(0);
  expect(fatal).toEqual([]);
}, 120_000);

it('one scrape reads every environment`s status in as many statements as docs/fleet.md says, whatever their number', async () => {
  let statements = 0;
  const counting: KyselyPlugin = {
    transformQuery(args: PluginTransformQueryArgs) {
      statements++;
      return args.node;
    },
    async transformResult(args: PluginTransformResultArgs) {
      return args.result;
    },
  };
  // Nothing writes meanwhile (the mirrors are as the test above left them), and the clock is fixed:
  // the shared read and each environment's own must find the same.
  for (const replica of running.splice(0)) await replica.stop();
  const now = () => new Date('2030-01-01T00:00:00Z');
  const labelled = <M extends { registry: Registry }>(name: string, made: M): M => {
    made.registry.setDefaultLabels({ environment: name });
    return made;
  };
  // Each environment's registry as serve-fleet makes it: its gauges read through the shared reader.
  const reader = fleetStatusReader(t.whole.withPlugin(counting));
  const shared = NAMES.map((name) =>
    labelled(
      name,
      createMetrics({ db: t.environment(name), now, readStatus: (at) => reader.readStatus(name, at) }),
    ),
  );
  const scrape = async (registries: readonly { registry: Registry }[]) =>
    parse(
      await AggregatorRegistry.aggregate(
        await Promise.all(registries.map((m) => m.registry.getMetricsAsJSON())),
      ).metrics(),
    );
  const page = await scrape(shared);
  console.info(JSON.stringify({ statementsPerScrape: statements, environments: NAMES.length }));
  expect(statements).toBe(documented(/\*\*(\d+) statements\*\* per scrape/));

  // The same gauges as each environment's own read would give, for every environment.
  const own = await scrape(
    NAMES.map((name) => labelled(name, createMetrics({ db: t.environment(name), now }))),
  );
  const gauges = (samples: readonly Sample[]) =>
    samples.filter((s) => !s.name.endsWith('_total') && !/_(bucket|sum|count)$/.test(s.name));
  expect(gauges(page).length).toBeGreaterThan(NAMES.length * 10);
  expect(gauges(page)).toEqual(gauges(own));
  for (const name of NAMES)
    expect(value(page, 'workos_sync_connections', { state: 'live', environment: name })).toBeGreaterThan(0);

  // Another scrape, another read: never a stale one.
  statements = 0;
  await scrape(shared);
  expect(statements).toBe(documented(/\*\*(\d+) statements\*\* per scrape/));
});

it('a replica whose ticks fail counts them, and runs nothing', async () => {
  const broken = await createTestDatabase({ migrate: false }); // no `workers` table: every heartbeat fails
  try {
    const replica = await startReplica('replica-broken', broken);
    await until(
      async () => (fleetGauges(await replica.page()).tickFailures ?? 0) >= 2,
      10_000,
      () => 'no tick failure counted',
    );
    expect(fleetGauges(await replica.page())).toMatchObject({
      live: 0,
      environments: 0,
      declared: 4,
      taken: 0,
      released: 0,
    });
    await replica.sync.stop();
  } finally {
    await broken.close();
  }
});
