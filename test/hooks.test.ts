/**
 * `onChange` hooks, through the library against the emulator: called inside the batch's
 * transaction with its typed net changes (from events and from reconciliations alike), what they
 * write with `trx` commits with the mirror or not at all, and a hook that throws holds the stream
 * (mirror, cursor and the application's table untouched, the error in `status`): a one-shot
 * `poll()` or `backfill()` tries the batch 5 times (`hookAttempts`) and rejects with the hook's
 * error; the worker, and a one-shot run told `hookAttempts: Infinity`, wait until it stops.
 * Runs on the server and on the embedded database (through the application's Kysely there).
 */
import { sql } from 'kysely';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator, WorkosModel } from '../emulator/index.ts';
import {
  applicationTransaction,
  type ChangeHook,
  ConfigError,
  createWorkosSync,
  type MirrorChange,
  RetryableError,
  type WorkosSync,
} from '../src/index.ts';
import { createMetrics } from '../src/worker/metrics.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { createWorkosClient } from '../src/workos/client.ts';
import { workosConnectionsSource } from '../src/workos/connections-source.ts';
import { workosEventsSource } from '../src/workos/events-source.ts';
import { createTestDatabase, EMBEDDED, type TestDatabase } from './support/database.ts';
import { type CapturedLogs, capturingLogger, noSecrets } from './support/logs.ts';
import { mirrorOf } from './support/mirror.ts';
import { API_KEY, FAST_BACKOFF } from './support/sync.ts';
import { until } from './support/worker-process.ts';

let t: TestDatabase;
let emulator: Emulator;
let model: WorkosModel;
let sync: WorkosSync;
let worker: Worker | undefined;

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
  await worker?.stop();
  worker = undefined;
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
    // WorkOS's Date header has whole seconds: a listing made in a later second than the activation
    // would be versioned after it, and the tie below would turn stale on a slow machine. Stamped
    // ahead of any listing this test makes, the activation (and the edits after it) stay the
    // newest thing the listings know, whatever the machine's speed.
    model.activate(c.id, new Date(Math.ceil(Date.now() / 1000) * 1000 + 10_000));
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

  it('with hookAttempts: Infinity, a hook that throws holds the stream, changes nothing, and lets the batch apply once it stops', async () => {
    // Stamped ahead of the listing, as in the test above: WorkOS's Date has whole seconds, and a
    // listing in a later second than the activation would turn the tie below stale.
    model.activate(
      model.createConnection({ name: 'Held' }).id,
      new Date(Math.ceil(Date.now() / 1000) * 1000 + 10_000),
    );
    await sync.reconcile();
    const before = await cursor();
    model.deactivate(String(model.liveConnections()[0]!.id));
    let failing = true;
    const seen = auditing();
    sync.onChange(() => {
      if (failing) throw new Error('the audit service is down');
    });
    const polling = sync.poll({ backoff: FAST_BACKOFF, hookAttempts: Number.POSITIVE_INFINITY });
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

  it('writes to the application`s tables with its own Kysely types (applicationTransaction), in the batch`s transaction', async () => {
    interface AppDatabase {
      sso_audit: { connection_id: string; kind: string; source: string | null; event: string | null };
    }
    const id = model.createConnection({ name: 'Typed' }).id;
    let thrown = false;
    sync.onChange(async (trx, changes) => {
      const app = applicationTransaction<AppDatabase>(trx);
      for (const c of changes)
        if (c.type === 'connection')
          await app
            .insertInto('sso_audit')
            .values({ connection_id: c.connectionId, kind: c.kind, source: 'typed', event: null })
            .execute();
      // The mirror's own tables stay where they are for `trx`.
      expect(await trx.selectFrom('connections').select('id').where('id', '=', id).execute()).toEqual([
        { id },
      ]);
      if (!thrown) {
        thrown = true;
        throw new Error('once');
      }
    });
    await sync.reconcile().catch(() => undefined);
    // The first run threw: its write to public.sso_audit rolled back with the mirror's.
    expect(await audit()).toEqual([]);
    await sync.reconcile();
    expect(await audit()).toEqual([{ connection_id: id, kind: 'inserted', event: null }]);
  });
});

