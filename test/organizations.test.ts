/**
 * Organizations and their domains through the real SDK over HTTP against the emulator, on a real
 * Postgres: a new mirror lists them; domain events keep `domain_routes` right at once, with no
 * reconciliation, and refresh their organization's connections (one listing per organization per
 * batch, waited out like a page when it fails, never reaching another organization's rows); an
 * upgraded mirror gets them from its first reconciliation; reconciliation finds what events did
 * not say; nothing stores a verification token.
 */
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkosModel } from '../emulator/index.ts';
import { backfill } from '../src/sync/backfill.ts';
import { readCursor } from '../src/sync/events/cursor.ts';
import type { SyncDeps } from '../src/sync/poll.ts';
import { poll } from '../src/sync/poll.ts';
import { reconcile } from '../src/sync/reconcile/reconcile.ts';
import { workosConnectionsSource } from '../src/workos/connections-source.ts';
import { workosOrganizationsSource } from '../src/workos/organizations-source.ts';
import { noSecrets, silentLogger } from './support/logs.ts';
import { insertConnectionRow } from './support/rows.ts';
import { FAST_BACKOFF, type SyncHarness, startHarness } from './support/sync.ts';

const log = silentLogger();
let h: SyncHarness;
let model: WorkosModel;

beforeEach(async () => {
  model = new WorkosModel({ seed: 15 });
  h = await startHarness({ model });
});
afterEach(() => h.close());

const db = () => h.database.db;
const backfillDeps = (): SyncDeps => ({
  db: db(),
  events: h.deps().events,
  connections: workosConnectionsSource(h.workos),
  organizations: workosOrganizationsSource(h.workos),
  log,
  scrub: noSecrets,
});
const pollEvents = () => poll(h.deps(), { backoff: FAST_BACKOFF });
const reconcileNow = () =>
  reconcile({
    db: db(),
    connections: workosConnectionsSource(h.workos),
    organizations: workosOrganizationsSource(h.workos),
    log,
    scrub: noSecrets,
  });

/** The routing view's answer for a domain: its state, organization and live connections. */
async function route(domain: string) {
  return db()
    .selectFrom('domain_routes')
    .select(['domain_state', 'organization_id', 'organization_name', 'connection_id', 'connection_state'])
    .where('domain', '=', domain)
    .orderBy('connection_id')
    .execute();
}

const domainsOf = async (connectionId: string) =>
  (
    await db()
      .selectFrom('connection_domains')
      .select('domain')
      .where('connection_id', '=', connectionId)
      .orderBy('domain')
      .execute()
  ).map((r) => r.domain);

/** Requests that listed one organization's connections. */
const refreshes = () =>
  h.emulator.requests.filter((r) => r.path === '/connections' && r.query.organization_id !== undefined);

/** An organization with one active connection that lists its domains. */
function organizationWithConnection(name: string, domains: string[]) {
  const { data: organization } = model.createOrganization({ name, domains });
  const connection = model.createConnection({ organizationId: organization.id, name: `${name} SSO` });
  model.activate(String(connection.id));
  return { organizationId: organization.id, connectionId: String(connection.id) };
}

