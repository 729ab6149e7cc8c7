/**
 * `onChange` hooks, through the library against the emulator: called inside the batch's
 * transaction with its typed net changes (from events and from reconciliations alike), what they
 * write with `trx` commits with the mirror or not at all, and a hook that throws holds the stream
 * (mirror, cursor and the application's table untouched, the error in `status`) until it stops.
 * Runs on the server and on the embedded database (through the application's Kysely there).
 */
import { sql } from 'kysely';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator, WorkosModel } from '../src/emulator/index.ts';
import { createWorkosSync, type MirrorChange, type WorkosSync } from '../src/index.ts';
import { createTestDatabase, EMBEDDED, type TestDatabase } from './support/database.ts';
import { API_KEY, FAST_BACKOFF } from './support/sync.ts';
import { until } from './support/worker-process.ts';

let t: TestDatabase;
let emulator: Emulator;
let model: WorkosModel;
let sync: WorkosSync;

beforeEach(async () => {
  t = await createTestDatabase({ migrate: false });
  model = new WorkosModel({ seed: 41 });
  emulator = await startEmulator({ apiKey: API_KEY, model });
  sync = createWorkosSync({
    apiKey: API_KEY,
    apiUrl: emulator.url,
    database: EMBEDDED ? { kysely: t.db } : { url: t.url },
    logger: pino({ level: 'silent' }),
  });
  await sync.migrate();
  await sql`create table public.sso_audit (connection_id text, kind text, source text, event text)`.execute(
    t.db,
  );
});
afterEach(async () => {
  await sync.close();
  await emulator.close();
  await t.close();
});

/** Every change a hook saw, in order; and the same, written to the application's table with `trx`. */
function auditing(): MirrorChange[] {
  const seen: MirrorChange[] = [];
  sync.onChange(async (trx, changes) => {
    seen.push(...changes);
    for (const c of changes) {
      if (c.type !== 'connection' && c.type !== 'certificate') continue;
      const source = c.source.kind === 'listing' ? `run ${c.source.runId}` : c.source.eventId;
      const event = c.source.kind === 'event' ? c.source.event : null;
      await sql`insert into public.sso_audit values (${c.connectionId}, ${`${c.type}.${c.kind}`}, ${source}, ${event})`.execute(
        trx,
      );
    }
  });
  return seen;
}
const audit = async () =>
  (
    await sql<{ connection_id: string; kind: string; event: string | null }>`
      select connection_id, kind, event from public.sso_audit order by kind, connection_id`.execute(t.db)
  ).rows;
const cursor = async () =>
  (
    await t.db
      .selectFrom('sync_state')
      .select('cursor')
      .where('stream', '=', 'events')
      .executeTakeFirstOrThrow()
  ).cursor;