/** A connection listed into the mirror, then deactivated at WorkOS: one event with a change to apply. */
async function oneChangePending(): Promise<string> {
  const id = model.createConnection({ name: 'Held' }).id;
  model.activate(id);
  await sync.reconcile();
  await sync.poll({ backoff: FAST_BACKOFF });
  model.deactivate(id);
  return id;
}
/** What a failed run must leave as it was: the mirror, the events applied, the cursor, the application's table. */
const everything = async () => ({
  mirror: await mirrorOf(t.db),
  events: await t.db.selectFrom('events').select(['id', 'outcome']).orderBy('id').execute(),
  cursor: await cursor(),
  audit: await audit(),
});
/** A hook that throws `error` on every call, counting them. */
function alwaysThrowing(error: Error): { hook: ChangeHook; calls: () => number } {
  let calls = 0;
  return {
    hook: () => {
      calls++;
      throw error;
    },
    calls: () => calls,
  };
}
const rejectionOf = (run: Promise<unknown>): Promise<unknown> =>
  run.then(
    () => {
      throw new Error('expected the run to reject');
    },
    (error: unknown) => error,
  );

describe('onChange, for organizations and their domains', () => {
  it('types their changes, and names the domain event that caused a refresh of its organization`s connections', async () => {
    const { data: organization } = model.createOrganization({ name: 'Acme', domains: ['acme.example'] });
    const connection = model.createConnection({ organizationId: organization.id, name: 'Acme SSO' });
    model.activate(connection.id);
    const seen: MirrorChange[] = [];
    sync.onChange((_trx, changes) => {
      seen.push(...changes);
    });
    await sync.backfill({ backoff: FAST_BACKOFF });
    expect(seen.map((c) => `${c.type}.${c.kind} ${c.source.kind}`)).toEqual([
      'organization.inserted listing',
      'domain.added listing',
      'connection.inserted listing',
      // the activation the listing already showed changes nothing
    ]);

    seen.length = 0;
    const renamed = model.updateOrganization(organization.id, { name: 'Acme Inc' });
    const added = model.addDomain(organization.id, 'acme.io');
    const verified = model.verifyDomain(added.data.id);
    const failed = model.failDomainVerification(organization.domains[0]!.id);
    await sync.poll({ backoff: FAST_BACKOFF });
    // One net change per row, named after the last event to write it, in the order of those
    // events; the connection's new domain list came from the refresh, named after the last event
    // of its organization. (The rename's payload listed acme.example too: a later event wrote it.)
    expect(seen).toEqual([
      expect.objectContaining({
        type: 'organization',
        kind: 'updated',
        fields: ['name'],
        source: { kind: 'event', eventId: renamed.id, event: 'organization.updated' },
      }),
      expect.objectContaining({
        type: 'domain',
        kind: 'added',
        domain: 'acme.io',
        organizationId: organization.id,
        after: expect.objectContaining({ state: 'verified' }),
        source: { kind: 'event', eventId: verified.id, event: 'organization_domain.verified' },
      }),
      expect.objectContaining({
        type: 'domain',
        kind: 'verification_failed',
        domain: 'acme.example',
        fields: ['state'],
        source: { kind: 'event', eventId: failed.id, event: 'organization_domain.verification_failed' },
      }),
      expect.objectContaining({
        type: 'connection',
        kind: 'updated',
        connectionId: connection.id,
        fields: ['domains'],
        after: expect.objectContaining({ domains: ['acme.example', 'acme.io'] }),
        source: {
          kind: 'organization_listing',
          organizationId: organization.id,
          eventId: failed.id,
          event: 'organization_domain.verification_failed',
        },
      }),
    ]);

    seen.length = 0;
    const removed = model.removeDomain(added.data.id);
    model.deleteOrganization(organization.id);
    await sync.poll({ backoff: FAST_BACKOFF });
    expect(seen.map((c) => `${c.type}.${c.kind}`)).toEqual([
      'domain.removed',
      'connection.deleted',
      'organization.deleted',
      'domain.removed',
    ]);
    expect(seen[0]!.source).toEqual({
      kind: 'event',
      eventId: removed.id,
      event: 'organization_domain.deleted',
    });
  });

  it('a new signing certificate a refresh lists is named after the domain event that caused it', async () => {
    const { data: organization } = model.createOrganization({ name: 'Acme', domains: ['acme.example'] });
    const saml = model.createConnection({
      organizationId: organization.id,
      connectionType: 'OktaSAML',
      name: 'Acme SAML',
      signingCertificate: { notAfter: new Date('2027-01-01T00:00:00Z') },
    });
    model.activate(saml.id);
    await sync.backfill({ backoff: FAST_BACKOFF });
    const seen: MirrorChange[] = [];
    sync.onChange((_trx, changes) => {
      seen.push(...changes);
    });
    // WorkOS replaces the certificate without an event; a domain event brings a refresh that lists it.
    model.setSigningCertificate(saml.id, { notAfter: new Date('2028-01-01T00:00:00Z') });
    const added = model.addDomain(organization.id, 'acme.io');
    await sync.poll({ backoff: FAST_BACKOFF });
    const refresh = { kind: 'organization_listing', organizationId: organization.id, eventId: added.id };
    expect(seen.filter((c) => c.type === 'certificate')).toEqual([
      expect.objectContaining({
        kind: 'changed',
        connectionId: saml.id,
        after: expect.objectContaining({ expiry_date: new Date('2028-01-01T00:00:00Z') }),
        source: expect.objectContaining(refresh),
      }),
    ]);
    expect(seen.find((c) => c.type === 'connection')?.source).toEqual(expect.objectContaining(refresh));
  });

  it('a certificate change made by an older notice on the certificate a listing stored names that notice, in event order', async () => {
    const expiry = new Date('2027-06-01T00:00:00Z');
    const ago = (minutes: number) => new Date(model.clock().getTime() - minutes * 60_000);
    const acme = model.createConnection({
      name: 'Acme',
      connectionType: 'OktaSAML',
      signingCertificate: { notAfter: expiry },
      at: ago(3),
    });
    const activated = model.activate(acme.id, ago(2));
    // The notice is older than the listing the backfill starts from, and about the same
    // certificate: it adds its notice to the listed row, which keeps the listing's other fields.
    const notice = model.requireCertificateRenewal(acme.id, 'ResponseSigning', expiry, ago(1));
    const seen: MirrorChange[] = [];
    sync.onChange((_trx, changes) => {
      seen.push(...changes);
    });
    await sync.backfill({ backoff: FAST_BACKOFF });
    const fromEvents = seen.filter((c) => c.source.kind !== 'listing');
    expect(fromEvents).toEqual([
      expect.objectContaining({
        type: 'certificate',
        kind: 'renewal_required',
        fields: ['renewal_required_at'],
        source: { kind: 'event', eventId: notice.id, event: 'connection.saml_certificate_renewal_required' },
      }),
    ]);
    expect(activated.id).not.toBe(notice.id);
    const row = await t.db.selectFrom('connection_certificates').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ source: 'listing', last_event_id: null });
  });
});

