/**
 * A domain event's refresh (one organization's connections listed before the batch's
 * transaction, applied inside it) forced into the bad orders, on a real Postgres, through the
 * real SDK against the emulator:
 * - a reconciliation commits a newer version of the organization's connection between the
 *   listing's read and the batch's commit (a barrier holds the listing): the newest wins;
 * - the listing is older than a `connection.*` event of its own batch (WorkOS's list lagging its
 *   stream): the event wins; and after either, nothing goes back;
 * - the process is SIGKILLed after it read the listing and before it committed (its transaction
 *   held at the cursor lock by another session): nothing of the batch is half-applied, and the
 *   next run applies it once.
 * The embedded database has one connection: these stay on the server.
 */
import pg from 'pg';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { WorkosModel } from '../emulator/index.ts';
import { backfill } from '../src/sync/backfill.ts';
import { readCursor } from '../src/sync/events/cursor.ts';
import type { SyncDeps } from '../src/sync/poll.ts';
import { poll } from '../src/sync/poll.ts';
import { reconcile } from '../src/sync/reconcile/reconcile.ts';
import {
  type ConnectionPage,
  type ConnectionsSource,
  workosConnectionsSource,
} from '../src/workos/connections-source.ts';
import { workosOrganizationsSource } from '../src/workos/organizations-source.ts';
import { finished, spawnCli } from './support/cli.ts';
import { createTestDatabase } from './support/database.ts';
import { noSecrets, silentLogger } from './support/logs.ts';
import { mirrorOf } from './support/mirror.ts';
import { API_KEY, FAST_BACKOFF, type SyncHarness, startHarness } from './support/sync.ts';
import { until } from './support/worker-process.ts';

const log = silentLogger();
let h: SyncHarness;
let model: WorkosModel;
let organizationId: string;
let connectionId: string;
let firstDomain: string;

beforeEach(async () => {
  model = new WorkosModel({ seed: 23 });
  h = await startHarness({ model });
  const { data: organization } = model.createOrganization({ name: 'Acme', domains: ['acme.example'] });
  organizationId = organization.id;
  firstDomain = organization.domains[0]!.id;
  connectionId = String(model.createConnection({ organizationId, name: 'Acme SSO' }).id);
  model.activate(connectionId);
  await backfill(backfillDeps());
});
afterEach(() => h.close());

const db = () => h.database.db;
const listings = () => workosConnectionsSource(h.workos);
function backfillDeps(): SyncDeps {
  return {
    db: db(),
    events: h.deps().events,
    connections: listings(),
    organizations: workosOrganizationsSource(h.workos),
    log,
    scrub: noSecrets,
  };
}
const reconcileNow = () =>
  reconcile({
    db: db(),
    connections: listings(),
    organizations: workosOrganizationsSource(h.workos),
    log,
    scrub: noSecrets,
  });
const stored = () =>
  db()
    .selectFrom('connections')
    .select(['name', 'state', 'updated_at'])
    .where('id', '=', connectionId)
    .executeTakeFirstOrThrow();
const storedDomains = async () =>
  (
    await db()
      .selectFrom('connection_domains')
      .select('domain')
      .where('connection_id', '=', connectionId)
      .orderBy('domain')
      .execute()
  ).map((r) => r.domain);

/** The refresh's listings go through `around` (the whole reconciliation's do not). */
function pollWithRefreshes(around: (page: () => Promise<ConnectionPage>) => Promise<ConnectionPage>) {
  const real = listings();
  const refreshing: ConnectionsSource = {
    listConnections: (after, scope) =>
      scope?.organizationId === undefined
        ? real.listConnections(after, scope)
        : around(() => real.listConnections(after, scope)),
  };
  return poll({ ...h.deps(), connections: refreshing }, { backoff: FAST_BACKOFF });
}

