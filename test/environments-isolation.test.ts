/**
 * Property: environments sharing one set of tables never touch each other. Two to four WorkOS
 * environments, each with its own key, world and event stream on one emulator, are synced into
 * one database through random interleavings of model changes, polls, backfills, reconciliations
 * and lease calls, each through that environment's handle (`scopedToEnvironment`; `default`
 * through the library, `createWorkosSync`, which always syncs `default`). Every operation of an
 * environment X is also run, at the same moment and against the same emulator, on a database of
 * X's own ("alone"), so what X alone would have produced is known exactly. Checked:
 * - after every operation of X: no row of another environment changed (every table, whole rows);
 *   every request it made was served as X (its key picked its world); every hook call and every
 *   NOTIFY it caused says `environment: X` and names only X's ids, and equals what X alone got;
 *   its result equals X alone's (a lease taken in Y never blocks X: the results also match a
 *   model of X's leases alone);
 * - at the end, after a last poll, reconciliation and poll of each: X's rows of every table equal
 *   X alone's (but for the database's own clocks and sequences); they hold only X's ids; X's
 *   events are its stream's, each recorded once, with environment X; its cursor is its stream's
 *   last event; its live connections, organizations and domains are its emulator world's; its
 *   leases are what X's lease calls alone leave; no other environment's rows appeared.
 * Several connections (LISTEN beside the pool, one database per environment): postgres only.
 */
import fc from 'fast-check';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type Emulator,
  environmentTag,
  generateScenario,
  startEmulator,
  WorkosModel,
} from '../emulator/index.ts';
import { DEFAULT_ENVIRONMENT, environmentOf, scopedToEnvironment } from '../src/db/environment-scope.ts';
import type { Database } from '../src/db/tables.ts';
import { createWorkosSync, LeaseHeldError, type WorkosSync } from '../src/index.ts';
import { backfill } from '../src/sync/backfill.ts';
import type { ChangeHook, MirrorChange } from '../src/sync/changes/changes.ts';
import { changesChannel } from '../src/sync/changes/report.ts';
import { openEnvironment } from '../src/sync/environments.ts';
import { acquireLease, type LeaseName, releaseLease, renewLease } from '../src/sync/lease.ts';
import { poll, type SyncDeps } from '../src/sync/poll.ts';
import { reconcile } from '../src/sync/reconcile/reconcile.ts';
import { cursorRecovery } from '../src/sync/recover-cursor.ts';
import { createWorkosClient } from '../src/workos/client.ts';
import { workosConnectionsSource } from '../src/workos/connections-source.ts';
import { workosEventsSource } from '../src/workos/events-source.ts';
import { workosOrganizationsSource } from '../src/workos/organizations-source.ts';
import type { CertificateType } from '../src/workos/wire.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { noSecrets, silentLogger } from './support/logs.ts';
import { FAST_BACKOFF } from './support/sync.ts';

const SCHEMA = 'workos';
const CHANNEL = changesChannel(SCHEMA);
const NAMES = [DEFAULT_ENVIRONMENT, 'staging', 'eu', 'fleet-7'] as const;
const MAX_EVENTS = 30;
const LEASE_TTL_MS = 600_000;
const HOLDERS = ['replica-a', 'replica-b', 'replica-c'];
const log = silentLogger();
const keyOf = (name: string) => `sk_test_isolation_${name}`;

const TABLES = [
  'connections',
  'connection_domains',
  'connection_certificates',
  'organizations',
  'organization_domains',
  'events',
  'sync_state',
  'leases',
  'reconciliation_runs',
  'reconciliation_pass_listed',
] as const;
type Table = (typeof TABLES)[number];

/** What the database's own clocks and sequences set: different in two databases by nature. */
const VOLATILE: Record<Table, readonly string[]> = {
  connections: ['synced_at'],
  connection_domains: [],
  connection_certificates: ['synced_at'],
  organizations: ['synced_at'],
  organization_domains: ['synced_at'],
  events: ['seq', 'received_at'],
  sync_state: ['cursor_updated_at', 'last_poll_at', 'caught_up_at', 'last_recovery_at', 'pass_began_at'],
  leases: ['acquired_at', 'expires_at'],
  reconciliation_runs: ['id', 'started_at', 'finished_at'],
  reconciliation_pass_listed: [],
};