describe('a one-shot run whose hook keeps throwing', () => {
  it('poll() tries the batch 5 times, then rejects with the hook`s error; nothing of the batch committed', async () => {
    await oneChangePending();
    auditing();
    const before = await everything();
    const down = new Error('the audit service is down');
    const failing = alwaysThrowing(down);
    sync.onChange(failing.hook);

    const error = await rejectionOf(sync.poll({ backoff: FAST_BACKOFF }));
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({
      kind: 'hook',
      message: 'an onChange hook failed: the audit service is down',
    });
    expect((error as Error).cause).toBe(down);
    expect(failing.calls()).toBe(5);
    expect(await everything()).toEqual(before);
    expect((await t.db.selectFrom('live_connections').select('state').execute())[0]?.state).toBe('active');
    expect((await sync.status()).lastPollError).toBe('an onChange hook failed: the audit service is down');
  });

  it('backfill() of a new mirror: the listing it starts from is tried hookAttempts times, then it rejects; the mirror stays empty', async () => {
    model.activate(model.createConnection({ name: 'Never' }).id);
    const down = new TypeError('cannot read the audit table');
    const failing = alwaysThrowing(down);
    sync.onChange(failing.hook);

    const error = await rejectionOf(sync.backfill({ backoff: FAST_BACKOFF, hookAttempts: 3 }));
    expect(error).toMatchObject({ kind: 'hook', cause: down });
    expect(failing.calls()).toBe(3);
    expect(await mirrorOf(t.db)).toEqual({ connections: [], domains: [], certificates: [] });
    expect(await cursor()).toBeNull();
    const runs = await t.db.selectFrom('reconciliation_runs').select('status').execute();
    expect(runs.map((r) => r.status)).toEqual(['failed', 'failed', 'failed']);
  });

  it('backfill() of a mirror with a cursor: its catch-up rejects the same way', async () => {
    await oneChangePending();
    const before = await everything();
    const down = new Error('not now');
    const failing = alwaysThrowing(down);
    sync.onChange(failing.hook);

    const error = await rejectionOf(sync.backfill({ backoff: FAST_BACKOFF }));
    expect(error).toMatchObject({ kind: 'hook', cause: down });
    expect(failing.calls()).toBe(5);
    expect(await everything()).toEqual(before);
  });

  it('a hook that throws twice, then not, applies the batch once', async () => {
    const id = await oneChangePending();
    const seen = auditing();
    let failures = 2;
    sync.onChange(() => {
      if (failures-- > 0) throw new Error('not yet');
    });
    const totals = await sync.poll({ backoff: FAST_BACKOFF });
    expect(totals).toMatchObject({ caughtUp: true, applied: 1 });
    expect(failures).toBe(-1);
    expect(seen.filter((c) => c.kind === 'deactivated')).toHaveLength(3);
    expect(await audit()).toEqual([
      expect.objectContaining({ connection_id: id, kind: 'connection.deactivated' }),
    ]);
    expect(await cursor()).toBe(model.events().at(-1)!.id);
    expect((await sync.status()).lastPollError).toBeNull();
  });

  it('the bound is per batch: batches that committed in between start it afresh', async () => {
    await sync.reconcile();
    // Five pages of events, applied in several batches: each rolled-back try reads the stream again.
    for (let i = 0; i < 120; i++) {
      const id = model.createConnection({ name: `Many ${i}` }).id;
      for (let j = 0; j < 4; j++) j % 2 === 0 ? model.activate(id) : model.deactivate(id);
    }
    // Each batch (known by the event of its first change) fails four times, then applies.
    const failuresOf = new Map<string, number>();
    sync.onChange((_trx, changes) => {
      const first = changes[0]!.source;
      const key = first.kind === 'listing' ? first.runId : first.eventId;
      const failed = failuresOf.get(key) ?? 0;
      if (failed < 4) {
        failuresOf.set(key, failed + 1);
        throw new Error(`batch from ${key} not yet`);
      }
    });
    const totals = await sync.poll({ backoff: FAST_BACKOFF });
    expect(totals).toMatchObject({ caughtUp: true, events: model.events().length });
    expect(failuresOf.size).toBeGreaterThan(1);
    expect([...failuresOf.values()].every((n) => n === 4)).toBe(true);
  });

  it('hookAttempts must be a whole number of tries >= 1', async () => {
    await expect(sync.poll({ hookAttempts: 0 })).rejects.toThrow(ConfigError);
    await expect(sync.poll({ hookAttempts: 2.5 })).rejects.toThrow(
      /hookAttempts must be a whole number >= 1/,
    );
  });
});

