/**
 * One clock decides every version (`versions.ts`): WorkOS's. The same history is synced twice,
 * once with the emulated WorkOS ten minutes ahead of the database's clock and once ten minutes
 * behind it, and the mirror must be the same after every step. Each step is one where a version
 * taken from the database's clock would decide differently:
 * - the listing's certificate against events from before and after the listing;
 * - reconciliation's tombstones against a later listing (back only when WorkOS changed the
 *   connection after the deletion, not when it merely lists it again).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WorkosModel } from '../emulator/index.ts';
import { poll } from '../src/sync/poll.ts';
import { reconcile } from '../src/sync/reconcile/reconcile.ts';
import { type ConnectionsSource, workosConnectionsSource } from '../src/workos/connections-source.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { noSecrets, silentLogger } from './support/logs.ts';
import { FAST_BACKOFF, startHarness } from './support/sync.ts';

const log = silentLogger();
const MINUTES = 60_000;
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.close());
beforeEach(() => database.reset());

/** What the mirror says, keyed by connection name (ids embed WorkOS's time, so they differ between runs). */
async function normalisedMirror(db: TestDatabase['db']) {
  const connections = await db.selectFrom('connections').selectAll().orderBy('name').execute();
  const name = new Map(connections.map((c) => [c.id, c.name]));
  const domains = await db.selectFrom('connection_domains').selectAll().execute();
  const certificates = await db.selectFrom('connection_certificates').selectAll().execute();
  const events = await db.selectFrom('events').select(['event', 'outcome', 'data']).orderBy('seq').execute();
  return {
    connections: connections.map((c) => ({
      name: c.name,
      state: c.state,
      deleted: c.deleted_at !== null,
      domains: domains
        .filter((d) => d.connection_id === c.id)
        .map((d) => d.domain)
        .sort(),
    })),
    certificates: certificates
      .map((c) => ({
        connection: name.get(c.connection_id) ?? c.connection_id,
        type: c.certificate_type,
        expiry: c.expiry_date.toISOString(),
        source: c.source,
        renewed: c.renewed_at !== null,
      }))
      .sort((a, b) => a.connection.localeCompare(b.connection)),
    events: events.map((e) => {
      const data = e.data as { id?: string; connection?: { id: string } };
      return `${e.event} ${name.get(data.id ?? data.connection?.id ?? '')}: ${e.outcome}`;
    }),
  };
}

type Mirror = Awaited<ReturnType<typeof normalisedMirror>>;