describe('a new mirror', () => {
  it('lists organizations and their domains first, then follows them: tables and routes match WorkOS', async () => {
    const acme = organizationWithConnection('Acme', ['acme.example', 'acme.io']);
    model.verifyDomain(model.getOrganization(acme.organizationId).domains[0]!.id);
    organizationWithConnection('Globex', ['globex.example']);
    const result = await backfill(backfillDeps());
    expect(result.reconciledFor).toBe('new_mirror');
    expect(result.reconciliation?.organizations?.organizations).toMatchObject({ seen: 2, inserted: 2 });

    const organizations = await db()
      .selectFrom('live_organizations')
      .select(['id', 'name'])
      .orderBy('id')
      .execute();
    expect(organizations).toEqual(
      model
        .liveOrganizations()
        .map((o) => ({ id: o.id, name: o.name }))
        .sort((a, b) => a.id.localeCompare(b.id)),
    );
    const domains = await db()
      .selectFrom('live_organization_domains')
      .select(['id', 'organization_id', 'domain', 'state'])
      .orderBy('id')
      .execute();
    expect(domains).toEqual(
      model
        .liveOrganizations()
        .flatMap((o) =>
          o.domains.map((d) => ({ id: d.id, organization_id: o.id, domain: d.domain, state: d.state })),
        )
        .sort((a, b) => a.id.localeCompare(b.id)),
    );
    expect(await route('acme.example')).toEqual([
      {
        domain_state: 'verified',
        organization_id: acme.organizationId,
        organization_name: 'Acme',
        connection_id: acme.connectionId,
        connection_state: 'active',
      },
    ]);
  });
});

describe('what a domain event costs', () => {
  it('none for the history a new mirror replays after its listing, nor for an event recorded before', async () => {
    // A history of a few minutes ago: older than the listing to the second (its Date header).
    const ago = (seconds: number) => new Date(model.clock().getTime() - seconds * 1000);
    const { data: organization } = model.createOrganization({
      name: 'Globex',
      domains: ['globex.example'],
      at: ago(300),
    });
    const organizationId = organization.id;
    const connection = model.createConnection({ organizationId, name: 'Globex SSO', at: ago(290) });
    model.activate(String(connection.id), ago(280));
    for (let i = 0; i < 5; i++) model.addDomain(organizationId, `globex-${i}.example`, {}, ago(270 - i));
    await backfill(backfillDeps());
    // every domain event is older than the listing the backfill started from, which shows its effect
    expect(refreshes()).toEqual([]);
    expect(await domainsOf(model.liveConnections()[0]!.id)).toHaveLength(6);

    model.addDomain(organizationId, 'globex.io');
    // the stream read again from before the new event (as after a cursor recovery)
    await db().updateTable('sync_state').set({ cursor: null }).where('stream', '=', 'events').execute();
    const totals = await pollEvents();
    expect(totals).toMatchObject({ applied: 1, refreshes: 1 });
    expect(refreshes()).toHaveLength(1);
    await db().updateTable('sync_state').set({ cursor: null }).where('stream', '=', 'events').execute();
    expect(await pollEvents()).toMatchObject({ applied: 0, refreshes: 0 });
    expect(refreshes()).toHaveLength(1);
  });
});