it('a reconciliation that commits a newer version while the listing is held: the newest wins, nothing goes back', async () => {
  model.addDomain(organizationId, 'acme.io');
  let arrive!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const poller = pollWithRefreshes(async (page) => {
    const listed = await page();
    arrive();
    await released;
    return listed;
  });
  await reached;
  // While the poller holds a listing that shows the connection active with two domains:
  // WorkOS deactivates it (an event for the next batch), renames it silently and drops a domain,
  // and a reconciliation commits that newest version.
  // (A millisecond apart at least: one version for two contents would be a tie, which goes to
  // the later write, whatever it knew.)
  model.deactivate(connectionId);
  const later = new Date(model.clock().getTime() + 5);
  model.rename(connectionId, 'Acme SSO (EU)', later);
  model.removeDomain(firstDomain, { at: later, silent: true });
  await reconcileNow();
  const newest = await stored();
  expect(newest).toMatchObject({ name: 'Acme SSO (EU)', state: 'inactive' });
  release();
  await poller;
  expect(await stored()).toEqual(newest);
  await poll(h.deps(), { backoff: FAST_BACKOFF });

  // The held listing was refused, and so was the older deactivation the next batch brought.
  expect(await stored()).toEqual(newest);
  expect(await storedDomains()).toEqual(['acme.io']);
  const outcomes = await db()
    .selectFrom('events')
    .select(['event', 'outcome'])
    .orderBy('seq', 'desc')
    .limit(2)
    .execute();
  expect(outcomes).toEqual([
    { event: 'connection.deactivated', outcome: 'stale' },
    { event: 'organization_domain.created', outcome: 'applied' },
  ]);
  // A reconciliation now agrees with the mirror: there is nothing left to fix.
  const again = await reconcileNow();
  expect(again.counts).toMatchObject({ inserted: 0, updated: 0, deleted: 0 });
});

it('a listing older than a connection event of its own batch loses to the event', async () => {
  model.addDomain(organizationId, 'acme.io');
  // WorkOS's list lagging its stream: the listing was read before the deactivation it will meet.
  const lagging = await listings().listConnections(undefined, { organizationId });
  model.deactivate(connectionId);
  const totals = await pollWithRefreshes(async () => lagging);
  expect(totals).toMatchObject({ applied: 2, refreshes: 1 });
  expect(await stored()).toMatchObject({ state: 'inactive' });
  expect(await storedDomains()).toEqual(['acme.example', 'acme.io']);
  expect(await mirrorOf(db())).toEqual(await mirrorAfterFreshBackfill());
});

it('SIGKILLed after reading the listing, before committing: nothing half-applied; the next run applies it once', async () => {
  const env = { DATABASE_URL: h.database.url, WORKOS_API_KEY: API_KEY, WORKOS_API_URL: h.emulator.url };
  model.addDomain(organizationId, 'acme.io');
  const cursor = await readCursor(db());
  // Another session holds the cursor row: the poll's transaction waits on it as its first statement.
  const blocker = new pg.Client({ connectionString: h.database.url });
  await blocker.connect();
  await blocker.query('begin');
  await blocker.query(`select * from workos.sync_state where stream = 'events' for update`);
  const listedBefore = refreshRequests().length;
  const child = spawnCli(['poll', '--no-migrate'], env);
  const exit = finished(child);
  await until(
    async () => refreshRequests().length > listedBefore && (await waitingOnTheCursor(blocker)),
    20_000,
  );
  child.kill('SIGKILL');
  expect((await exit).signal).toBe('SIGKILL');
  await blocker.query('rollback');
  await blocker.end();

  expect(await readCursor(db())).toBe(cursor);
  expect(await storedDomains()).toEqual(['acme.example']);
  expect(
    await db().selectFrom('organization_domains').select('domain').where('domain', '=', 'acme.io').execute(),
  ).toEqual([]);

  const run = await finished(spawnCli(['poll', '--no-migrate'], env));
  expect(run.code).toBe(0);
  expect(await storedDomains()).toEqual(['acme.example', 'acme.io']);
  const recorded = await db().selectFrom('events').select('id').execute();
  expect(new Set(recorded.map((r) => r.id)).size).toBe(recorded.length);
  expect(recorded.map((r) => r.id).sort()).toEqual(
    model
      .events()
      .map((e) => String(e.id))
      .sort(),
  );
});

const refreshRequests = () =>
  h.emulator.requests.filter(
    (r) => r.path === '/connections' && r.query.organization_id !== undefined && r.status === 200,
  );

/** Whether another session waits for a lock `blocker` holds. */
async function waitingOnTheCursor(blocker: pg.Client): Promise<boolean> {
  const { rows } = await blocker.query<{ n: string }>(
    `select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and pid <> pg_backend_pid()`,
  );
  return Number(rows[0]!.n) > 0;
}

/** What a mirror built from scratch now holds (the same WorkOS, a fresh database). */
async function mirrorAfterFreshBackfill() {
  const fresh = await createTestDatabase();
  try {
    await backfill({ ...backfillDeps(), db: fresh.db });
    return await mirrorOf(fresh.db);
  } finally {
    await fresh.close();
  }
}
