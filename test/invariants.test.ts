/**
 * DESIGN.md's invariants 1–4 and 6, one or more tests each, through the real apply step on a
 * real Postgres: idempotence, monotonic versions, terminal deletion, certificate versions,
 * no silent drops, fencing, lenient timestamps.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CursorMovedError } from '../src/errors.ts';
import { applyPage, applyPages } from '../src/sync/events/apply-page.ts';
import { readCursor } from '../src/sync/events/cursor.ts';
import { parseEvent } from '../src/sync/events/parse-event.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import {
  certificateRenewalRequired,
  certificateRenewed,
  connectionEvent,
  rawEvent,
} from './support/events.ts';
import { capturingLogger } from './support/logs.ts';

let t: TestDatabase;
let logs = capturingLogger();

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());
beforeEach(async () => {
  await t.reset();
  logs = capturingLogger();
});

/** Applies events as one page after the current cursor, the way the drain loop does. */
async function apply(...events: Record<string, unknown>[]) {
  const expectedCursor = await readCursor(t.db);
  return applyPage(
    { db: t.db, log: logs.log },
    { expectedCursor, nextCursor: String(events.at(-1)!.id), events },
  );
}

const connection = (id = 'conn_1') =>
  t.db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirst();
const certificate = () => t.db.selectFrom('connection_certificates').selectAll().executeTakeFirstOrThrow();
const eventRows = () => t.db.selectFrom('events').select(['id', 'outcome', 'error']).orderBy('seq').execute();
const outcomes = async () => (await eventRows()).map((e) => e.outcome);
const tableSnapshot = async () => ({
  connections: await t.db
    .selectFrom('connections')
    .select(['id', 'state', 'name', 'updated_at', 'deleted_at'])
    .orderBy('id')
    .execute(),
  domains: await t.db.selectFrom('connection_domains').selectAll().orderBy('id').execute(),
  certificates: await t.db
    .selectFrom('connection_certificates')
    .select(['connection_id', 'certificate_type', 'expiry_date', 'version_at'])
    .orderBy('connection_id')
    .execute(),
  events: await t.db.selectFrom('events').select(['id', 'outcome']).orderBy('seq').execute(),
});

describe('idempotence (invariant 2)', () => {
  it('a re-delivered page changes nothing', async () => {
    const a = connectionEvent('connection.activated', {
      updated_at: '2024-01-02T00:00:00Z',
      domains: [{ id: 'd1', domain: 'a.com' }],
    });
    const b = connectionEvent('connection.deactivated', {
      updated_at: '2024-01-03T00:00:00Z',
      domains: [{ id: 'd1', domain: 'a.com' }],
    });
    await apply(a, b);
    const before = await tableSnapshot();
    const again = await apply(a, b);
    expect(again).toMatchObject({ duplicate: 2, applied: 0, stale: 0 });
    expect(await tableSnapshot()).toEqual(before);
  });

  it('a duplicate inside one page is applied once', async () => {
    const a = connectionEvent('connection.activated', { updated_at: '2024-01-02T00:00:00Z' });
    const summary = await apply(a, a);
    expect(summary).toMatchObject({ applied: 1, duplicate: 1 });
    expect(await outcomes()).toEqual(['applied']);
  });

  it('a known id with a different payload is a no-op, and reported', async () => {
    const a = connectionEvent('connection.activated', { updated_at: '2024-01-02T00:00:00Z', name: 'First' });
    await apply(a);
    const forged = { ...a, data: { ...a.data, name: 'Second', updated_at: '2024-02-01T00:00:00Z' } };
    expect(await apply(forged)).toMatchObject({ duplicate: 1, applied: 0 });
    expect((await connection())?.name).toBe('First');
    const warning = logs.lines().find((l) => String(l.msg).includes('different payload'));
    expect(warning?.eventId).toBe(a.id);
  });

  it('the same payload with keys in another order is not reported as different', async () => {
    const a = connectionEvent('connection.activated', { updated_at: '2024-01-02T00:00:00Z' });
    await apply(a);
    const reordered = { ...a, data: Object.fromEntries(Object.entries(a.data).reverse()) };
    await apply(reordered);
    expect(logs.lines().some((l) => String(l.msg).includes('different payload'))).toBe(false);
  });
});