describe('domain events, with reconciliation switched off', () => {
  it('the routing query is right right after a domain is added, verified and removed', async () => {
    const { organizationId, connectionId } = organizationWithConnection('Initech', ['initech.example']);
    await backfill(backfillDeps());
    const runs = async () => (await db().selectFrom('reconciliation_runs').select('id').execute()).length;
    const reconciled = await runs();

    const { data: added } = model.addDomain(organizationId, 'initech.io');
    await pollEvents();
    expect(await route('initech.io')).toEqual([
      expect.objectContaining({
        domain_state: 'pending',
        organization_id: organizationId,
        connection_id: connectionId,
      }),
    ]);
    expect(await domainsOf(connectionId)).toEqual(['initech.example', 'initech.io']);

    model.verifyDomain(added.id);
    await pollEvents();
    expect(await route('initech.io')).toEqual([expect.objectContaining({ domain_state: 'verified' })]);

    model.removeDomain(added.id);
    await pollEvents();
    expect(await route('initech.io')).toEqual([]);
    expect(await domainsOf(connectionId)).toEqual(['initech.example']);
    // no reconciliation did any of it; each batch listed the organization's connections once
    expect(await runs()).toBe(reconciled);
    expect(refreshes()).toHaveLength(3);
    expect(refreshes().every((r) => r.query.organization_id === organizationId)).toBe(true);
    expect(refreshes().every((r) => r.userAgent?.includes('(refresh)'))).toBe(true);
  });

  it('one listing per organization per batch, however many of its domain events the batch holds', async () => {
    const a = organizationWithConnection('Hooli', ['hooli.example']);
    const b = organizationWithConnection('Stark', ['stark.example']);
    await backfill(backfillDeps());
    const before = refreshes().length;
    for (let i = 0; i < 5; i++) model.addDomain(a.organizationId, `hooli-${i}.example`);
    model.addDomain(b.organizationId, 'stark.io');
    model.updateOrganization(a.organizationId, { name: 'Hooli XYZ' });
    const totals = await pollEvents();
    expect(totals).toMatchObject({ applied: 7, refreshes: 2 });
    expect(
      refreshes()
        .slice(before)
        .map((r) => r.query.organization_id)
        .sort(),
    ).toEqual([a.organizationId, b.organizationId].sort());
    expect(await domainsOf(a.connectionId)).toHaveLength(6);
    expect(await route('hooli-4.example')).toEqual([
      expect.objectContaining({ organization_name: 'Hooli XYZ' }),
    ]);
  });

  it('a listing that fails is waited out like a page: the batch waits, nothing of it commits meanwhile', async () => {
    const { organizationId, connectionId } = organizationWithConnection('Umbrella', ['umbrella.example']);
    await backfill(backfillDeps());
    const cursor = await readCursor(db());
    model.addDomain(organizationId, 'umbrella.io');
    h.emulator.faults.add({ kind: 'status', status: 503, path: '/connections', times: 2 });
    const seenWhileFailing: unknown[] = [];
    await poll(h.deps(), {
      backoff: FAST_BACKOFF,
      onRetry: () => {
        seenWhileFailing.push(readCursor(db()));
      },
    });
    expect(seenWhileFailing).toHaveLength(2);
    expect(await Promise.all(seenWhileFailing)).toEqual([cursor, cursor]);
    expect(await domainsOf(connectionId)).toEqual(['umbrella.example', 'umbrella.io']);
    expect(await route('umbrella.io')).toHaveLength(1);
  });

  it("never tombstones a row of another organization, and tombstones the organization's own that WorkOS no longer lists", async () => {
    const { organizationId, connectionId } = organizationWithConnection('Wayne', ['wayne.example']);
    await backfill(backfillDeps());
    // rows WorkOS does not list: one of this organization, one of another, both written long ago
    const longAgo = new Date('2026-01-01T00:00:00Z');
    await insertConnectionRow(db(), {
      id: 'conn_gone',
      name: 'Gone',
      organization_id: organizationId,
      updated_at: longAgo,
      synced_at: longAgo,
    });
    await insertConnectionRow(db(), {
      id: 'conn_other',
      name: 'Other',
      organization_id: 'org_other',
      updated_at: longAgo,
      synced_at: longAgo,
    });
    model.addDomain(organizationId, 'wayne.io');
    await pollEvents();
    const rows = await db()
      .selectFrom('connections')
      .select(['id', 'deleted_at'])
      .where('id', 'in', ['conn_gone', 'conn_other', connectionId])
      .orderBy('id')
      .execute();
    expect(rows.find((r) => r.id === 'conn_gone')?.deleted_at).not.toBeNull();
    expect(rows.find((r) => r.id === 'conn_other')?.deleted_at).toBeNull();
    expect(rows.find((r) => r.id === connectionId)?.deleted_at).toBeNull();
  });
});