/** A database: the shared one, or one environment's alone; with a client LISTENing on it. */
interface Side {
  readonly t: TestDatabase;
  readonly listener: pg.Client;
  readonly heard: string[];
}

const sides: Side[] = [];
let shared: Side;
let alone: Side[];

async function openSide(): Promise<Side> {
  const t = await createTestDatabase({ schema: SCHEMA });
  const listener = new pg.Client({ connectionString: t.url });
  await listener.connect();
  const heard: string[] = [];
  listener.on('notification', (n) => {
    if (n.channel === CHANNEL) heard.push(n.payload ?? '');
  });
  await listener.query(`listen ${CHANNEL}`);
  const side = { t, listener, heard };
  sides.push(side);
  return side;
}

beforeAll(async () => {
  shared = await openSide();
  alone = [];
  for (let i = 0; i < NAMES.length; i++) alone.push(await openSide());
});
afterAll(async () => {
  for (const side of sides) {
    await side.listener.end();
    await side.t.close();
  }
});

/** Every NOTIFY committed so far on `side`: those after the last call, up to a sentinel of ours. */
async function drainNotices(side: Side): Promise<Record<string, unknown>[]> {
  const sentinel = `sentinel ${Math.random()}`;
  await sql`select pg_notify(${CHANNEL}, ${sentinel})`.execute(side.t.whole);
  const deadline = Date.now() + 10_000;
  while (!side.heard.includes(sentinel)) {
    if (Date.now() > deadline) throw new Error('the sentinel NOTIFY never arrived');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const got = side.heard.splice(0);
  return got.filter((p) => p !== sentinel).map((p) => JSON.parse(p) as Record<string, unknown>);
}

/** Empty every table (every environment's rows), then `default`'s rows as the migrations leave them. */
async function wipe(side: Side): Promise<void> {
  const whole = side.t.whole;
  for (const table of TABLES) await whole.deleteFrom(table).execute();
  await whole.deleteFrom('workers').execute();
  await whole.deleteFrom('request_budget').execute();
  await openEnvironment(scopedToEnvironment(whole, SCHEMA, DEFAULT_ENVIRONMENT));
  await drainNotices(side);
}

// biome-ignore lint/suspicious/noExplicitAny: rows of every table are compared as plain JSON.
type Row = Record<string, any>;

async function rowsOf(whole: Kysely<Database>, table: Table): Promise<Row[]> {
  const rows = (await whole.selectFrom(table).selectAll().execute()) as Row[];
  return rows.map((r) => JSON.parse(JSON.stringify(r)) as Row);
}

/** Every table's rows, by environment, whole (volatile columns included): one string per environment. */
async function snapshot(whole: Kysely<Database>): Promise<Map<string, string>> {
  const byEnvironment = new Map<string, Record<string, string[]>>();
  for (const table of TABLES) {
    for (const row of await rowsOf(whole, table)) {
      const tables = byEnvironment.get(row.environment) ?? {};
      byEnvironment.set(row.environment, tables);
      const rows = tables[table] ?? [];
      tables[table] = rows;
      rows.push(JSON.stringify(row));
    }
  }
  return new Map(
    [...byEnvironment].map(([environment, tables]) => [
      environment,
      JSON.stringify(TABLES.map((table) => [table, (tables[table] ?? []).sort()])),
    ]),
  );
}

/** One environment's rows, without what the database's clocks and sequences set, in a stable order. */
async function rowsOfEnvironment(
  whole: Kysely<Database>,
  environment: string,
): Promise<Record<Table, Row[]>> {
  const out = {} as Record<Table, Row[]>;
  for (const table of TABLES) {
    const rows = (await rowsOf(whole, table)).filter((r) => r.environment === environment);
    // The stream's order and the runs' order are kept; every other table is a set.
    if (table === 'events') rows.sort((a, b) => Number(a.seq) - Number(b.seq));
    if (table === 'reconciliation_runs') rows.sort((a, b) => Number(a.id) - Number(b.id));
    const stripped = rows.map((r) =>
      Object.fromEntries(Object.entries(r).filter(([k]) => !VOLATILE[table].includes(k))),
    );
    if (table !== 'events' && table !== 'reconciliation_runs')
      stripped.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    out[table] = stripped;
  }
  return out;
}

/** The environment that minted an emulator id (its tag, `ids.ts`); null for what is not an id. */
function ownerOf(id: string, environments: readonly string[]): string | null {
  const body = id.slice(id.lastIndexOf('_') + 1);
  if (body.length !== 26) return null;
  for (const name of environments) {
    const tag = environmentTag(name);
    if (tag !== undefined && body.slice(10, 19) === tag) return name;
  }
  if (body.slice(16, 19) === '000') return DEFAULT_ENVIRONMENT;
  return `unknown tag ${body.slice(10, 19)}`;
}

/** Every string in `value` (deeply) that looks like an emulator id, with its owner. */
function idsIn(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') {
    if (/^(conn|org|org_domain|event|conn_domain|domain)_[0-9A-Z]{26}$/.test(value)) out.push(value);
  } else if (Array.isArray(value)) for (const v of value) idsIn(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) idsIn(v, out);
  return out;
}