describe('monotonic connections (invariant 3)', () => {
  it('an activated older than the stored deactivated is stale', async () => {
    await apply(connectionEvent('connection.deactivated', { updated_at: '2024-01-05T00:00:00Z' }));
    const old = connectionEvent(
      'connection.activated',
      { updated_at: '2024-01-04T00:00:00Z' },
      { created_at: '2024-01-06T00:00:00Z' },
    );
    expect(await apply(old)).toMatchObject({ stale: 1, applied: 0 });
    expect((await connection())?.state).toBe('inactive');
    expect(await outcomes()).toEqual(['applied', 'stale']);
  });

  it('an equal updated_at applies: ties go to the later event', async () => {
    await apply(connectionEvent('connection.activated', { updated_at: '2024-01-05T00:00:00Z' }));
    await apply(connectionEvent('connection.deactivated', { updated_at: '2024-01-05T00:00:00Z' }));
    expect((await connection())?.state).toBe('inactive');
    expect(await outcomes()).toEqual(['applied', 'applied']);
  });

  it('within one page, order decides just as across pages', async () => {
    const summary = await apply(
      connectionEvent('connection.activated', { updated_at: '2024-01-05T00:00:00Z', name: 'v5' }),
      connectionEvent('connection.deactivated', { updated_at: '2024-01-07T00:00:00Z', name: 'v7' }),
      connectionEvent('connection.activated', { updated_at: '2024-01-06T00:00:00Z', name: 'v6' }),
    );
    expect(summary).toMatchObject({ applied: 2, stale: 1 });
    expect(await connection()).toMatchObject({ name: 'v7', state: 'inactive' });
  });

  it('replaces the domain set, and keeps it when the payload has none', async () => {
    await apply(
      connectionEvent('connection.activated', {
        updated_at: '2024-01-01T00:00:00Z',
        domains: [
          { id: 'd1', domain: 'a.com' },
          { id: 'd2', domain: 'b.com' },
        ],
      }),
    );
    await apply(
      connectionEvent('connection.deactivated', {
        updated_at: '2024-01-02T00:00:00Z',
        domains: [
          { id: 'd2', domain: 'b.com' },
          { id: 'd3', domain: 'c.com' },
        ],
      }),
    );
    await apply(
      connectionEvent('connection.activated', { updated_at: '2024-01-03T00:00:00Z', domains: undefined }),
    );
    const domains = await t.db
      .selectFrom('connection_domains')
      .select(['id', 'domain'])
      .orderBy('id')
      .execute();
    expect(domains).toEqual([
      { id: 'd2', domain: 'b.com' },
      { id: 'd3', domain: 'c.com' },
    ]);
  });
});

describe('deletion is terminal (invariant 3)', () => {
  it('keeps a tombstone with the pre-deletion state; nothing after it applies', async () => {
    await apply(connectionEvent('connection.activated', { updated_at: '2024-01-01T00:00:00Z' }));
    await apply(
      connectionEvent(
        'connection.deleted',
        { updated_at: '2024-01-01T00:00:00Z', state: 'active' },
        { created_at: '2024-01-02T00:00:00Z' },
      ),
    );
    const late = connectionEvent('connection.activated', { updated_at: '2024-03-01T00:00:00Z' });
    expect(await apply(late)).toMatchObject({ stale: 1 });
    const row = await connection();
    expect(row?.state).toBe('active');
    expect(row?.deleted_at?.toISOString()).toBe('2024-01-02T00:00:00.000Z');
    expect(await t.db.selectFrom('live_connections').selectAll().execute()).toEqual([]);
  });

  it('works for a connection never seen before, without domains', async () => {
    const deleted = connectionEvent(
      'connection.deleted',
      { id: 'conn_ghost', updated_at: '2024-01-01T00:00:00Z', state: 'inactive' },
      { created_at: '2024-01-09T00:00:00Z' },
    );
    expect(await apply(deleted)).toMatchObject({ applied: 1 });
    expect(await connection('conn_ghost')).toMatchObject({ state: 'inactive', name: 'Foo Corp' });
  });

  it('tombstones a stored row that is newer than the deletion payload, keeping its columns', async () => {
    await apply(
      connectionEvent('connection.activated', { updated_at: '2024-02-01T00:00:00Z', name: 'Newer' }),
    );
    await apply(
      connectionEvent(
        'connection.deleted',
        { updated_at: '2024-01-01T00:00:00Z', name: 'Older' },
        { created_at: '2024-02-02T00:00:00Z' },
      ),
    );
    const row = await connection();
    expect(row).toMatchObject({ name: 'Newer' });
    expect(row?.deleted_at?.toISOString()).toBe('2024-02-02T00:00:00.000Z');
  });

  it('a second deletion is stale and keeps the first deletion time', async () => {
    await apply(
      connectionEvent(
        'connection.deleted',
        { updated_at: '2024-01-01T00:00:00Z' },
        { created_at: '2024-01-02T00:00:00Z' },
      ),
    );
    expect(
      await apply(
        connectionEvent(
          'connection.deleted',
          { updated_at: '2024-01-01T00:00:00Z' },
          { created_at: '2024-01-05T00:00:00Z' },
        ),
      ),
    ).toMatchObject({ stale: 1 });
    expect((await connection())?.deleted_at?.toISOString()).toBe('2024-01-02T00:00:00.000Z');
  });
});

