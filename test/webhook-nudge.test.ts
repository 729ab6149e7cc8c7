/**
 * Webhooks as a nudge (issue 11), through the library against the emulator, which delivers every
 * event it emits signed as WorkOS does: an event appears in the mirror without waiting for a tick
 * (the schedule here fires once a year), a burst of deliveries is a handful of polls, a delivery
 * to a standby replica makes the holder poll (NOTIFY between them), an event WorkOS lists late is
 * still picked up, and a webhook alone never moves the cursor. Real Postgres, real HTTP.
 */
import { Writable } from 'node:stream';
import pg from 'pg';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Emulator,
  generateScenario,
  startEmulator,
  WorkosModel,
  webhookSignature,
} from '../emulator/index.ts';
import { createWorkosSync, type RunningSync, type WorkosSync } from '../src/index.ts';
import { MISS_WAIT_MS } from '../src/worker/webhooks/look-schedule.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { startFromBinaries } from './support/postgres-server.ts';
import { API_KEY } from './support/sync.ts';
import { scrapeMetric, until } from './support/worker-process.ts';

const SECRET = 'whsec_test_nudge_0123456789';
const YEARLY = '0 0 1 1 *';
let t: TestDatabase;
let emulator: Emulator;
let model: WorkosModel;
const syncs: WorkosSync[] = [];

beforeEach(async () => {
  t = await createTestDatabase();
  model = new WorkosModel({ seed: 61 });
  generateScenario(model, { seed: 61, events: 120 });
  emulator = await startEmulator({ apiKey: API_KEY, model });
});
afterEach(async () => {
  for (const s of syncs.splice(0)) await s.close();
  await emulator.close();
  await t.close();
});

async function replica(
  holder: string,
  lookSeconds = 30,
  on: { url?: string; lines?: string[] } = {},
): Promise<{ running: RunningSync; webhookUrl: string; metricsUrl: string }> {
  const lines = on.lines;
  const logger = lines
    ? pino(
        { level: 'info' },
        new Writable({
          write(chunk, _encoding, done) {
            lines.push(String(chunk));
            done();
          },
        }),
      )
    : pino({ level: 'silent' });
  const sync = createWorkosSync({
    apiKey: API_KEY,
    apiUrl: emulator.url,
    database: { url: on.url ?? t.url },
    pollCron: YEARLY,
    reconcileCron: YEARLY,
    leaseSeconds: 5,
    webhooks: { secret: SECRET, host: '127.0.0.1', port: 0, lookSeconds },
    logger,
  });
  syncs.push(sync);
  await sync.migrate();
  const running = sync.start({ holder, http: { host: '127.0.0.1', port: 'ephemeral' } });
  const { url, webhookUrl } = await running.ready;
  return { running, webhookUrl: webhookUrl!, metricsUrl: `${url}/metrics` };
}

const cursor = async () =>
  (
    await t.db
      .selectFrom('sync_state')
      .select('cursor')
      .where('stream', '=', 'events')
      .executeTakeFirstOrThrow()
  ).cursor;
const caughtUp = () => until(async () => (await cursor()) === model.events().at(-1)!.id, 30_000);
const eventRequests = () => emulator.requests.filter((r) => r.path === '/events').length;
const metric = scrapeMetric;
const holderOf = async () =>
  (await t.db.selectFrom('leases').select('holder').where('name', '=', 'events').executeTakeFirst())?.holder;
/** Waits until `count` has stayed the same for 2 s: the worker has nothing left to do. */
async function quiet(count: () => number): Promise<void> {
  let last = -1;
  await until(async () => {
    const now = count();
    if (now === last) return true;
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    return false;
  }, 30_000);
}

/** A delivery signed as WorkOS signs, posted as WorkOS would. */
function deliver(url: string, body: object, secret = SECRET, at = Date.now()) {
  const text = JSON.stringify(body);
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'WorkOS-Signature': webhookSignature(secret, at, text) },
    body: text,
  });
}