function expectOnlyIdsOf(environment: string, value: unknown, environments: readonly string[], what: string) {
  const foreign = idsIn(value).filter((id) => ownerOf(id, environments) !== environment);
  expect(foreign, `${what} of ${environment} names another environment's ids`).toEqual([]);
}

/** JSON with run ids (a sequence of the database) and durations (the machine's) left out. */
function normalized(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? null), (key, v) =>
    key === 'runId'
      ? v === null
        ? null
        : 'run'
      : key === 'durationMs' || key === 'startedAt'
        ? undefined
        : v,
  );
}

// ── the generated runs ──────────────────────────────────────────────────────────────────────

const ACTIONS = [
  'create',
  'create',
  'create-in-organization',
  'activate',
  'activate',
  'activate',
  'deactivate',
  'rename',
  'set-domains',
  'delete',
  'renew-certificate',
  'require-renewal',
  'create-organization',
  'create-organization',
  'update-organization',
  'delete-organization',
  'add-domain',
  'verify-domain',
  'fail-domain',
  'remove-domain',
] as const;
type Action = (typeof ACTIONS)[number];

type Op =
  | {
      readonly op: 'mutate';
      readonly env: number;
      readonly action: Action;
      readonly a: number;
      readonly b: number;
    }
  | { readonly op: 'poll' | 'reconcile' | 'backfill'; readonly env: number }
  | {
      readonly op: 'lease';
      readonly env: number;
      readonly call: 'acquire' | 'renew' | 'release';
      readonly name: LeaseName;
      readonly holder: number;
    };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('mutate' as const),
      env: fc.nat(3),
      action: fc.constantFrom(...ACTIONS),
      a: fc.nat(20),
      b: fc.nat(20),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('poll' as const), env: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reconcile' as const), env: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('backfill' as const), env: fc.nat(3) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('lease' as const),
      env: fc.nat(3),
      call: fc.constantFrom('acquire' as const, 'acquire' as const, 'renew' as const, 'release' as const),
      name: fc.constantFrom('events' as const, 'reconcile' as const),
      holder: fc.nat(HOLDERS.length - 1),
    }),
  },
);

const runArb = fc.record({
  environments: fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 2, maxLength: 4 }),
  seeds: fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 4, maxLength: 4 }),
  history: fc.array(fc.constantFrom(0, 0, 6, 12), { minLength: 4, maxLength: 4 }),
  opened: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  ops: fc.array(opArb, { minLength: 12, maxLength: 50, size: 'max' }),
});

