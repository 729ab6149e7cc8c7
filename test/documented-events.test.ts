/**
 * The five example payloads of WorkOS's "Connection events" page apply exactly as documented.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applyPage } from '../src/sync/events/apply-page.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { documentedEvents } from './support/fixtures.ts';
import { silentLogger } from './support/logs.ts';

let t: TestDatabase;
const log = silentLogger();

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());
beforeEach(() => t.reset());

/** The docs reuse one id for three events; applying all five needs distinct ids. */
function withDistinctIds() {
  return documentedEvents().map((e, i) => ({ ...e, id: `${e.id}_${i}` }));
}

describe('documented connection events', () => {
  it('apply in order: activated, deactivated, deleted, then both certificate events', async () => {
    const events = withDistinctIds();
    const summary = await applyPage(
      { db: t.db, log },
      { expectedCursor: null, nextCursor: events.at(-1)!.id, events },
    );
    expect(summary).toMatchObject({ applied: 5, stale: 0, ignored: 0, quarantined: 0, duplicate: 0 });

    const connection = await t.db.selectFrom('connections').selectAll().executeTakeFirstOrThrow();
    expect(connection).toMatchObject({
      id: 'conn_01EHWNC0FCBHZ3BJ7EGKYXK0E6',
      organization_id: 'org_01EHWNCE74X7JSDV0X3SZ3KJNY',
      connection_type: 'OktaSAML',
      name: "Foo Corp's Connection",
      // deleted keeps the state the connection had before deletion
      state: 'inactive',
      source: 'event',
    });
    expect(connection.deleted_at?.toISOString()).toBe('2021-06-25T19:07:33.155Z');
    expect(connection.updated_at.toISOString()).toBe('2021-06-25T19:07:33.155Z');
    expect((connection.raw as { name: string }).name).toBe("Foo Corp's Connection");

    const domains = await t.db.selectFrom('connection_domains').selectAll().execute();
    expect(domains).toEqual([
      {
        id: 'org_domain_01EHWNFTAFCF3CQAE5A9Q0P1YB',
        connection_id: 'conn_01EHWNC0FCBHZ3BJ7EGKYXK0E6',
        domain: 'foo-corp.com',
        environment: 'default',
      },
    ]);

    const certificate = await t.db
      .selectFrom('connection_certificates')
      .selectAll()
      .executeTakeFirstOrThrow();
    expect(certificate).toMatchObject({
      connection_id: 'conn_12FKJ843CVE8F7BXQSPFH0M53V',
      certificate_type: 'ResponseSigning',
      organization_id: 'org_12FKJ843CVE8F7BXQSPFH0M53V',
      is_expired: false,
      days_until_expiry: 3,
    });
    // Both certificate events carry the same created_at: the later one (renewal_required) wins the
    // tie. It names another expiry than the renewal, so it is about another certificate: the
    // renewal time does not carry over.
    expect(certificate.expiry_date.toISOString()).toBe('2021-06-28T19:07:33.155Z');
    expect(certificate.renewed_at).toBeNull();
    expect(certificate.renewal_required_at?.toISOString()).toBe('2021-06-25T19:07:33.155Z');

    const recorded = await t.db
      .selectFrom('events')
      .select(['id', 'event', 'outcome'])
      .orderBy('seq')
      .execute();
    expect(recorded.map((e) => e.event)).toEqual(events.map((e) => e.event));
    expect(recorded.every((e) => e.outcome === 'applied')).toBe(true);

    const state = await t.db
      .selectFrom('sync_state')
      .selectAll()
      .where('stream', '=', 'events')
      .executeTakeFirstOrThrow();
    expect(state.cursor).toBe(events.at(-1)!.id);
  });

  it('as published (three share one id) record the first of each id and skip the repeats', async () => {
    const events = documentedEvents();
    const summary = await applyPage(
      { db: t.db, log },
      { expectedCursor: null, nextCursor: events.at(-1)!.id, events },
    );
    expect(summary).toMatchObject({ applied: 3, duplicate: 2 });
    const recorded = await t.db.selectFrom('events').select(['id', 'event']).orderBy('seq').execute();
    expect(recorded.map((e) => e.event)).toEqual([
      'connection.activated',
      'connection.deactivated',
      'connection.deleted',
    ]);
    expect(await t.db.selectFrom('connection_certificates').selectAll().execute()).toEqual([]);
  });
});