/** Syncs one history with WorkOS's clock `offsetMs` away from real time; the mirror after each step. */
async function syncHistory(offsetMs: number): Promise<Record<string, Mirror>> {
  await database.reset();
  const model = new WorkosModel({ seed: 3, clockOffsetMs: offsetMs });
  const h = await startHarness({ model, database });
  const steps: Record<string, Mirror> = {};
  const listing = workosConnectionsSource(h.workos);
  const hiding = (...ids: string[]): ConnectionsSource => ({
    async listConnections(after) {
      const page = await listing.listConnections(after);
      return {
        ...page,
        connections: page.connections.filter((c) => !ids.includes((c as { id: string }).id)),
      };
    },
  });
  const reconcileWith = (source: ConnectionsSource = listing) =>
    reconcile({ db: database.db, connections: source, log, scrub: noSecrets });
  const pollEvents = () => poll(h.deps(), { backoff: FAST_BACKOFF });
  try {
    // The history before the backfill, a minute ago in WorkOS's clock, a second between changes.
    const start = model.clock().getTime() - MINUTES;
    const second = (n: number) => new Date(start + n * 1000);
    const saml = model.createConnection({
      name: 'Saml',
      connectionType: 'OktaSAML',
      domains: ['saml.example'],
      signingCertificate: { notAfter: new Date('2030-01-01T00:00:00Z') },
      at: second(0),
    });
    model.activate(saml.id, second(1));
    model.renewCertificate(saml.id, 'ResponseSigning', new Date('2031-01-01T00:00:00Z'), second(2));
    // Changed since, without an event: the listing shows a certificate newer than the event's.
    model.setSigningCertificate(saml.id, { notAfter: new Date('2032-01-01T00:00:00Z') }, second(3));
    const changed = model.createConnection({ name: 'Changed', domains: ['changed.example'], at: second(4) });
    const unchanged = model.createConnection({
      name: 'Unchanged',
      domains: ['unchanged.example'],
      at: second(4),
    });
    model.activate(changed.id, second(5));
    model.activate(unchanged.id, second(6));

    // A backfill: the listing first, then the events, all older than the listing.
    await reconcileWith();
    await pollEvents();
    steps['backfill'] = await normalisedMirror(database.db);

    // A listing that lacks two connections tombstones them at the listing's time …
    const gone = await reconcileWith(hiding(changed.id, unchanged.id));
    expect(gone.counts.deleted).toBe(2);
    steps['tombstoned'] = await normalisedMirror(database.db);

    // … and a later one brings back only the one WorkOS changed after that time.
    // (At least a millisecond after the listing's time, which may be this very millisecond.)
    model.rename(
      changed.id,
      'Changed again',
      new Date(Math.max(model.clock().getTime(), gone.listedAt.getTime() + 1)),
    );
    const again = await reconcileWith();
    steps['listed again'] = await normalisedMirror(database.db);

    // A renewal after the listing wins over the certificate it stored. (After the listing's
    // time, which the rename above may have put a millisecond ahead of WorkOS's clock.)
    model.renewCertificate(
      saml.id,
      'ResponseSigning',
      new Date('2033-01-01T00:00:00Z'),
      new Date(Math.max(model.clock().getTime(), again.listedAt.getTime() + 1)),
    );
    await pollEvents();
    steps['renewed live'] = await normalisedMirror(database.db);
    // The next listing's time is known to the second only (the Date header), so in the renewal's
    // own second it would be older than the renewal. WorkOS's clock moves on two seconds first:
    // the listing is then after the renewal in both runs, and its copy of the certificate wins.
    model.setClockOffset(model.clockOffsetMs + 2_000);
    await reconcileWith();
    steps['reconciled again'] = await normalisedMirror(database.db);
    return steps;
  } finally {
    await h.close();
  }
}

describe('WorkOS`s clock ahead of or behind the database`s decides nothing', () => {
  it('ten minutes ahead and ten minutes behind give the same mirror after every step', async () => {
    const ahead = await syncHistory(10 * MINUTES);
    const behind = await syncHistory(-10 * MINUTES);
    expect(behind).toEqual(ahead);

    // And it is the right mirror, not merely the same one.
    expect(ahead['backfill']!.certificates).toEqual([
      {
        connection: 'Saml',
        type: 'ResponseSigning',
        expiry: '2032-01-01T00:00:00.000Z',
        source: 'listing',
        renewed: false,
      },
    ]);
    expect(ahead['backfill']!.events).toContain('connection.saml_certificate_renewed Saml: stale');
    expect(ahead['tombstoned']!.connections.filter((c) => c.deleted).map((c) => c.name)).toEqual([
      'Changed',
      'Unchanged',
    ]);
    expect(ahead['listed again']!.connections).toEqual([
      { name: 'Changed again', state: 'active', deleted: false, domains: ['changed.example'] },
      { name: 'Saml', state: 'active', deleted: false, domains: ['saml.example'] },
      { name: 'Unchanged', state: 'active', deleted: true, domains: ['unchanged.example'] },
    ]);
    expect(ahead['renewed live']!.certificates).toEqual([
      {
        connection: 'Saml',
        type: 'ResponseSigning',
        expiry: '2033-01-01T00:00:00.000Z',
        source: 'event',
        renewed: true,
      },
    ]);
    expect(ahead['reconciled again']!.certificates[0]).toMatchObject({
      expiry: '2033-01-01T00:00:00.000Z',
      source: 'listing',
    });
  });
});