describe('a webhook nudges the poller', () => {
  it('makes a new event appear without waiting for a tick', async () => {
    const { webhookUrl, metricsUrl } = await replica('only');
    await caughtUp(); // the first poll, at start
    emulator.webhooks.configure({ url: webhookUrl, secret: SECRET });
    const live = model.liveConnections().find((c) => c.state === 'active')!;
    model.deactivate(String(live.id));
    await caughtUp();
    expect(
      (
        await t.db
          .selectFrom('connections')
          .select('state')
          .where('id', '=', String(live.id))
          .executeTakeFirstOrThrow()
      ).state,
    ).toBe('inactive');
    expect(await metric(metricsUrl, 'workos_sync_nudged_polls_total')).toBeGreaterThan(0);
    expect(await metric(metricsUrl, 'workos_sync_webhook_to_applied_seconds_count')).toBe(1);
  });

  it('coalesces a burst: 500 deliveries are a handful of polls', async () => {
    const { webhookUrl } = await replica('only');
    await caughtUp();
    const before = eventRequests();
    const last = model.events().at(-1)!;
    const answers = await Promise.all(
      Array.from({ length: 500 }, () => deliver(webhookUrl, { id: last.id, event: last.event, data: {} })),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    // Every delivery names an event the mirror has: once the polls they started are over, none follow.
    await quiet(eventRequests);
    expect(eventRequests() - before).toBeGreaterThan(0);
    expect(eventRequests() - before).toBeLessThanOrEqual(10);
  });

  it('refuses forged and stale deliveries and polls for none of them', async () => {
    const { webhookUrl, metricsUrl } = await replica('only');
    await caughtUp();
    await quiet(eventRequests); // the first poll is over
    const before = eventRequests();
    const last = model.events().at(-1)!;
    const forged = await deliver(
      webhookUrl,
      { id: last.id, event: last.event, data: {} },
      'whsec_someone_else_1234',
    );
    const stale = await deliver(
      webhookUrl,
      { id: last.id, event: last.event, data: {} },
      SECRET,
      Date.now() - 600_000,
    );
    expect([forged.status, stale.status]).toEqual([401, 401]);
    expect(await metric(metricsUrl, 'workos_sync_nudged_polls_total')).toBe(0);
    // Once nothing more comes, no request was made for them.
    await quiet(eventRequests);
    expect(eventRequests()).toBe(before);
    expect(await metric(metricsUrl, 'workos_sync_nudged_polls_total')).toBe(0);
    expect(await metric(metricsUrl, 'workos_sync_webhooks_total', { result: 'accepted' })).toBe(0);
  });

  it('received by a standby replica, makes the holder poll (NOTIFY between them)', async () => {
    const a = await replica('replica-a');
    const b = await replica('replica-b');
    await caughtUp();
    const standby = (await holderOf()) === 'replica-a' ? b : a;
    emulator.webhooks.configure({ url: standby.webhookUrl, secret: SECRET });
    const live = model.liveConnections().find((c) => c.state === 'active')!;
    model.deactivate(String(live.id));
    await caughtUp();
    const holder = standby === a ? b : a;
    expect(await metric(holder.metricsUrl, 'workos_sync_webhook_to_applied_seconds_count')).toBe(1);
    const text = await (await fetch(standby.metricsUrl)).text();
    expect(text).toContain('workos_sync_webhooks_total{result="accepted"} 1');
  });

  it('keeps looking for an event WorkOS lists late, and picks it up', async () => {
    const { webhookUrl, metricsUrl } = await replica('only');
    await caughtUp();
    emulator.webhooks.configure({ url: webhookUrl, secret: SECRET });
    model.setVisibilityDelay(1_500);
    const live = model.liveConnections().find((c) => c.state === 'active')!;
    model.deactivate(String(live.id));
    await until(async () => (await cursor()) === model.events().at(-1)!.id, 30_000);
    // The first look found nothing listed: it took more than one.
    const firstLooks = await metric(metricsUrl, 'workos_sync_nudged_polls_total');
    expect(firstLooks).toBeGreaterThan(3);

    // The schedule learned the delay: the next event's first look waits for it, and a look or
    // two find the event.
    await quiet(eventRequests);
    const requests = eventRequests();
    const other = model.liveConnections().find((c) => c.state === 'active')!;
    model.deactivate(String(other.id));
    await until(async () => (await cursor()) === model.events().at(-1)!.id, 30_000);
    await quiet(eventRequests);
    expect(eventRequests() - requests).toBeLessThanOrEqual(3);
  });

  it('never moves the cursor for a webhook alone, and gives up looking after its bound', async () => {
    const { webhookUrl, metricsUrl } = await replica('only', 1);
    await caughtUp();
    const before = await cursor();
    const requests = eventRequests();
    const answer = await deliver(webhookUrl, {
      id: 'event_never_listed',
      event: 'connection.activated',
      data: {},
    });
    expect(answer.status).toBe(200);
    // It looked every MISS_WAIT_MS (the Events API never lists it), then stopped, past its 1 s
    // bound: the first look, one per wait within the bound, and the one that saw it had passed.
    await quiet(() => eventRequests() - requests);
    expect(await metric(metricsUrl, 'workos_sync_nudged_polls_total')).toBeGreaterThan(1);
    expect(eventRequests() - requests).toBeLessThanOrEqual(1_000 / MISS_WAIT_MS + 2);
    expect(await cursor()).toBe(before);
    expect(
      await t.db.selectFrom('events').select('id').where('id', '=', 'event_never_listed').execute(),
    ).toEqual([]);
  });

  it(
    'keeps listening across a Postgres restart: a standby`s webhook still reaches the holder',
    { timeout: 90_000 },
    async () => {
      const server = await startFromBinaries();
      try {
        const linesOf = { a: [] as string[], b: [] as string[] };
        const a = await replica('replica-a', 30, { url: server.url, lines: linesOf.a });
        const b = await replica('replica-b', 30, { url: server.url, lines: linesOf.b });
        const listeningAgain = (lines: string[]) => lines.filter((l) => l.includes('listening again')).length;
        /** One query on a client of its own (the restart ends every session). */
        const query = async (text: string) => {
          const client = new pg.Client({ connectionString: server.url });
          client.on('error', () => undefined);
          await client.connect();
          try {
            return (await client.query(text)).rows;
          } finally {
            await client.end();
          }
        };
        const cursorThere = async () =>
          (await query("select cursor from workos.sync_state where stream = 'events'"))[0]?.cursor as
            | string
            | null;
        await until(
          async () => (await cursorThere().catch(() => null)) === model.events().at(-1)!.id,
          30_000,
        );
        await server.pause();
        await server.resume();
        // Each replica listens again, not one of them twice.
        await until(
          () => listeningAgain(linesOf.a) >= 1 && listeningAgain(linesOf.b) >= 1,
          60_000,
          () => `replica-a:\n${linesOf.a.join('')}\nreplica-b:\n${linesOf.b.join('')}`,
        );
        const rows = await query("select holder from workos.leases where name = 'events'");
        const standby = rows[0]?.holder === 'replica-a' ? b : a;
        const holder = standby === a ? b : a;
        const standbyNudged = await metric(standby.metricsUrl, 'workos_sync_nudged_polls_total');
        emulator.webhooks.configure({ url: standby.webhookUrl, secret: SECRET });
        model.deactivate(String(model.liveConnections().find((c) => c.state === 'active')!.id));
        await until(
          async () => (await cursorThere().catch(() => null)) === model.events().at(-1)!.id,
          30_000,
        );
        // The standby took the delivery; the holder, told over the restarted LISTEN, applied
        // the event it named; the standby polled for nothing.
        expect(await metric(standby.metricsUrl, 'workos_sync_webhooks_total', { result: 'accepted' })).toBe(
          1,
        );
        await until(
          async () => (await metric(holder.metricsUrl, 'workos_sync_webhook_to_applied_seconds_count')) === 1,
          10_000,
        );
        expect(await metric(holder.metricsUrl, 'workos_sync_nudged_polls_total')).toBeGreaterThan(0);
        expect(await metric(standby.metricsUrl, 'workos_sync_nudged_polls_total')).toBe(standbyNudged);
        expect(await metric(standby.metricsUrl, 'workos_sync_webhook_to_applied_seconds_count')).toBe(0);
      } finally {
        for (const s of syncs.splice(0)) await s.close();
        await server.stop();
      }
    },
  );
});
