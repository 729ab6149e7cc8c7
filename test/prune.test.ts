/**
 * The bounded event log (sync/events/retention.ts) on a real Postgres, through the library: a
 * mirror fed over seven months of WorkOS time, pruned at the floor retention. What goes is
 * exactly the events older than the retention that nothing points at and that are not
 * quarantined; a dry run says so first and deletes nothing; the stream served again from its
 * oldest retained event afterwards changes nothing (idempotence holds across a prune).
 */

import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScenario, WorkosModel } from '../emulator/index.ts';
import type { Database } from '../src/db/tables.ts';
import { EVENTS_RETENTION_FLOOR_DAYS } from '../src/sync/events/retention.ts';
import { poll } from '../src/sync/poll.ts';
import { pruneEvents } from '../src/sync/prune.ts';
import { createWorkosSync, type WorkosSync } from '../src/workos-sync.ts';
import { silentLogger } from './support/logs.ts';
import { mirrorOf } from './support/mirror.ts';
import { API_KEY, FAST_BACKOFF, type SyncHarness, startHarness } from './support/sync.ts';

const DAY = 86_400_000;
const RETENTION = EVENTS_RETENTION_FLOOR_DAYS;

/** Every stored event: what a prune or a re-served page could change. */
async function eventLog(db: Kysely<Database>) {
  return db.selectFrom('events').select(['id', 'seq', 'outcome', 'created_at']).orderBy('seq').execute();
}

/** The event ids the cursor or a mirror row points at. */
async function pointedAt(db: Kysely<Database>): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const table of [
    'connections',
    'connection_certificates',
    'organizations',
    'organization_domains',
  ] as const) {
    for (const row of await db.selectFrom(table).select('last_event_id').execute())
      if (row.last_event_id) ids.add(row.last_event_id);
  }
  for (const row of await db.selectFrom('sync_state').select('cursor').execute())
    if (row.cursor) ids.add(row.cursor);
  return ids;
}

describe('pruning the event log', () => {
  const realNow = Date.now();
  let now = realNow - 200 * DAY;
  let h: SyncHarness;
  let sync: WorkosSync;
  const feed = async (seed: number, fromDaysAgo: number, toDaysAgo: number) => {
    now = realNow - toDaysAgo * DAY;
    generateScenario(h.emulator.model, {
      seed,
      events: 60,
      start: new Date(realNow - fromDaysAgo * DAY),
      end: new Date(now - 60_000),
    });
    await poll(h.deps(), { backoff: FAST_BACKOFF });
  };

  beforeAll(async () => {
    // WorkOS keeps 90 days here: past them, the emulator neither lists an event nor takes its id.
    const model = new WorkosModel({ seed: 41, clock: () => new Date(now), retentionMs: 90 * DAY });
    h = await startHarness({ model });
    await feed(41, 215, 200);
    // A payload that fails validation, as old as the first events: quarantined, and kept.
    model.appendRawEvent({ object: 'event', event: 'connection.activated', data: { id: 42 } });
    await feed(42, 140, 125);
    await feed(43, 70, 60);
    await feed(44, 10, 0);
    sync = createWorkosSync({
      apiKey: API_KEY,
      apiUrl: h.emulator.url,
      database: { url: h.database.url },
      schema: h.database.schema,
      events: { retentionDays: RETENTION },
      logger: silentLogger(),
    });
  });
  afterAll(async () => {
    await sync?.close();
    await h?.close();
  });

  it('deletes exactly the old events nothing points at, after a dry run that deletes nothing', async () => {
    const { db } = h.database;
    // Many events of one same time, as a busy WorkOS stamps them: the walk's order is
    // (created_at, id), and a batch ending inside a tie must not skip the rest of it.
    await sql`update ${sql.id(h.database.schema, 'events')} set created_at = date_trunc('day', created_at)
      where created_at < now() - interval '150 days'`.execute(db);
    const before = await eventLog(db);
    const pointers = await pointedAt(db);
    const cutoff = realNow - RETENTION * DAY;
    const old = before.filter((e) => e.created_at !== null && e.created_at.getTime() < cutoff);
    const expected = old.filter((e) => e.outcome !== 'quarantined' && !pointers.has(e.id));
    // The case is a real one: old events of each kind to keep, and many to go.
    expect(old.some((e) => e.outcome === 'quarantined')).toBe(true);
    expect(old.some((e) => pointers.has(e.id))).toBe(true);
    expect(expected.length).toBeGreaterThan(50);
    const byOutcome = (events: readonly { outcome: string }[]) => {
      const counts: Record<string, number> = { applied: 0, stale: 0, ignored: 0, quarantined: 0 };
      for (const e of events) counts[e.outcome]! += 1;
      return counts;
    };

    const dry = await sync.prune({ dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, retentionDays: RETENTION, pruned: byOutcome(expected) });
    expect(await eventLog(db)).toEqual(before);

    // In batches of 7, each from where the last stopped: the events kept among them (pointed at,
    // quarantined) are passed over, none deleted twice or missed.
    const report = await pruneEvents(
      { db, log: silentLogger(), retention: { days: RETENTION, quarantined: false } },
      { batchSize: 7 },
    );
    expect(report).toMatchObject({ dryRun: false, pruned: byOutcome(expected) });
    expect(report.batches).toBe(Math.ceil(expected.length / 7));
    const gone = new Set(expected.map((e) => e.id));
    expect(await eventLog(db)).toEqual(before.filter((e) => !gone.has(e.id)));

    const status = await sync.status();
    const oldestKept = before.filter((e) => !gone.has(e.id)).map((e) => e.created_at!.getTime());
    expect(status.oldestEventCreatedAt?.getTime()).toBe(Math.min(...oldestKept));

    // Again: nothing left to go.
    expect((await sync.prune()).pruned).toEqual(byOutcome([]));
  });

  it('a page WorkOS serves again after the prune changes nothing', async () => {
    const { db } = h.database;
    const log = await eventLog(db);
    const mirror = await mirrorOf(db);
    // As a cursor recovery does: the stream again from the oldest event WorkOS keeps.
    await db.updateTable('sync_state').set({ cursor: null }).where('stream', '=', 'events').execute();
    h.emulator.requests.length = 0;
    const totals = await poll(h.deps(), { backoff: FAST_BACKOFF });
    expect(totals.events).toBeGreaterThan(100); // served again: the last 90 days' events
    expect(await eventLog(db)).toEqual(log);
    expect(await mirrorOf(db)).toEqual(mirror);
  });

  it('prunes quarantined events when asked', async () => {
    const { db } = h.database;
    const quarantined = await db
      .selectFrom('events')
      .select('id')
      .where('outcome', '=', 'quarantined')
      .execute();
    expect(quarantined).toHaveLength(1);
    const report = await sync.prune({ quarantined: true });
    expect(report.pruned).toEqual({ applied: 0, stale: 0, ignored: 0, quarantined: 1 });
    expect(await db.selectFrom('events').select('id').where('outcome', '=', 'quarantined').execute()).toEqual(
      [],
    );
  });
});

