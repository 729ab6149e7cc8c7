/**
 * The sync engine against the emulator, through the real SDK over real HTTP: a full backfill
 * matches the emulator's own state; faults are waited out without skipping or repeating
 * events; a rejected key stops at once.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateScenario, WorkosModel } from '../emulator/index.ts';
import { CursorRejectedError, FatalError } from '../src/errors.ts';
import { readCursor } from '../src/sync/events/cursor.ts';
import { poll } from '../src/sync/poll.ts';
import { reconcile } from '../src/sync/reconcile/reconcile.ts';
import { recoverRejectedCursor } from '../src/sync/recover-cursor.ts';
import { createWorkosClient } from '../src/workos/client.ts';
import { workosConnectionsSource } from '../src/workos/connections-source.ts';
import { workosEventsSource } from '../src/workos/events-source.ts';
import { SYNCED_EVENT_TYPES } from '../src/workos/wire.ts';
import { capturingLogger, noSecrets } from './support/logs.ts';
import { expectedMirror, mirrorOf } from './support/mirror.ts';
import { FAST_BACKOFF, type SyncHarness, startHarness } from './support/sync.ts';

describe('backfill of a 10,000-event scenario', () => {
  let h: SyncHarness;
  beforeAll(async () => {
    const model = new WorkosModel({ seed: 42 });
    generateScenario(model, { seed: 42, events: 10_000 });
    h = await startHarness({ model });
  });
  afterAll(() => h.close());

  it('ends with tables that match the emulator', { timeout: 120_000 }, async () => {
    const totals = await poll(h.deps(), { backoff: FAST_BACKOFF });
    expect(totals).toMatchObject({
      events: 10_000,
      quarantined: 0,
      ignored: 0,
      duplicate: 0,
      caughtUp: true,
    });
    expect(totals.applied + totals.stale).toBe(10_000);
    expect(totals.pages).toBe(100);

    const expected = expectedMirror(h.emulator.model);
    const actual = await mirrorOf(h.database.db);
    expect(actual.connections).toEqual(expected.connections);
    expect(actual.domains).toEqual(expected.domains);
    expect(actual.certificates).toEqual(expected.certificates);
    expect(await readCursor(h.database.db)).toBe(h.emulator.model.events().at(-1)!.id);

    // every request asked for the five types, 100 at a time, oldest first
    const eventRequests = h.emulator.requests.filter((r) => r.path === '/events');
    expect(eventRequests.length).toBeGreaterThanOrEqual(100);
    for (const r of eventRequests) {
      expect(r.query).toMatchObject({ events: SYNCED_EVENT_TYPES.join(','), limit: '100', order: 'asc' });
    }
    expect(eventRequests[0]?.query.after).toBeUndefined();
  });

  it('a second pass finds nothing new and changes nothing', async () => {
    const before = await mirrorOf(h.database.db);
    const totals = await poll(h.deps(), { backoff: FAST_BACKOFF });
    expect(totals).toMatchObject({ events: 0, caughtUp: true });
    expect(await mirrorOf(h.database.db)).toEqual(before);
  });
});

describe('a cursor past retention', () => {
  it('is confirmed, then recovered: a reconciliation and a restart from the oldest retained events', async () => {
    const DAY = 86_400_000;
    let now = Date.UTC(2026, 9, 1);
    // The emulator's retention is this test's choice; the engine assumes none (WorkOS documents
    // both 30 and 90 days).
    const model = new WorkosModel({ seed: 12, clock: () => new Date(now), retentionMs: 90 * DAY });
    generateScenario(model, { seed: 12, events: 300, start: new Date(now - 20 * DAY), end: new Date(now) });
    const local = await startHarness({ model });
    try {
      const { db } = local.database;
      await poll(local.deps(), { backoff: FAST_BACKOFF });
      const stale = await readCursor(db);

      now += 100 * DAY;
      const renamed = String(model.liveConnections()[0]!.id);
      model.rename(renamed, 'Renamed during the gap');
      model.activate(model.createConnection({ name: 'Born after the gap', domains: ['gap.example'] }).id);
      local.emulator.requests.length = 0;
      const log = capturingLogger().log;
      const totals = await poll(local.deps(log), {
        backoff: FAST_BACKOFF,
        recover: (rejected) =>
          recoverRejectedCursor(
            {
              db,
              log,
              reconcile: () =>
                reconcile({ db, connections: workosConnectionsSource(local.workos), log, scrub: noSecrets }),
            },
            rejected,
          ),
      });

      expect(totals.caughtUp).toBe(true);
      const calls = local.emulator.requests.map((r) => [r.path, r.status, r.query.after]);
      // refused with the cursor, answered without it: confirmed; then the listing, then the stream
      // again from its oldest retained event
      expect(calls.slice(0, 3)).toEqual([
        ['/events', 400, stale],
        ['/events', 200, undefined],
        ['/connections', 200, undefined],
      ]);
      expect(calls.filter(([path]) => path === '/events').slice(2)).toEqual([['/events', 200, undefined]]);
      expect(await readCursor(db)).toBe(model.events().at(-1)!.id);
      const state = await db
        .selectFrom('sync_state')
        .selectAll()
        .where('stream', '=', 'events')
        .executeTakeFirstOrThrow();
      expect(state.last_recovery_reason).toBe(`cursor ${stale} rejected by the Events API`);
      const rows = await db.selectFrom('live_connections').select(['id', 'name']).execute();
      expect(rows).toContainEqual({ id: renamed, name: 'Renamed during the gap' });
      expect(rows.filter((r) => r.name === 'Born after the gap')).toHaveLength(1);
    } finally {
      await local.close();
    }
  });
});

describe('faults', () => {
  let h: SyncHarness;
  beforeAll(async () => {
    const model = new WorkosModel({ seed: 7 });
    generateScenario(model, { seed: 7, events: 1_000 });
    h = await startHarness({ model });
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    await h.database.reset();
    h.emulator.faults.clear();
    h.emulator.requests.length = 0;
  });

  async function assertExact() {
    const ids = (await h.database.db.selectFrom('events').select('id').orderBy('seq').execute()).map(
      (r) => r.id,
    );
    expect(ids).toEqual(h.emulator.model.events().map((e) => e.id));
    expect(await mirrorOf(h.database.db)).toEqual(expectedMirror(h.emulator.model));
  }

  it('429 with Retry-After and 500s mid-stream are waited out; nothing skipped or repeated', async () => {
    h.emulator.faults.add({ kind: 'status', status: 429, retryAfter: 0, path: '/events', times: 3 });
    await poll(h.deps(), {
      backoff: FAST_BACKOFF,
      onPage: (t) =>
        t.pages === 3 && h.emulator.faults.add({ kind: 'status', status: 500, path: '/events', times: 2 }),
    });
    await assertExact();
    const statuses = h.emulator.requests.map((r) => r.status);
    expect(statuses.filter((s) => s === 429)).toHaveLength(3);
    expect(statuses.filter((s) => s === 500)).toHaveLength(2);
  });

  it('the SDK`s own retries absorb a 429 burst (Retry-After honoured)', async () => {
    const sdk = createWorkosClient({
      apiKey: 'sk_test_emulator_0123456789abcdef',
      apiUrl: h.emulator.url,
      maxRetries: 3,
    });
    h.emulator.faults.add({ kind: 'status', status: 429, retryAfter: 0, path: '/events', times: 2 });
    const logs = capturingLogger();
    await poll({ ...h.deps(logs.log), events: workosEventsSource(sdk) }, { backoff: FAST_BACKOFF });
    // the SDK retried on its own: our loop never saw a failure
    expect(logs.lines().some((l) => l.msg === 'waiting out a transient failure')).toBe(false);
    await assertExact();
  });

  it('malformed JSON, a truncated body and a slow response are waited out', async () => {
    h.emulator.faults.add({ kind: 'malformed-json', path: '/events' });
    h.emulator.faults.add({ kind: 'truncate', path: '/events' });
    h.emulator.faults.add({ kind: 'delay', ms: 300, path: '/events' });
    const logs = capturingLogger();
    await poll(h.deps(logs.log), { backoff: FAST_BACKOFF });
    await assertExact();
    const waits = logs.lines().filter((l) => l.msg === 'waiting out a transient failure');
    expect(waits.length).toBeGreaterThanOrEqual(1);
  });

  it('a transient failure is logged once per kind, not per attempt', async () => {
    h.emulator.faults.add({ kind: 'status', status: 503, path: '/events', times: 6 });
    const logs = capturingLogger();
    await poll(h.deps(logs.log), { backoff: FAST_BACKOFF });
    expect(logs.lines().filter((l) => l.msg === 'waiting out a transient failure')).toHaveLength(1);
    expect(logs.lines().filter((l) => l.msg === 'recovered; caught up again')).toHaveLength(1);
    await assertExact();
  });

  it('a rejected API key fails at once, clearly, without retrying', async () => {
    const bad = createWorkosClient({
      apiKey: 'sk_test_wrong_key_000000',
      apiUrl: h.emulator.url,
      maxRetries: 3,
    });
    const error = await poll(
      { ...h.deps(capturingLogger().log), events: workosEventsSource(bad) },
      { backoff: FAST_BACKOFF },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(/WorkOS rejected the API key \(401.*WORKOS_API_KEY/);
    expect(h.emulator.requests.filter((r) => r.status === 401)).toHaveLength(1);
    expect(await readCursor(h.database.db)).toBeNull();
  });

  it('a cursor the API refuses is confirmed (the same request without it is answered), reported, not retried', async () => {
    await h.database.db
      .updateTable('sync_state')
      .set({ cursor: 'event_not_known_here' })
      .where('stream', '=', 'events')
      .execute();
    const error = await poll(h.deps(), { backoff: FAST_BACKOFF }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CursorRejectedError);
    const [refused, probe, ...more] = h.emulator.requests;
    expect(more).toEqual([]);
    expect(refused).toMatchObject({ status: 400, query: { after: 'event_not_known_here' } });
    const { after: _, ...withoutCursor } = refused!.query;
    expect(probe).toMatchObject({ path: '/events', status: 200, query: withoutCursor });
    expect(probe!.query.after).toBeUndefined();
  });

  it.each([
    [400, 'Invalid events filter'],
    [404, 'Not Found'],
  ])(
    'a %i that is not about the cursor is reported as itself, and nothing is recovered',
    async (status, message) => {
      await poll(h.deps(), { backoff: FAST_BACKOFF });
      const cursor = await readCursor(h.database.db);
      h.emulator.model.activate(h.emulator.model.createConnection({ domains: ['refused.example'] }).id);
      h.emulator.requests.length = 0;
      // WorkOS refuses every /events request, with or without a cursor.
      h.emulator.faults.add({ kind: 'status', status, body: { message }, path: '/events', times: 1_000 });
      const recovered: unknown[] = [];
      const error = await poll(h.deps(), {
        backoff: FAST_BACKOFF,
        recover: async (rejected) => void recovered.push(rejected),
      }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(FatalError);
      expect((error as FatalError).kind).toBe('refused');
      expect((error as Error).message).toBe(
        `WorkOS refused GET /events (${status}: ${message}) and refuses it without the cursor too (${status}: ${message}): the request is wrong, not the cursor`,
      );
      expect(recovered).toEqual([]);
      expect(h.emulator.requests.map((r) => [r.status, r.query.after])).toEqual([
        [status, cursor],
        [status, undefined],
      ]);
      expect(await readCursor(h.database.db)).toBe(cursor);
      const state = await h.database.db
        .selectFrom('sync_state')
        .selectAll()
        .where('stream', '=', 'events')
        .executeTakeFirstOrThrow();
      expect(state.last_recovery_at).toBeNull();
    },
  );

  it('a refusal that cannot be confirmed yet (WorkOS down for the second request) is waited out, then confirmed', async () => {
    await h.database.db
      .updateTable('sync_state')
      .set({ cursor: 'event_not_known_here' })
      .where('stream', '=', 'events')
      .execute();
    h.emulator.faults.add({ kind: 'status', status: 400, path: '/events' });
    h.emulator.faults.add({ kind: 'status', status: 503, path: '/events' });
    const logs = capturingLogger();
    const error = await poll(h.deps(logs.log), { backoff: FAST_BACKOFF }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CursorRejectedError);
    expect(h.emulator.requests.map((r) => [r.status, r.query.after])).toEqual([
      [400, 'event_not_known_here'],
      [503, undefined],
      [400, 'event_not_known_here'],
      [200, undefined],
    ]);
    expect(logs.lines().filter((l) => l.msg === 'waiting out a transient failure')).toMatchObject([
      { kind: 'server_error' },
    ]);
  });

  it('unknown types and malformed events from the API are recorded and do not stop the stream', async () => {
    const model = new WorkosModel({ seed: 3 });
    const c = model.createConnection({ connectionType: 'OktaSAML', domains: ['x.com'] });
    model.activate(c.id);
    model.appendRawEvent({ object: 'event', event: 'connection.renamed', data: { id: c.id } });
    model.appendRawEvent({ object: 'event', event: 'connection.deactivated', data: { id: c.id } });
    model.deactivate(c.id);
    const local = await startHarness({ model });
    try {
      const totals = await poll(local.deps(), { backoff: FAST_BACKOFF });
      expect(totals).toMatchObject({ applied: 2, ignored: 1, quarantined: 1 });
      const rows = await local.database.db
        .selectFrom('events')
        .select(['event', 'outcome'])
        .orderBy('seq')
        .execute();
      expect(rows.map((r) => r.outcome)).toEqual(['applied', 'ignored', 'quarantined', 'applied']);
      expect(
        (await local.database.db.selectFrom('connections').select('state').executeTakeFirstOrThrow()).state,
      ).toBe('inactive');
    } finally {
      await local.close();
    }
  });
});