describe('onChange', () => {
  it('sees each batch`s typed net changes, from the listing and from events, and its writes commit with them', async () => {
    const acme = model.createConnection({ name: 'Acme', state: 'draft', domains: ['acme.example'] });
    const seen = auditing();
    await sync.backfill({ backoff: FAST_BACKOFF });
    expect(seen).toEqual([
      expect.objectContaining({
        type: 'connection',
        kind: 'inserted',
        connectionId: acme.id,
        before: null,
        after: expect.objectContaining({ name: 'Acme', state: 'draft', domains: ['acme.example'] }),
        source: { kind: 'listing', runId: expect.any(String) },
      }),
    ]);

    model.activate(acme.id);
    const deactivated = model.deactivate(acme.id);
    await sync.poll({ backoff: FAST_BACKOFF });
    // One net change for the batch of two events: draft → inactive, by the last event to write it.
    expect(seen.slice(1)).toEqual([
      expect.objectContaining({
        kind: 'updated',
        fields: ['state'],
        before: expect.objectContaining({ state: 'draft' }),
        after: expect.objectContaining({ state: 'inactive' }),
        source: { kind: 'event', eventId: deactivated.id, event: 'connection.deactivated' },
      }),
    ]);

    model.activate(acme.id);
    await sync.poll({ backoff: FAST_BACKOFF });
    model.rename(acme.id, 'Acme Inc');
    await sync.reconcile();
    model.requireCertificateRenewal(acme.id, 'ResponseSigning', new Date('2027-03-01T00:00:00Z'));
    model.deleteConnection(acme.id);
    await sync.poll({ backoff: FAST_BACKOFF });
    expect(
      seen.slice(2).map((c) => `${c.type}.${c.kind} ${'fields' in c ? c.fields.join(',') : ''}`),
    ).toEqual([
      'connection.activated state',
      'connection.updated name',
      'certificate.renewal_required expiry_date,renewal_required_at,is_expired',
      'connection.deleted deleted',
    ]);
    expect((await audit()).map((r) => r.kind)).toEqual([
      'certificate.renewal_required',
      'connection.activated',
      'connection.deleted',
      'connection.inserted',
      'connection.updated',
      'connection.updated',
    ]);
  });

  it('a version that only advanced, or an event older than the mirror, is no change', async () => {
    const c = model.createConnection({ name: 'Quiet' });
    model.activate(c.id);
    const seen = auditing();
    await sync.reconcile();
    seen.length = 0;
    // The activation is as old as the listed row: tied, same content. Applied, and no change.
    const first = await sync.poll({ backoff: FAST_BACKOFF });
    expect(seen).toEqual([]);
    expect(first).toMatchObject({
      caughtUp: true,
      events: 1,
      applied: 1,
      stale: 0,
      cursor: model.events().at(-1)!.id,
    });
    expect(await cursor()).toBe(model.events().at(-1)!.id);

    // Deactivated and re-activated: a listing with the same content and a newer version
    // advances the stored version (touched), no hook change.
    model.deactivate(c.id);
    const reactivated = model.activate(c.id);
    const report = await sync.reconcile();
    expect(report.counts).toMatchObject({ touched: 1, inserted: 0, updated: 0, deleted: 0 });
    const stored = await t.db
      .selectFrom('connections')
      .select('updated_at')
      .where('id', '=', c.id)
      .executeTakeFirstOrThrow();
    expect(stored.updated_at.getTime()).toBe(Date.parse(String(model.getConnection(c.id).updated_at)));
    expect(seen).toEqual([]);

    // The deactivation is older than the touched row: stale, it never flips the row back; the
    // re-activation is tied with it. The poll applies both, and no hook hears of either.
    const second = await sync.poll({ backoff: FAST_BACKOFF });
    expect(second).toMatchObject({ caughtUp: true, events: 2, applied: 1, stale: 1, cursor: reactivated.id });
    expect(await cursor()).toBe(reactivated.id);
    expect((await t.db.selectFrom('live_connections').select('state').execute()).map((r) => r.state)).toEqual(
      ['active'],
    );
    expect(seen).toEqual([]);
    // The application's table holds the first listing's insert only.
    expect((await audit()).map((r) => r.kind)).toEqual(['connection.inserted']);
  });

  it('a hook that throws holds the stream, changes nothing, and lets the batch apply once it stops', async () => {
    model.activate(model.createConnection({ name: 'Held' }).id);
    await sync.reconcile();
    const before = await cursor();
    model.deactivate(String(model.liveConnections()[0]!.id));
    let failing = true;
    const seen = auditing();
    sync.onChange(() => {
      if (failing) throw new Error('the audit service is down');
    });
    const polling = sync.poll({ backoff: FAST_BACKOFF });
    await until(async () => (await sync.status()).lastPollError !== null, 10_000);
    const status = await sync.status();
    expect(status.lastPollError).toMatch(/^an onChange hook failed: the audit service is down/);
    expect(status.cursor).toBe(before);
    expect(await audit()).toEqual([]);
    expect((await t.db.selectFrom('live_connections').select('state').execute())[0]?.state).toBe('active');

    failing = false;
    const totals = await polling;
    // the activation (tied with the listed row: applied, no change) and the deactivation
    expect(totals).toMatchObject({ caughtUp: true, applied: 2 });
    expect(await cursor()).toBe(model.events().at(-1)!.id);
    expect((await audit()).map((r) => r.kind)).toEqual(['connection.deactivated']);
    // Each failed attempt saw the change; the one that committed wrote it once.
    expect(seen.filter((c) => c.kind === 'deactivated').length).toBeGreaterThan(1);
    expect((await sync.status()).lastPollError).toBeNull();
  });

  it('a hook removed takes no further part', async () => {
    const seen: MirrorChange[] = [];
    const remove = sync.onChange((_trx, changes) => {
      seen.push(...changes);
    });
    model.createConnection({ name: 'One' });
    await sync.reconcile();
    remove();
    model.createConnection({ name: 'Two' });
    await sync.reconcile();
    expect(seen.map((c) => (c.type === 'connection' ? c.after.name : ''))).toEqual(['One']);
  });
});