describe('a quiet stream', () => {
  it('keeps the event the cursor points at, however old, and skips an event another session holds', async () => {
    const realNow = Date.now();
    const model = new WorkosModel({ seed: 45, clock: () => new Date(realNow - 200 * DAY) });
    const h = await startHarness({ model });
    const sync = createWorkosSync({
      apiKey: API_KEY,
      apiUrl: h.emulator.url,
      database: { url: h.database.url },
      schema: h.database.schema,
      events: { retentionDays: RETENTION },
      logger: silentLogger(),
    });
    try {
      generateScenario(model, { seed: 45, events: 30, start: new Date(realNow - 210 * DAY) });
      // Last, a type the mirror does not handle: no mirror row points at it, only the cursor.
      const last = String(
        model.appendRawEvent({ object: 'event', event: 'user.created', data: { id: 'user_1' } }).id,
      );
      await poll(h.deps(), { backoff: FAST_BACKOFF });
      const { db } = h.database;
      expect(
        await db.selectFrom('events').select('outcome').where('id', '=', last).executeTakeFirst(),
      ).toEqual({
        outcome: 'ignored',
      });

      // Another session holds one of the events that would go: the prune skips it, never waits.
      const pointers = await pointedAt(db);
      const held = (await eventLog(db)).find((e) => !pointers.has(e.id))!;
      const other = new pg.Client({ connectionString: h.database.url });
      await other.connect();
      await other.query('begin');
      await other.query(`select id from ${h.database.schema}.events where id = $1 for update`, [held.id]);
      const report = await sync.prune();
      await other.query('rollback');
      await other.end();
      expect(report.pruned.applied).toBeGreaterThan(0);
      const kept = (await eventLog(db)).map((e) => e.id);
      expect(kept).toContain(last);
      expect(kept).toContain(held.id);
      // The stream goes on from there.
      model.appendRawEvent({ object: 'event', event: 'user.created', data: { id: 'user_2' } });
      expect(await poll(h.deps(), { backoff: FAST_BACKOFF })).toMatchObject({ events: 1 });
    } finally {
      await sync.close();
      await h.close();
    }
  });
});