/** One environment of a run: its world, its clock, and how each side syncs it. */
interface Environment {
  readonly name: string;
  readonly model: WorkosModel;
  readonly clock: { now: number };
  /** Index 0: the shared database; 1: this environment's alone. */
  readonly runners: readonly Runner[];
  /** Who holds each lease, as this environment's calls alone leave it. */
  readonly leases: Map<LeaseName, string>;
}

interface Runner {
  readonly side: Side;
  readonly db: Kysely<Database>;
  readonly hookCalls: unknown[];
  poll(): Promise<unknown>;
  reconcile(): Promise<unknown>;
  backfill(): Promise<unknown>;
  close(): Promise<void>;
}

/** A hook that records what it is told, and checks that its transaction is the environment's. */
function recordingHook(environment: string, calls: unknown[]): ChangeHook {
  return async (trx, changes: readonly MirrorChange[]) => {
    // What an application's hook may read through its transaction: its environment's rows only,
    // however it asks. Domain names repeat across environments (d0.example, …), so a join or a
    // subquery on them, or an `or` of the hook's own, would find another environment's rows.
    const live = await trx
      .selectFrom('connections')
      .select('environment')
      .where(sql<boolean>`deleted_at is null or state = 'inactive'`)
      .execute();
    const joined = await trx
      .selectFrom('connection_domains as d')
      .leftJoin('organization_domains as o', 'o.domain', 'd.domain')
      .select(['d.environment as mine', 'o.environment as claimed'])
      .execute();
    const claimed = await trx
      .selectFrom('connection_domains as d')
      .select((eb) =>
        eb
          .selectFrom('organization_domains as o')
          .select('o.environment')
          .whereRef('o.domain', '=', 'd.domain')
          .limit(1)
          .as('claimed'),
      )
      .execute();
    const seen = [
      ...live.map((r) => r.environment),
      ...joined.flatMap((r) => [r.mine, r.claimed]),
      ...claimed.map((r) => r.claimed),
    ];
    calls.push({
      transaction: environmentOf(trx),
      seen: [...new Set(seen.filter((e) => e !== null))],
      changes: normalized(changes),
      environments: [...new Set(changes.map((c) => c.environment))],
    });
    expect(environmentOf(trx)).toBe(environment);
  };
}

function runnerFor(environment: string, side: Side, emulator: Emulator): Runner {
  const hookCalls: unknown[] = [];
  const db = scopedToEnvironment(side.t.whole, SCHEMA, environment);
  const workos = createWorkosClient({
    apiKey: keyOf(environment),
    apiUrl: emulator.url,
    maxRetries: 0,
    timeoutMs: 10_000,
  });
  const deps = (phase: 'poll' | 'backfill'): SyncDeps => ({
    db,
    events: workosEventsSource(workos, { phase }),
    connections: workosConnectionsSource(workos),
    organizations: workosOrganizationsSource(workos),
    log,
    scrub: noSecrets,
    reporting: { hooks: () => [recordingHook(environment, hookCalls)], channel: CHANNEL },
  });
  if (environment === DEFAULT_ENVIRONMENT) {
    // The library: it always syncs `default`.
    let sync: WorkosSync | undefined;
    const library = () => {
      sync ??= createWorkosSync({
        apiKey: keyOf(environment),
        apiUrl: emulator.url,
        database: { url: side.t.url },
        logger: pino({ level: 'silent' }),
        onChange: recordingHook(environment, hookCalls),
      });
      return sync;
    };
    return {
      side,
      db,
      hookCalls,
      poll: () => library().poll({ backoff: FAST_BACKOFF, hookAttempts: 1 }),
      // The library's reconciliation holds the reconcile lease; a lease this test took in its
      // environment stands for another process's run, which the library refuses to overlap. The
      // world is reconciled all the same, through the sync layer, as another process would.
      reconcile: () =>
        library()
          .reconcile({ wait: false })
          .catch((error: unknown) => {
            if (!(error instanceof LeaseHeldError)) throw error;
            return reconcile(deps('poll'));
          }),
      backfill: () => library().backfill({ backoff: FAST_BACKOFF, hookAttempts: 1 }),
      close: async () => {
        await sync?.close();
      },
    };
  }
  return {
    side,
    db,
    hookCalls,
    poll: () => {
      const d = deps('poll');
      return poll(d, { backoff: FAST_BACKOFF, hookAttempts: 1, recover: cursorRecovery(d) });
    },
    reconcile: () => reconcile(deps('poll')),
    backfill: () => backfill(deps('backfill'), { backoff: FAST_BACKOFF, hookAttempts: 1 }),
    close: async () => {},
  };
}

