/**
 * One trace from a webhook to the commit that applied its event, through the library as an
 * application runs it, with a real SDK registered in this process (in-memory exporter, async-hooks
 * context): a verified delivery is a `workos_sync.webhook` server span; the poll that applied its
 * event links to it — also when the delivery reached a standby and crossed to the holder by NOTIFY
 * (the context travels as a `traceparent`); inside the poll, each WorkOS request is an HTTP client
 * span and each batch has its `COMMIT`. A reconciliation is a `workos_sync.reconcile` span with its
 * listings inside, and a log line written in a span names its trace. A delivery that does not
 * verify makes no span. Real Postgres, the emulator over HTTP.
 */
import { Writable } from 'node:stream';
import { context, type HrTime, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import {
  type Emulator,
  generateScenario,
  startEmulator,
  WorkosModel,
  webhookSignature,
} from '../emulator/index.ts';
import { createWorkosSync, type WorkosSync } from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { API_KEY } from './support/sync.ts';
import { until } from './support/worker-process.ts';

const SECRET = 'whsec_test_tracing_0123456789';
const YEARLY = '0 0 1 1 *';
const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const contextManager = new AsyncLocalStorageContextManager();
let t: TestDatabase;
let emulator: Emulator;
let model: WorkosModel;
const syncs: WorkosSync[] = [];
const lines: string[] = [];

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(provider);
});
afterAll(() => {
  trace.disable();
  context.disable();
});
beforeEach(async () => {
  t = await createTestDatabase();
  model = new WorkosModel({ seed: 67 });
  generateScenario(model, { seed: 67, events: 40 });
  emulator = await startEmulator({ apiKey: API_KEY, model });
  lines.length = 0;
});
afterEach(async () => {
  for (const s of syncs.splice(0)) await s.close();
  await emulator.close();
  await t.close();
});

async function replica(holder: string): Promise<{ webhookUrl: string }> {
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  const sync = createWorkosSync({
    apiKey: API_KEY,
    apiUrl: emulator.url,
    database: { url: t.url },
    pollCron: YEARLY,
    reconcileCron: YEARLY,
    leaseSeconds: 5,
    webhooks: { secret: SECRET, host: '127.0.0.1', port: 0 },
    logger,
  });
  syncs.push(sync);
  await sync.migrate();
  const running = sync.start({ holder, http: false });
  const { webhookUrl } = await running.ready;
  return { webhookUrl: webhookUrl! };
}

const cursor = async () =>
  (await t.db.selectFrom('sync_state').select('cursor').where('stream', '=', 'events').executeTakeFirst())
    ?.cursor;
const caughtUp = () => until(async () => (await cursor()) === model.events().at(-1)!.id, 30_000);
const finished = async () => {
  await provider.forceFlush();
  return exporter.getFinishedSpans();
};
const named = (spans: readonly ReadableSpan[], name: string) => spans.filter((s) => s.name === name);
const id = (span: ReadableSpan) => span.spanContext().spanId;
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

/** The poll span whose batch applied `eventId`, and that batch. */
async function applying(eventId: string): Promise<{ poll: ReadableSpan; batch: ReadableSpan }> {
  let found: { poll: ReadableSpan; batch: ReadableSpan } | undefined;
  await until(async () => {
    const spans = await finished();
    const batch = named(spans, 'workos_sync.batch').find((b) =>
      (b.attributes['workos_sync.event_ids'] as string[]).includes(eventId),
    );
    const poll = batch && spans.find((s) => id(s) === parentOf(batch));
    if (poll) found = { poll, batch };
    return found !== undefined;
  }, 30_000);
  return found!;
}