describe('the worker, whose hook keeps throwing', () => {
  let logs: CapturedLogs;
  function startWorkerWith(hook: ChangeHook): void {
    logs = capturingLogger();
    const workos = createWorkosClient({
      apiKey: API_KEY,
      apiUrl: emulator.url,
      maxRetries: 0,
      timeoutMs: 10_000,
    });
    worker = startWorker(
      {
        db: t.db,
        events: workosEventsSource(workos),
        connections: workosConnectionsSource(workos),
        log: logs.log,
        scrub: noSecrets,
        metrics: createMetrics({ db: t.db, log: logs.log }),
        reporting: { hooks: () => [hook], channel: null },
      },
      {
        // Only the tick at start: a poll that gave up would not be tried again during the test.
        pollCron: '0 0 1 1 *',
        reconcileCron: '0 0 1 1 *',
        holder: 'this-replica',
        leaseTtlMs: 10_000,
        backoff: FAST_BACKOFF,
        onFatal: (error) => {
          throw error;
        },
      },
    );
  }

  it('waits past any bound, holding the stream, and applies the batch once the hook stops throwing', async () => {
    await oneChangePending();
    const before = await cursor();
    let calls = 0;
    let applied = 0;
    startWorkerWith(async (trx, changes) => {
      calls++;
      // Twice the one-shot bound, and then some.
      if (calls <= 12) throw new Error('the audit service is down');
      applied++;
      for (const c of changes)
        if (c.type === 'connection' || c.type === 'certificate')
          await sql`insert into public.sso_audit values (${c.connectionId}, ${`${c.type}.${c.kind}`}, 'worker', null)`.execute(
            trx,
          );
    });
    await until(
      async () => (await cursor()) !== before,
      10_000,
      () => logs.text(),
    );
    expect(await cursor()).toBe(model.events().at(-1)!.id);
    expect(calls).toBe(13);
    expect(applied).toBe(1);
    expect((await audit()).map((r) => r.kind)).toEqual(['connection.deactivated']);
    const said = (text: string) => logs.lines().filter((l) => String(l.msg).includes(text)).length;
    expect(said('waiting out a transient failure')).toBe(1);
    expect(said('giving up')).toBe(0);
    expect(said('poll failed')).toBe(0);
  });
});