const CERTIFICATE_TYPES: readonly CertificateType[] = [
  'ResponseSigning',
  'RequestSigning',
  'ResponseEncryption',
];

/** One change of an environment's world; false when there was nothing to change (or no room for events). */
function mutate(env: Environment, action: Action, a: number, b: number): boolean {
  const { model } = env;
  const live = model.liveConnections().sort((x, y) => (x.id < y.id ? -1 : 1));
  const organizations = model.liveOrganizations().sort((x, y) => (x.id < y.id ? -1 : 1));
  const domains = organizations.flatMap((o) => o.domains);
  const pick = <T>(list: readonly T[], n: number): T | undefined =>
    list.length === 0 ? undefined : list[n % list.length];
  const conn = pick(live, a);
  const organization = pick(organizations, a);
  const domain = pick(domains, a);
  const saml = pick(
    live.filter((c) => c.connection_type.endsWith('SAML')),
    a,
  );
  const room = model.eventCount < MAX_EVENTS;
  switch (action) {
    case 'create':
      model.createConnection({
        name: `Connection ${a % 5}`,
        connectionType: b % 2 === 0 ? 'OktaSAML' : 'GoogleOAuth',
        domains: [`d${b % 4}.example`],
        organizationId: null,
      });
      return true;
    case 'create-in-organization':
      if (!organization) return false;
      model.createConnection({
        organizationId: organization.id,
        connectionType: 'AzureSAML',
        name: `Org ${a % 3}`,
      });
      return true;
    case 'activate':
      if (!conn || !room) return false;
      model.activate(conn.id);
      return true;
    case 'deactivate':
      if (!conn || !room) return false;
      model.deactivate(conn.id);
      return true;
    case 'rename':
      if (!conn) return false;
      model.rename(conn.id, `Renamed ${b % 4}`);
      return true;
    case 'set-domains':
      if (!conn || (typeof conn.organization_id === 'string' && model.hasOrganization(conn.organization_id)))
        return false;
      model.setDomains(conn.id, [`d${b % 4}.example`, `e${a % 3}.example`]);
      return true;
    case 'delete':
      if (!conn || !room) return false;
      model.deleteConnection(conn.id, undefined, { withDomains: b % 2 === 0 });
      return true;
    case 'renew-certificate':
    case 'require-renewal': {
      if (!saml || !room) return false;
      const type = CERTIFICATE_TYPES[b % CERTIFICATE_TYPES.length]!;
      const expiry = new Date(env.clock.now + ((a % 9) - 2) * 86_400_000);
      if (action === 'renew-certificate') model.renewCertificate(saml.id, type, expiry);
      else model.requireCertificateRenewal(saml.id, type, expiry);
      return true;
    }
    case 'create-organization':
      if (!room) return false;
      model.createOrganization({ name: `Organization ${a % 4}`, domains: [`d${b % 4}.example`] });
      return true;
    case 'update-organization':
      if (!organization || !room) return false;
      model.updateOrganization(organization.id, { name: `Organization ${b % 4}*` });
      return true;
    case 'delete-organization':
      if (!organization || model.eventCount + 4 > MAX_EVENTS) return false;
      model.deleteOrganization(organization.id);
      return true;
    case 'add-domain': {
      if (!organization || !room) return false;
      const name = `o${b % 5}.example`;
      if (organization.domains.some((d) => d.domain === name)) return false;
      model.addDomain(organization.id, name);
      return true;
    }
    case 'verify-domain':
      if (!domain || !room) return false;
      model.verifyDomain(domain.id);
      return true;
    case 'fail-domain':
      if (!domain || !room) return false;
      model.failDomainVerification(domain.id);
      return true;
    case 'remove-domain':
      if (!domain || !room) return false;
      model.removeDomain(domain.id);
      return true;
  }
}