describe('certificates are versioned by event time (invariant 3)', () => {
  it('renewal_required → renewed → an older renewal_required keeps the newest expiry', async () => {
    await apply(
      certificateRenewalRequired({
        expiry_date: '2024-02-01T00:00:00Z',
        created_at: '2024-01-20T00:00:00Z',
        days: 12,
      }),
    );
    await apply(
      certificateRenewed({
        expiry_date: '2025-02-01T00:00:00Z',
        created_at: '2024-01-25T00:00:00Z',
      }),
    );
    const late = certificateRenewalRequired({
      expiry_date: '2024-02-01T00:00:00Z',
      created_at: '2024-01-22T00:00:00Z',
      days: 10,
    });
    expect(await apply(late)).toMatchObject({ stale: 1 });
    const cert = await certificate();
    expect(cert.expiry_date.toISOString()).toBe('2025-02-01T00:00:00.000Z');
    expect(cert.renewed_at?.toISOString()).toBe('2024-01-25T00:00:00.000Z');
    // the notice was about the certificate the renewal replaced
    expect(cert.renewal_required_at).toBeNull();
    expect(cert.days_until_expiry).toBeNull();
    expect(cert.is_expired).toBe(false);
  });

  it('a notice about the certificate the row holds keeps when it was renewed', async () => {
    await apply(
      certificateRenewed({
        expiry_date: '2025-02-01T00:00:00Z',
        created_at: '2024-01-25T00:00:00Z',
      }),
    );
    await apply(
      certificateRenewalRequired({
        expiry_date: '2025-02-01T00:00:00Z',
        created_at: '2025-01-20T00:00:00Z',
        days: 12,
      }),
    );
    const cert = await certificate();
    expect(cert.renewed_at?.toISOString()).toBe('2024-01-25T00:00:00.000Z');
    expect(cert.renewal_required_at?.toISOString()).toBe('2025-01-20T00:00:00.000Z');
    expect(cert.days_until_expiry).toBe(12);
  });

  it('two renewals with the same event time in separate pages: the later one wins (ties go to the later write)', async () => {
    await apply(
      certificateRenewed({ expiry_date: '2025-01-01T00:00:00Z', created_at: '2024-01-02T00:00:00Z' }),
    );
    await apply(
      certificateRenewed({ expiry_date: '2026-01-01T00:00:00Z', created_at: '2024-01-02T00:00:00Z' }),
    );
    expect((await certificate()).expiry_date.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(await outcomes()).toEqual(['applied', 'applied']);
  });

  it('certificate types of one connection are independent, and need no connection row', async () => {
    await apply(
      certificateRenewed({
        connection_id: 'conn_x',
        certificate_type: 'ResponseSigning',
        expiry_date: '2025-01-01T00:00:00Z',
        created_at: '2024-01-02T00:00:00Z',
      }),
      certificateRenewed({
        connection_id: 'conn_x',
        certificate_type: 'RequestSigning',
        expiry_date: '2026-01-01T00:00:00Z',
        created_at: '2024-01-01T00:00:00Z',
      }),
    );
    const certs = await t.db
      .selectFrom('connection_certificates')
      .select(['certificate_type'])
      .orderBy('certificate_type')
      .execute();
    expect(certs.map((c) => c.certificate_type)).toEqual(['RequestSigning', 'ResponseSigning']);
    expect(await connection('conn_x')).toBeUndefined();
  });
});

describe('no silent drops (invariant 6)', () => {
  it('records unknown types as ignored and malformed events as quarantined, and goes on', async () => {
    const good1 = connectionEvent('connection.activated', { updated_at: '2024-01-01T00:00:00Z' });
    const unknown = rawEvent(
      'connection.renamed',
      { id: 'conn_1' },
      { id: 'event_unknown', created_at: '2024-01-01T00:00:01Z' },
    );
    const missing = rawEvent(
      'connection.activated',
      { id: 'conn_2' },
      { id: 'event_missing', created_at: '2024-01-01T00:00:02Z' },
    );
    const badTime = connectionEvent(
      'connection.deactivated',
      { updated_at: 'yesterday' },
      { created_at: '2024-01-01T00:00:03Z', id: 'event_badtime' },
    );
    const notObject = 'surprise';
    const good2 = connectionEvent('connection.deactivated', { updated_at: '2024-01-02T00:00:00Z' });
    const summary = await apply(
      good1,
      unknown,
      missing,
      badTime,
      notObject as unknown as Record<string, unknown>,
      good2,
    );
    expect(summary).toMatchObject({ applied: 2, ignored: 1, quarantined: 3, events: 6 });
    expect((await connection())?.state).toBe('inactive');

    const rows = await t.db
      .selectFrom('events')
      .select(['id', 'event', 'outcome', 'error', 'data'])
      .orderBy('seq')
      .execute();
    expect(rows.map((r) => r.outcome)).toEqual([
      'applied',
      'ignored',
      'quarantined',
      'quarantined',
      'quarantined',
      'applied',
    ]);
    expect(rows[2]?.error).toMatch(/data\.connection_type/);
    expect(rows[3]?.error).toMatch(/data\.updated_at: not a timestamp: "yesterday"/);
    expect(rows[4]).toMatchObject({
      event: '(unknown)',
      data: 'surprise',
      error: 'the event is not a JSON object',
    });
    expect(rows[4]?.id).toMatch(/^invalid_[0-9a-f]{32}$/);
    expect(await readCursor(t.db)).toBe(good2.id);
  });

  it('quarantines an event whose value Postgres refuses (NUL in text) instead of wedging the page', async () => {
    const before = connectionEvent('connection.activated', {
      id: 'conn_a',
      updated_at: '2024-01-01T00:00:00Z',
    });
    const odd = connectionEvent('connection.activated', {
      id: 'conn_b',
      updated_at: '2024-01-01T00:00:00Z',
      name: 'nul\u0000name',
    });
    const after = connectionEvent('connection.activated', {
      id: 'conn_c',
      updated_at: '2024-01-01T00:00:00Z',
    });
    expect(await apply(before, odd, after)).toMatchObject({ applied: 2, quarantined: 1 });
    const rows = await eventRows();
    expect(rows.map((r) => r.outcome)).toEqual(['applied', 'quarantined', 'applied']);
    expect(rows[1]?.error).toMatch(/^the database refused this event: /);
    expect(
      (await t.db.selectFrom('connections').select('id').orderBy('id').execute()).map((r) => r.id),
    ).toEqual(['conn_a', 'conn_c']);
    expect(await readCursor(t.db)).toBe(after.id);
  });
});

describe('timestamps', () => {
  it('are parsed leniently (the docs show "2023-04-28 20:05:31.093") and stored in UTC', async () => {
    await apply(
      connectionEvent(
        'connection.activated',
        { updated_at: '2023-04-28 20:05:31.093', created_at: '2023-04-28T22:05:31.093+02:00' },
        { created_at: '2023-04-28 20:05:32' },
      ),
    );
    const row = await connection();
    expect(row?.updated_at.toISOString()).toBe('2023-04-28T20:05:31.093Z');
    expect(row?.created_at?.toISOString()).toBe('2023-04-28T20:05:31.093Z');
  });
});

describe('atomic, fenced checkpoint (invariants 1, 4, 5)', () => {
  it('refuses to commit a page fetched after a cursor that has since moved, and writes nothing', async () => {
    const first = connectionEvent('connection.activated', { updated_at: '2024-01-01T00:00:00Z' });
    await apply(first);
    const stale = connectionEvent('connection.deactivated', { updated_at: '2024-01-02T00:00:00Z' });
    await expect(
      applyPage(
        { db: t.db, log: logs.log },
        { expectedCursor: null, nextCursor: String(stale.id), events: [stale] },
      ),
    ).rejects.toBeInstanceOf(CursorMovedError);
    expect((await connection())?.state).toBe('active');
    expect(await readCursor(t.db)).toBe(first.id);
    expect(await outcomes()).toEqual(['applied']);
  });

  it('a page that fails half-way leaves no trace, not even its event records', async () => {
    // A trigger stands in for a crash between the page's statements: certificates are written
    // after connections, before the domains, the event records and the cursor.
    await sql`create function ${sql.id(t.schema, 'fail_page')}() returns trigger language plpgsql as
      $$ begin raise exception 'simulated failure mid-page' using errcode = 'P0001'; end $$`.execute(t.db);
    await sql`create trigger fail_page before insert on ${sql.id(t.schema, 'connection_certificates')}
      for each row execute function ${sql.id(t.schema, 'fail_page')}()`.execute(t.db);
    try {
      const good = connectionEvent('connection.activated', {
        updated_at: '2024-01-01T00:00:00Z',
        domains: [{ id: 'd1', domain: 'a.com' }],
      });
      const cert = certificateRenewed({
        expiry_date: '2025-01-01T00:00:00Z',
        created_at: '2024-01-02T00:00:00Z',
      });
      await expect(apply(good, cert)).rejects.toThrow(/simulated failure mid-page/);
      expect(await tableSnapshot()).toEqual({ connections: [], domains: [], certificates: [], events: [] });
      expect(await readCursor(t.db)).toBeNull();
    } finally {
      await sql`drop trigger fail_page on ${sql.id(t.schema, 'connection_certificates')}`.execute(t.db);
    }
  });

  it('the cursor moves in the page`s transaction: when advancing it fails, nothing of the page commits', async () => {
    // The cursor is the page's last write; a trigger on it stands in for a crash just before commit.
    await sql`create function ${sql.id(t.schema, 'fail_cursor')}() returns trigger language plpgsql as
      $$ begin raise exception 'simulated failure advancing the cursor' using errcode = 'P0001'; end $$`.execute(
      t.db,
    );
    await sql`create trigger fail_cursor before update on ${sql.id(t.schema, 'sync_state')}
      for each row execute function ${sql.id(t.schema, 'fail_cursor')}()`.execute(t.db);
    try {
      const good = connectionEvent('connection.activated', {
        updated_at: '2024-01-01T00:00:00Z',
        domains: [{ id: 'd1', domain: 'a.com' }],
      });
      const cert = certificateRenewed({
        expiry_date: '2025-01-01T00:00:00Z',
        created_at: '2024-01-02T00:00:00Z',
      });
      await expect(apply(good, cert)).rejects.toThrow(/simulated failure advancing the cursor/);
      expect(await tableSnapshot()).toEqual({ connections: [], domains: [], certificates: [], events: [] });
    } finally {
      await sql`drop trigger fail_cursor on ${sql.id(t.schema, 'sync_state')}`.execute(t.db);
    }
    expect(await readCursor(t.db)).toBeNull();
  });
});

describe('limits of one statement', () => {
  it('a batch of 400 events whose connections carry 200 domains each applies (80,000 domain rows)', async () => {
    const pages = Array.from({ length: 4 }, (_, page) =>
      Array.from({ length: 100 }, (_, i) => {
        const n = page * 100 + i;
        return parseEvent(
          connectionEvent('connection.activated', {
            id: `conn_${n}`,
            updated_at: '2024-01-01T00:00:00Z',
            domains: Array.from({ length: 200 }, (_, d) => ({
              id: `dom_${n}_${d}`,
              domain: `d${d}.c${n}.example`,
            })),
          }),
        );
      }),
    );
    const summaries = await applyPages(
      { db: t.db, log: logs.log },
      { expectedCursor: null, nextCursor: pages.at(-1)!.at(-1)!.id, pages },
    );
    expect(summaries.map((s) => s.applied)).toEqual([100, 100, 100, 100]);
    const counted = await t.db
      .selectFrom('connection_domains')
      .select(sql<number>`count(*)::int`.as('n'))
      .executeTakeFirstOrThrow();
    expect(counted.n).toBe(80_000);
  });
});