it('a webhook to its commit: the delivery`s span, the poll linked to it, its requests, the batch and its COMMIT', async () => {
  const { webhookUrl } = await replica('only');
  await caughtUp();
  exporter.reset();
  emulator.webhooks.configure({ url: webhookUrl, secret: SECRET });
  model.deactivate(String(model.liveConnections().find((c) => c.state === 'active')!.id));
  const event = model.events().at(-1)! as { id: string; event: string; created_at: string };
  await caughtUp();

  const { poll, batch } = await applying(event.id);
  const spans = await finished();
  const [webhook, ...others] = named(spans, 'workos_sync.webhook');
  expect(others).toEqual([]);
  expect(webhook!.kind).toBe(SpanKind.SERVER);
  expect(webhook!.attributes).toMatchObject({
    'http.request.method': 'POST',
    'url.path': '/webhooks/workos',
    'http.response.status_code': 200,
    'workos_sync.event_id': event.id,
    'workos_sync.event_type': event.event,
    'workos_sync.environment': 'default',
  });
  // The poll is a trace of its own (a schedule's poll has no webhook), linked to the delivery.
  expect(poll.name).toBe('workos_sync.poll');
  expect(poll.links.map((l) => l.context.spanId)).toEqual([id(webhook!)]);
  expect(poll.links[0]!.context.traceId).toBe(webhook!.spanContext().traceId);

  const commit = spans.find((s) => s.name === 'COMMIT' && parentOf(s) === id(batch))!;
  expect(commit.kind).toBe(SpanKind.CLIENT);
  expect(commit.attributes).toMatchObject({ 'db.system.name': 'postgresql', 'db.operation.name': 'COMMIT' });
  // HrTime is [seconds, nanoseconds]: compared as numbers (as arrays, `>=` compares their text).
  const ms = ([seconds, nanos]: HrTime) => seconds * 1000 + nanos / 1e6;
  expect(ms(commit.startTime)).toBeGreaterThanOrEqual(ms(batch.startTime));

  const requests = spans.filter((s) => s.kind === SpanKind.CLIENT && s.name === 'GET /events');
  const ofPoll = requests.filter((s) => parentOf(s) === id(poll));
  expect(ofPoll.length).toBeGreaterThan(0);
  expect(ofPoll[0]!.attributes).toMatchObject({
    'http.request.method': 'GET',
    'url.template': '/events',
    'server.address': '127.0.0.1',
    'http.response.status_code': 200,
  });
  expect(String(ofPoll[0]!.attributes['url.full'])).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/events\?/);

  // No key, no secret, no payload, in any attribute of any span.
  const text = JSON.stringify(spans.map((s) => [s.attributes, s.links, s.events]));
  expect(text).not.toContain(API_KEY);
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain('"data"');
});

it('a delivery to a standby: the holder`s poll links to the span the standby started, across NOTIFY', async () => {
  await replica('holder');
  await caughtUp();
  const standby = await replica('standby');
  exporter.reset();
  model.deactivate(String(model.liveConnections().find((c) => c.state === 'active')!.id));
  const event = model.events().at(-1)! as { id: string; event: string; created_at: string };
  const body = JSON.stringify({ id: event.id, event: event.event, data: {}, created_at: event.created_at });
  const answer = await fetch(standby.webhookUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'WorkOS-Signature': webhookSignature(SECRET, Date.now(), body),
    },
    body,
  });
  expect(answer.status).toBe(200);
  const { poll } = await applying(event.id);
  const [webhook] = named(await finished(), 'workos_sync.webhook');
  expect(poll.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([
    [webhook!.spanContext().traceId, id(webhook!)],
  ]);
  expect(poll.links[0]!.context.isRemote).toBe(true);
});

it('a delivery that does not verify makes no span', async () => {
  const { webhookUrl } = await replica('only');
  await caughtUp();
  exporter.reset();
  const body = JSON.stringify({ id: 'event_01FORGED', event: 'connection.activated', data: {} });
  const answer = await fetch(webhookUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'WorkOS-Signature': webhookSignature('whsec_wrong', Date.now(), body),
    },
    body,
  });
  expect(answer.status).toBe(401);
  expect(named(await finished(), 'workos_sync.webhook')).toEqual([]);
});

it('a reconciliation: its span with drift and pages, its listings and their requests inside, its log line naming the trace', async () => {
  await replica('only');
  await caughtUp();
  const sync = syncs[0]!;
  // Drift: a connection the mirror lost, put back by the listing.
  const { id: lost } = await t.db.selectFrom('connections').select('id').limit(1).executeTakeFirstOrThrow();
  await t.db.deleteFrom('connections').where('id', '=', lost).execute();
  exporter.reset();
  lines.length = 0;
  const report = await sync.reconcile();
  const spans = await finished();
  const [run] = named(spans, 'workos_sync.reconcile');
  expect(run!.attributes).toMatchObject({
    'workos_sync.dry_run': false,
    'workos_sync.pages': report.pages,
    'workos_sync.listing_complete': true,
    'workos_sync.connections.inserted': report.counts.inserted,
  });
  const listings = named(spans, 'workos_sync.listing');
  expect(listings.map((l) => l.attributes['workos_sync.listing']).sort()).toEqual([
    'List Connections',
    'List Organizations',
  ]);
  for (const listing of listings) {
    expect(parentOf(listing)).toBe(id(run!));
    const pages = spans.filter((s) => s.kind === SpanKind.CLIENT && parentOf(s) === id(listing));
    expect(pages.length).toBe(listing.attributes['workos_sync.pages']);
  }
  expect(spans.some((s) => s.name === 'COMMIT' && parentOf(s) === id(run!))).toBe(true);
  const finishedLine = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'reconciliation finished');
  expect(finishedLine).toMatchObject({ trace_id: run!.spanContext().traceId });
  expect(finishedLine.span_id).toBe(id(run!));
  expect(report.counts.inserted).toBe(1);
});