/** X's model of its own leases: what a call returns, and who holds the lease after it. */
function leaseModel(
  env: Environment,
  call: 'acquire' | 'renew' | 'release',
  name: LeaseName,
  holder: string,
) {
  const held = env.leases.get(name);
  if (call === 'acquire') {
    if (held !== undefined && held !== holder) return false;
    env.leases.set(name, holder);
    return true;
  }
  if (call === 'renew') return held === holder;
  if (held === holder) env.leases.delete(name);
  return undefined;
}

async function runLease(
  db: Kysely<Database>,
  call: 'acquire' | 'renew' | 'release',
  name: LeaseName,
  holder: string,
) {
  if (call === 'acquire') return acquireLease(db, name, holder, LEASE_TTL_MS);
  if (call === 'renew') return renewLease(db, name, holder, LEASE_TTL_MS);
  await releaseLease(db, name, holder);
  return undefined;
}

let runs = 0;
let operations = 0;

it(
  'environments sharing the tables never touch each other: rows, cursors, leases, events, hooks, NOTIFY, keys',
  // 15 to 20 seconds; the rest is room for fast-check to shrink a failure to a short one.
  { timeout: 600_000 },
  async () => {
    await fc.assert(
      fc.asyncProperty(runArb, async (run) => {
        runs++;
        const names: readonly string[] = run.environments;
        for (const side of [shared, ...alone]) await wipe(side);

        // Each environment's world, in a clock of its own that moves one second per operation on
        // it: both sides of an operation see the same `Date`, the same listing, the same events.
        const base = Date.now() - 3_600_000;
        const worlds = names.map((name, i) => {
          const clock = { now: base };
          const model = new WorkosModel({
            environment: name,
            seed: run.seeds[i]!,
            clock: () => new Date(clock.now),
          });
          if (run.history[i]! > 0) generateScenario(model, { seed: run.seeds[i]!, events: run.history[i]! });
          return { name, model, clock };
        });
        const defaultWorld = worlds.find((w) => w.name === DEFAULT_ENVIRONMENT);
        const emulator = await startEmulator({
          apiKey: keyOf(DEFAULT_ENVIRONMENT),
          model: defaultWorld?.model ?? new WorkosModel({ seed: 1 }),
          environments: worlds
            .filter((w) => w.name !== DEFAULT_ENVIRONMENT)
            .map((w) => ({ name: w.name, apiKey: keyOf(w.name), model: w.model })),
        });
        const environments: Environment[] = worlds.map((w, i) => ({
          ...w,
          runners: [runnerFor(w.name, shared, emulator), runnerFor(w.name, alone[i]!, emulator)],
          leases: new Map(),
        }));
        try {
          for (const [i, env] of environments.entries())
            if (run.opened[i]) for (const runner of env.runners) await openEnvironment(runner.db);

          let before = await snapshot(shared.t.whole);
          /** One operation of `env` on both sides, with the checks made after each. */
          const perform = async (
            env: Environment,
            label: string,
            action: (runner: Runner) => Promise<unknown>,
          ) => {
            operations++;
            const results: unknown[] = [];
            const notices: unknown[] = [];
            const hookCalls: unknown[] = [];
            for (const runner of env.runners) {
              const requestsBefore = emulator.requests.length;
              const callsBefore = runner.hookCalls.length;
              results.push(normalized(await action(runner)));
              const requests = emulator.requests.slice(requestsBefore);
              expect(
                requests.filter((r) => r.environment !== env.name || r.status !== 200),
                `${label}: requests of ${env.name} served as another environment`,
              ).toEqual([]);
              const heard = await drainNotices(runner.side);
              for (const notice of heard) {
                expect(notice.environment, `${label}: a NOTIFY of ${env.name}`).toBe(env.name);
                expectOnlyIdsOf(env.name, notice, names, `${label}: a NOTIFY`);
              }
              notices.push(normalized(heard));
              const calls = runner.hookCalls.slice(callsBefore) as {
                transaction: string;
                seen: string[];
                environments: string[];
                changes: unknown;
              }[];
              for (const call of calls) {
                expect(call.transaction, `${label}: a hook's transaction`).toBe(env.name);
                expect(call.environments, `${label}: a hook's changes`).toEqual([env.name]);
                expect(
                  call.seen.filter((e) => e !== env.name),
                  `${label}: rows a hook's transaction reads`,
                ).toEqual([]);
                expectOnlyIdsOf(env.name, call.changes, names, `${label}: a hook call`);
              }
              hookCalls.push(calls);
              if (runner.side === shared) {
                const after = await snapshot(shared.t.whole);
                for (const other of new Set([...before.keys(), ...after.keys()])) {
                  if (other === env.name) continue;
                  expect(after.get(other), `${label} of ${env.name} changed rows of ${other}`).toBe(
                    before.get(other),
                  );
                }
                before = after;
              }
            }
            const [sharedResult, aloneResult] = results;
            expect(sharedResult, `${label}: result beside the others vs alone`).toEqual(aloneResult);
            expect(notices[0], `${label}: NOTIFYs beside the others vs alone`).toEqual(notices[1]);
            expect(hookCalls[0], `${label}: hook calls beside the others vs alone`).toEqual(hookCalls[1]);
            return sharedResult;
          };

          for (const [n, op] of run.ops.entries()) {
            const env = environments[op.env % environments.length]!;
            env.clock.now += 1000;
            const label = `op ${n} (${op.op}${op.op === 'mutate' ? ` ${op.action}` : ''})`;
            if (op.op === 'mutate') mutate(env, op.action, op.a, op.b);
            else if (op.op === 'lease') {
              const holder = HOLDERS[op.holder]!;
              const got = await perform(env, label, (runner) =>
                runLease(runner.db, op.call, op.name, holder),
              );
              expect(got ?? null, `${label}: ${op.call} ${op.name} by ${holder} in ${env.name}`).toEqual(
                leaseModel(env, op.call, op.name, holder) ?? null,
              );
            } else await perform(env, label, (runner) => runner[op.op]());
          }
          // Settle: each environment caught up and reconciled, so its rows must be its world's.
          for (const env of environments) {
            for (const step of ['poll', 'reconcile', 'poll'] as const) {
              env.clock.now += 1000;
              await perform(env, `settle ${step}`, (runner) => runner[step]());
            }
          }

          const whole = shared.t.whole;
          for (const [i, env] of environments.entries()) {
            const mine = await rowsOfEnvironment(whole, env.name);
            // What this environment alone produced.
            expect(mine, `${env.name}: its rows beside the others vs alone`).toEqual(
              await rowsOfEnvironment(alone[i]!.t.whole, env.name),
            );
            expectOnlyIdsOf(env.name, mine, names, 'rows');

            // Its stream: every event once, as its own, and the cursor at its end.
            const stream = env.model.events().map((e) => String(e.id));
            expect(
              mine.events.map((e) => e.id),
              `${env.name}: its events`,
            ).toEqual(stream);
            const recorded = await whole
              .selectFrom('events')
              .select(['id', 'environment'])
              .where('id', 'in', stream.length > 0 ? stream : ['none'])
              .execute();
            expect(recorded.length).toBe(stream.length);
            expect(recorded.every((r) => r.environment === env.name)).toBe(true);
            const cursor = mine.sync_state.find((s) => s.stream === 'events')?.cursor ?? null;
            expect(cursor, `${env.name}: its cursor`).toBe(stream.at(-1) ?? null);

            // Its world: live connections, organizations and their domains.
            const liveConnections = mine.connections.filter((c) => c.deleted_at === null);
            const modelConnections = env.model.liveConnections();
            expect(
              liveConnections.map((c) => [c.id, c.name, c.state, c.organization_id]).sort(),
              `${env.name}: its live connections`,
            ).toEqual(modelConnections.map((c) => [c.id, c.name, c.state, c.organization_id ?? null]).sort());
            // One row per domain id (README, connection_domains): a domain two connections of one
            // organization list is held by one of them.
            const listedBy = new Map<string, { domain: string; connections: Set<string> }>();
            for (const c of modelConnections)
              for (const d of c.domains) {
                const entry = listedBy.get(d.id) ?? { domain: d.domain, connections: new Set<string>() };
                entry.connections.add(c.id);
                listedBy.set(d.id, entry);
              }
            const liveIds = new Set(liveConnections.map((c) => c.id));
            const heldByLive = mine.connection_domains.filter((d) => liveIds.has(d.connection_id));
            expect(
              heldByLive.filter(
                (d) =>
                  listedBy.get(d.id)?.domain !== d.domain ||
                  !listedBy.get(d.id)?.connections.has(d.connection_id),
              ),
              `${env.name}: domains its live connections do not list`,
            ).toEqual([]);
            expect(
              [...listedBy.keys()].filter((id) => !mine.connection_domains.some((d) => d.id === id)),
              `${env.name}: domains its live connections list, missing`,
            ).toEqual([]);
            const modelOrganizations = env.model.liveOrganizations();
            const liveOrganizations = mine.organizations.filter((o) => o.deleted_at === null);
            expect(
              liveOrganizations.map((o) => [o.id, o.name]).sort(),
              `${env.name}: its live organizations`,
            ).toEqual(modelOrganizations.map((o) => [o.id, o.name]).sort());
            const liveOrganizationIds = new Set(liveOrganizations.map((o) => o.id));
            expect(
              mine.organization_domains
                .filter((d) => d.deleted_at === null && liveOrganizationIds.has(d.organization_id))
                .map((d) => `${d.id} ${d.domain} ${d.state}`)
                .sort(),
              `${env.name}: its organizations' domains`,
            ).toEqual(
              modelOrganizations
                .flatMap((o) => o.domains.map((d) => `${d.id} ${d.domain} ${d.state}`))
                .sort(),
            );

            // Its leases: what its own calls alone leave.
            expect(mine.leases.map((l) => [l.name, l.holder]).sort(), `${env.name}: its leases`).toEqual(
              [...env.leases].sort(),
            );
            expect(mine.reconciliation_runs.every((r) => r.status === 'succeeded')).toBe(true);
          }
          // No other environment's rows appeared; `default`'s, when it is not one of the run's, are
          // what the migrations leave.
          const present = await snapshot(whole);
          expect([...present.keys()].filter((e) => !names.includes(e) && e !== DEFAULT_ENVIRONMENT)).toEqual(
            [],
          );
          if (!names.includes(DEFAULT_ENVIRONMENT)) {
            const untouched = await rowsOfEnvironment(whole, DEFAULT_ENVIRONMENT);
            expect(untouched.sync_state.map((s) => [s.stream, s.cursor])).toEqual(
              expect.arrayContaining([
                ['events', null],
                ['reconciliation', null],
              ]),
            );
            expect(TABLES.filter((t) => t !== 'sync_state' && untouched[t].length > 0)).toEqual([]);
          }
          const duplicates = await whole
            .selectFrom('events')
            .select('id')
            .groupBy('id')
            .having((eb) => eb.fn.countAll(), '>', 1)
            .execute();
          expect(duplicates).toEqual([]);
        } finally {
          for (const env of environments) for (const runner of env.runners) await runner.close();
          await emulator.close();
        }
      }),
      { numRuns: 20 },
    );
    // The runs did something: a guard against a generator that stopped generating.
    expect(runs).toBeGreaterThanOrEqual(20);
    expect(operations).toBeGreaterThan(runs * 4);
  },
);