describe('a mirror upgraded from a release that did not mirror organizations', () => {
  it('gets them from its first reconciliation: backfill runs it first and says so, without a new backfill', async () => {
    const { organizationId } = organizationWithConnection('Tyrell', ['tyrell.example']);
    await backfill(backfillDeps());
    // what the previous release left: the same cursor and runs, none of which listed organizations
    await db().deleteFrom('organization_domains').execute();
    await db().deleteFrom('organizations').execute();
    await db().updateTable('reconciliation_runs').set({ organizations_listed: false }).execute();
    const cursor = await readCursor(db());
    const eventsBefore = h.emulator.requests.filter((r) => r.path === '/events').length;

    const result = await backfill(backfillDeps());
    expect(result.reconciledFor).toBe('organizations');
    expect(result.totals).toMatchObject({ events: 0, caughtUp: true, cursor });
    // caught up from the cursor: one request, not the history again
    expect(h.emulator.requests.filter((r) => r.path === '/events').length - eventsBefore).toBe(1);
    expect(await route('tyrell.example')).toEqual([
      expect.objectContaining({ organization_id: organizationId }),
    ]);
    expect((await backfill(backfillDeps())).reconciledFor).toBeNull();
  });
});

describe('reconciliation', () => {
  it('finds what no event said of organizations and domains, and counts it in its run', async () => {
    const soylent = organizationWithConnection('Soylent', ['soylent.example', 'soylent.io']);
    const vandelay = organizationWithConnection('Vandelay', ['vandelay.example']);
    await backfill(backfillDeps());
    const [first, second] = model.getOrganization(soylent.organizationId).domains;
    model.updateOrganization(soylent.organizationId, { name: 'Soylent Green' }, { silent: true });
    model.verifyDomain(first!.id, { silent: true });
    model.removeDomain(second!.id, { silent: true });
    model.addDomain(vandelay.organizationId, 'vandelay.io', {}, { silent: true });
    const report = await reconcileNow();
    expect(report.organizations).toEqual({
      organizations: { seen: 2, inserted: 0, updated: 1, deleted: 0 },
      domains: { seen: 3, inserted: 1, updated: 1, deleted: 1 },
    });
    expect(
      report.drift
        .filter((d) => d.entity !== 'connection')
        .map((d) => `${d.entity} ${d.kind} ${d.name}`)
        .sort(),
    ).toEqual([
      'domain deleted soylent.io',
      'domain inserted vandelay.io',
      'domain updated soylent.example',
      'organization updated Soylent Green',
    ]);
    const run = await db()
      .selectFrom('reconciliation_runs')
      .selectAll()
      .where('id', '=', report.runId!)
      .executeTakeFirstOrThrow();
    expect(run).toMatchObject({
      organizations_listed: true,
      organizations_updated: 1,
      domains_inserted: 1,
      domains_updated: 1,
      domains_deleted: 1,
    });
    expect(await route('soylent.io')).toEqual([]);
    expect(await route('vandelay.io')).toHaveLength(1);
    // and once more: nothing left to find
    expect((await reconcileNow()).organizations).toMatchObject({
      organizations: { updated: 0, deleted: 0 },
      domains: { inserted: 0, updated: 0, deleted: 0 },
    });
  });
});

it('no verification token is stored anywhere, though WorkOS sent one with every dns domain', async () => {
  const { organizationId } = organizationWithConnection('Cyberdyne', ['cyberdyne.example']);
  model.addDomain(organizationId, 'cyberdyne.io');
  await backfill(backfillDeps());
  model.verifyDomain(model.getOrganization(organizationId).domains[1]!.id);
  await pollEvents();
  const sent = model.events().flatMap((e) => JSON.stringify(e).match(/"verification_token":"[^"]+"/g) ?? []);
  expect(sent.length).toBeGreaterThan(0);
  const tables = ['events', 'organizations', 'organization_domains', 'connections', 'connection_domains'];
  for (const table of tables) {
    const { rows } = await sql<{
      text: string;
    }>`select coalesce(string_agg(t::text, ''), '') as text from ${sql.table(`workos.${table}`)} t`.execute(
      db(),
    );
    expect(rows[0]!.text).not.toContain('verification_token');
    for (const token of sent) expect(rows[0]!.text).not.toContain(token.split(':')[1]!.replaceAll('"', ''));
  }
});
