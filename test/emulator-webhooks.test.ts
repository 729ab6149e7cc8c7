/**
 * The emulator's webhooks over real HTTP: every event it appends while an endpoint is set reaches
 * that endpoint as WorkOS delivers it — the documented body, `Content-Type: application/json`, a
 * `WorkOS-Signature` the real SDK's `webhooks.constructEvent` accepts — and failures are retried
 * with growing delays, then given up; deliveries never hold up the API, the queue is bounded, and
 * `close()` leaves nothing running. The control API sets, shows and removes the endpoint; a
 * visibility delay lets a webhook arrive before its event is listable; the CLI flags do the same.
 */
import { SignatureVerificationException, WorkOS } from '@workos-inc/node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type Emulator,
  type EventListBody,
  startEmulator,
  WEBHOOK_SIGNATURE_HEADER,
  WorkosModel,
} from '../emulator/index.ts';
import { WebhookDispatcher } from '../emulator/webhook-dispatcher.ts';
import { durationFlag, type EmulatorCommandOptions, emulatorCommand } from '../src/commands/emulator.ts';
import { ConfigError } from '../src/errors.ts';
import { CONNECTION_EVENT_TYPES } from '../src/workos/wire.ts';
import { spawnCli } from './support/cli.ts';
import {
  type ReceivedWebhook,
  type SinkAnswer,
  startWebhookSink,
  type WebhookSink,
} from './support/webhook-sink.ts';
import { freePort, until } from './support/worker-process.ts';

const KEY = 'sk_test_webhooks';
const SECRET = 'whsec_emulator_test_0123456789';
const SIGNATURE = /^t=(\d+), v1=([0-9a-f]{64})$/;

const sdk = new WorkOS(KEY);
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function sink(answer?: (request: ReceivedWebhook, index: number) => SinkAnswer): Promise<WebhookSink> {
  const started = await startWebhookSink(answer);
  cleanups.push(() => started.close());
  return started;
}

async function emulatorWith(options: Partial<Parameters<typeof startEmulator>[0]> = {}): Promise<Emulator> {
  const emulator = await startEmulator({ apiKey: KEY, ...options });
  cleanups.push(() => emulator.close());
  return emulator;
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are inspected field by field
async function call(base: string, method: string, path: string, body?: unknown, key = KEY): Promise<any> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

function verify(request: ReceivedWebhook, secret = SECRET) {
  const sigHeader = request.headers[WEBHOOK_SIGNATURE_HEADER.toLowerCase()];
  if (typeof sigHeader !== 'string') throw new Error('no WorkOS-Signature header');
  return sdk.webhooks.constructEvent({ payload: request.body, sigHeader, secret });
}

function signedAt(request: ReceivedWebhook): number {
  const match = SIGNATURE.exec(String(request.headers['workos-signature']));
  if (!match) throw new Error(`not a WorkOS signature: ${request.headers['workos-signature']}`);
  return Number(match[1]);
}

/**
 * The timers created through the global `setTimeout` from now on that have neither fired nor been
 * cleared (the emulator's retry timers and attempt deadlines go through it).
 */
function watchTimers(): { live(): number } {
  const live = new Set<NodeJS.Timeout>();
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  vi.spyOn(globalThis, 'setTimeout').mockImplementation(((
    callback: (...args: unknown[]) => void,
    ms?: number,
  ) => {
    const timer = realSet(() => {
      live.delete(timer);
      callback();
    }, ms);
    live.add(timer);
    return timer;
  }) as typeof setTimeout);
  vi.spyOn(globalThis, 'clearTimeout').mockImplementation((timer) => {
    live.delete(timer as NodeJS.Timeout);
    realClear(timer);
  });
  return { live: () => live.size };
}

describe('webhook deliveries', () => {
  it('POSTs every new event as WorkOS does: its body, JSON, a signature the SDK verifies over the exact bytes', async () => {
    const endpoint = await sink();
    const emulator = await emulatorWith({ webhook: { url: endpoint.url, secret: SECRET } });
    const before = Date.now();
    const created = await call(emulator.url, 'POST', '/_emulator/connections', { domains: ['hooks.com'] });
    const id = created.body.connection.id;
    const events = [
      (await call(emulator.url, 'POST', `/_emulator/connections/${id}/activate`)).body.event,
      (await call(emulator.url, 'POST', `/_emulator/connections/${id}/certificates/ResponseSigning/renew`))
        .body.event,
      (await call(emulator.url, 'POST', '/_emulator/events', { event: 'connection.renamed', data: { id } }))
        .body.event,
      (await call(emulator.url, 'DELETE', `/_emulator/connections/${id}`)).body.event,
    ];
    await emulator.webhooks.settled();
    const after = Date.now();

    // One delivery per event, none for the creation (WorkOS sends none either).
    expect(endpoint.received.map((r) => JSON.parse(r.body).id)).toEqual(events.map((e) => e.id));
    for (const [i, request] of endpoint.received.entries()) {
      const event = events[i];
      expect(request.method).toBe('POST');
      expect(request.path).toBe('/webhooks/workos');
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['workos-signature']).toMatch(SIGNATURE);
      expect(signedAt(request)).toBeGreaterThanOrEqual(before);
      expect(signedAt(request)).toBeLessThanOrEqual(after);
      // The documented webhook body: the event's four fields, not the Events API's object/context.
      expect(JSON.parse(request.body)).toStrictEqual({
        event: event.event,
        id: event.id,
        data: event.data,
        created_at: event.created_at,
      });
      const verified = await verify(request);
      expect(verified).toMatchObject({ id: event.id, event: event.event, createdAt: event.created_at });
      await expect(verify(request, `${SECRET}x`)).rejects.toBeInstanceOf(SignatureVerificationException);
      const tampered = { ...request, body: request.body.replace('"id":"', '"id": "') };
      await expect(verify(tampered)).rejects.toBeInstanceOf(SignatureVerificationException);
    }
    expect(emulator.webhooks.deliveries()).toEqual(
      events.map((event) => ({
        id: expect.stringMatching(/^webhook_delivery_\d+$/),
        eventId: event.id,
        eventType: event.event,
        url: endpoint.url,
        state: 'delivered',
        attempts: [{ at: expect.any(Date), status: 200, error: null, durationMs: expect.any(Number) }],
      })),
    );
  });

  it('delivers the organisation and domain events too, silent changes excepted', async () => {
    const endpoint = await sink();
    const emulator = await emulatorWith({ webhook: { url: endpoint.url, secret: SECRET } });
    const post = (method: string, path: string, body?: unknown) =>
      call(emulator.url, method, `/_emulator${path}`, body).then((answer) => answer.body);
    const created = await post('POST', '/organizations', { name: 'Hooked', domains: ['hooked.com'] });
    const id = created.organization.id as string;
    const domainId = created.organization.domains[0].id as string;
    const connection = (await post('POST', '/connections', { organization_id: id })).connection;
    const added = await post('POST', `/organizations/${id}/domains`, { domain: 'hooked.io' });
    const events = [
      created.event,
      added.event,
      (await post('POST', `/organization_domains/${domainId}/verify`)).event,
      (await post('POST', `/organization_domains/${added.organization_domain.id}/fail`)).event,
      (await post('PATCH', `/organization_domains/${domainId}`, { verification_strategy: 'manual' })).event,
      (await post('PATCH', `/organizations/${id}`, { name: 'Hooked Inc.' })).event,
      (await post('DELETE', `/organization_domains/${added.organization_domain.id}`)).event,
    ];
    await post('PATCH', `/organizations/${id}`, { name: 'Quietly renamed', silent: true });
    const deleted = await post('DELETE', `/organizations/${id}`);
    const connectionDeleted = emulator.model.events().find((e) => e.event === 'connection.deleted');
    events.push(connectionDeleted, deleted.event);
    await emulator.webhooks.settled();

    expect(connectionDeleted?.data).toMatchObject({ id: connection.id });
    expect(events.map((e) => e.event)).toEqual([
      'organization.created',
      'organization_domain.created',
      'organization_domain.verified',
      'organization_domain.verification_failed',
      'organization_domain.updated',
      'organization.updated',
      'organization_domain.deleted',
      'connection.deleted',
      'organization.deleted',
    ]);
    const byId = new Map(
      endpoint.received.map((request) => [JSON.parse(request.body).id as string, request]),
    );
    expect([...byId.keys()].sort()).toEqual(events.map((e) => e.id as string).sort());
    for (const event of events) {
      const request = byId.get(event.id as string);
      if (!request) throw new Error(`no webhook for ${event.event}`);
      expect(JSON.parse(request.body)).toStrictEqual({
        event: event.event,
        id: event.id,
        data: event.data,
        created_at: event.created_at,
      });
      expect(await verify(request)).toMatchObject({ id: event.id, event: event.event });
    }
  });

  it('retries a non-2xx answer with growing delays, each attempt signed anew, until a 2xx', async () => {
    const endpoint = await sink((_request, index) => [500, 503, 200][index] ?? 200);
    const emulator = await emulatorWith({
      webhook: { url: endpoint.url, secret: SECRET, retryDelayMs: 40, maxAttempts: 4 },
    });
    const event = emulator.model.activate(emulator.model.createConnection().id);
    await emulator.webhooks.settled();

    const [first, second, third] = endpoint.received;
    if (!first || !second || !third) throw new Error(`expected 3 attempts, got ${endpoint.received.length}`);
    expect(endpoint.received).toHaveLength(3);
    // 40 ms before the first retry, twice that before the second (timers may round down a millisecond).
    expect(second.arrivedAt - first.arrivedAt).toBeGreaterThanOrEqual(38);
    expect(third.arrivedAt - second.arrivedAt).toBeGreaterThanOrEqual(78);
    expect(new Set(endpoint.received.map((r) => r.body)).size).toBe(1);
    expect(signedAt(second)).toBeGreaterThan(signedAt(first));
    for (const request of endpoint.received) expect((await verify(request)).id).toBe(event.id);
    const [delivery] = emulator.webhooks.deliveries();
    expect(delivery).toMatchObject({ eventId: event.id, state: 'delivered' });
    expect(delivery?.attempts.map((a) => a.status)).toEqual([500, 503, 200]);
    expect(delivery?.attempts.map((a) => a.at.getTime())).toEqual(endpoint.received.map(signedAt));
  });

  it('gives up after maxAttempts on refused connections and timeouts, recording why', async () => {
    const refusing = `http://127.0.0.1:${await freePort()}/webhooks/workos`;
    const hanging = await sink(() => 'hang');
    const emulator = await emulatorWith({
      webhook: { url: refusing, secret: SECRET, retryDelayMs: 5, maxAttempts: 3 },
    });
    emulator.model.activate(emulator.model.createConnection().id);
    await emulator.webhooks.settled();
    expect(emulator.webhooks.deliveries()[0]).toMatchObject({
      state: 'failed',
      attempts: [
        { status: null, error: 'ECONNREFUSED' },
        { status: null, error: 'ECONNREFUSED' },
        { status: null, error: 'ECONNREFUSED' },
      ],
    });

    emulator.webhooks.configure({
      url: hanging.url,
      secret: SECRET,
      retryDelayMs: 5,
      maxAttempts: 2,
      timeoutMs: 80,
    });
    emulator.model.activate(emulator.model.createConnection().id);
    await emulator.webhooks.settled();
    expect(emulator.webhooks.deliveries()[1]).toMatchObject({
      state: 'failed',
      attempts: [
        { status: null, error: 'timeout after 80 ms' },
        { status: null, error: 'timeout after 80 ms' },
      ],
    });
    expect(hanging.received).toHaveLength(2);
    await until(
      () => hanging.abandoned() === 2,
      5_000,
      () => 'timed-out attempts left their connections open',
    );
  });

  it('never holds up the API: control calls answer while deliveries hang; past maxPending they are dropped', async () => {
    const endpoint = await sink(() => 'hang');
    const emulator = await emulatorWith({
      webhook: { url: endpoint.url, secret: SECRET, timeoutMs: 60_000 },
    });
    const created = await call(emulator.url, 'POST', '/_emulator/connections', {});
    for (let i = 0; i < 6; i++) {
      const action = i % 2 === 0 ? 'activate' : 'deactivate';
      expect(
        (await call(emulator.url, 'POST', `/_emulator/connections/${created.body.connection.id}/${action}`))
          .status,
      ).toBe(200);
    }
    // Four attempts at a time; the other two wait their turn.
    await until(
      () => endpoint.held() === 4,
      5_000,
      () => `held ${endpoint.held()}`,
    );
    const states = emulator.webhooks.deliveries().map((d) => d.state);
    expect(states).toEqual(Array(6).fill('pending'));
    expect((await call(emulator.url, 'GET', '/_emulator/state')).status).toBe(200);

    const dispatcher = new WebhookDispatcher({ clock: () => new Date(), maxPending: 2 });
    cleanups.push(() => dispatcher.close());
    dispatcher.configure({ url: endpoint.url, secret: SECRET, timeoutMs: 60_000 });
    for (const id of ['event_a', 'event_b', 'event_c'])
      dispatcher.enqueue({ id, event: 'connection.activated' });
    expect(dispatcher.deliveries().map((d) => [d.eventId, d.state])).toEqual([
      ['event_a', 'pending'],
      ['event_b', 'pending'],
      ['event_c', 'dropped'],
    ]);
    // The log keeps the newest: past maxRecorded, the oldest half goes.
    const forgetful = new WebhookDispatcher({ clock: () => new Date(), maxPending: 0, maxRecorded: 4 });
    forgetful.configure({ url: endpoint.url, secret: SECRET });
    for (const id of ['a', 'b', 'c', 'd', 'e']) forgetful.enqueue({ id, event: 'connection.activated' });
    expect(forgetful.deliveries().map((d) => [d.eventId, d.state])).toEqual([
      ['c', 'dropped'],
      ['d', 'dropped'],
      ['e', 'dropped'],
    ]);
    // Closing settles the two in flight before it resolves.
    await dispatcher.close();
    expect(dispatcher.deliveries().map((d) => [d.state, d.attempts.map((a) => a.error)])).toEqual([
      ['abandoned', ['abandoned']],
      ['abandoned', ['abandoned']],
      ['dropped', []],
    ]);
  });

  it('close() abandons queued, retrying and in-flight deliveries, closes their connections and leaves no timer', async () => {
    const endpoint = await sink((request) =>
      JSON.parse(request.body).event === 'connection.activated' ? 500 : 'hang',
    );
    const timers = watchTimers();
    const emulator = await emulatorWith({
      webhook: { url: endpoint.url, secret: SECRET, retryDelayMs: 600_000, maxAttempts: 5 },
    });
    const { id } = emulator.model.createConnection();
    emulator.model.activate(id); // answered 500: waits 10 minutes for its retry
    emulator.model.deactivate(id); // held open by the endpoint
    await until(
      () => endpoint.held() === 1 && emulator.webhooks.deliveries()[0]?.attempts.length === 1,
      5_000,
      () => JSON.stringify(emulator.webhooks.deliveries()),
    );
    // The retry's timer and the held attempt's deadline.
    expect(timers.live()).toBe(2);

    await emulator.close();
    expect(emulator.webhooks.deliveries().map((d) => d.state)).toEqual(['abandoned', 'abandoned']);
    expect(emulator.webhooks.deliveries()[1]?.attempts).toEqual([
      expect.objectContaining({ status: null, error: 'abandoned' }),
    ]);
    expect(timers.live()).toBe(0);
    await until(
      () => endpoint.abandoned() === 1,
      5_000,
      () => 'the in-flight attempt kept its connection',
    );
    // Closed: events appended afterwards are not delivered.
    const received = endpoint.received.length;
    emulator.model.activate(id);
    expect(emulator.webhooks.deliveries()).toHaveLength(2);
    await emulator.webhooks.settled();
    expect(endpoint.received).toHaveLength(received);
    expect(emulator.webhooks.deliveries()).toHaveLength(2);
    expect(timers.live()).toBe(0);
  });

  it('sends nothing and records nothing without an endpoint', async () => {
    const emulator = await emulatorWith();
    emulator.model.activate(emulator.model.createConnection().id);
    expect(emulator.webhooks.endpoint()).toBeUndefined();
    expect(emulator.webhooks.deliveries()).toEqual([]);
    await emulator.webhooks.settled();
    expect(emulator.webhooks.deliveries()).toEqual([]);
  });
});

describe('control API: /_emulator/webhooks and /_emulator/visibility', () => {
  it('PUT sets the endpoint, GET shows it with the delivery log and never the secret, DELETE stops deliveries', async () => {
    const endpoint = await sink();
    const emulator = await emulatorWith();
    expect(await call(emulator.url, 'GET', '/_emulator/webhooks')).toEqual({
      status: 200,
      body: { object: 'emulator_webhooks', endpoint: null, deliveries: [] },
    });
    const set = await call(emulator.url, 'PUT', '/_emulator/webhooks', {
      url: endpoint.url,
      secret: SECRET,
      max_attempts: 2,
    });
    expect(set).toEqual({
      status: 200,
      body: {
        object: 'emulator_webhooks',
        endpoint: { url: endpoint.url, max_attempts: 2, retry_delay_ms: 100, timeout_ms: 5000 },
        deliveries: [],
      },
    });
    const { id } = (await call(emulator.url, 'POST', '/_emulator/connections', {})).body.connection;
    const { event } = (await call(emulator.url, 'POST', `/_emulator/connections/${id}/activate`)).body;
    await emulator.webhooks.settled();
    expect((await verify(endpoint.received[0] as ReceivedWebhook)).id).toBe(event.id);
    const shown = await call(emulator.url, 'GET', '/_emulator/webhooks');
    expect(shown.body.deliveries).toEqual([
      {
        object: 'emulator_webhook_delivery',
        id: expect.any(String),
        event_id: event.id,
        event_type: 'connection.activated',
        url: endpoint.url,
        state: 'delivered',
        attempts: [{ at: expect.any(String), status: 200, error: null, duration_ms: expect.any(Number) }],
      },
    ]);
    expect(JSON.stringify(shown.body)).not.toContain(SECRET);
    expect(emulator.webhooks.endpoint()).toEqual({
      url: endpoint.url,
      maxAttempts: 2,
      retryDelayMs: 100,
      timeoutMs: 5000,
    });

    expect(await call(emulator.url, 'DELETE', '/_emulator/webhooks')).toEqual({
      status: 200,
      body: { removed: true, abandoned: 0 },
    });
    await call(emulator.url, 'POST', `/_emulator/connections/${id}/deactivate`);
    expect(emulator.webhooks.deliveries()).toHaveLength(1);
    expect(endpoint.received).toHaveLength(1);
    expect((await call(emulator.url, 'GET', '/_emulator/webhooks')).body.endpoint).toBeNull();
    expect((await call(emulator.url, 'DELETE', '/_emulator/webhooks')).body).toEqual({
      removed: false,
      abandoned: 0,
    });
  });

  it('refuses a bad endpoint with a 400 naming the field (never echoing the secret), changing nothing', async () => {
    const emulator = await emulatorWith();
    const good = { url: 'http://127.0.0.1:9/hook', secret: SECRET };
    const cases: Array<[unknown, string]> = [
      [{ secret: SECRET }, 'url: is required'],
      [{ url: 'http://127.0.0.1:9/hook' }, 'secret: is required'],
      [{ ...good, url: 'ftp://127.0.0.1/hook' }, 'url: must be an absolute http:// or https:// URL'],
      [{ ...good, url: 'hooks' }, 'url: must be an absolute http:// or https:// URL'],
      [{ ...good, secret: '' }, 'secret: must be a non-empty string'],
      [
        { ...good, secret: SECRET.repeat(40) },
        'secret: must be a non-empty string of at most 1000 characters',
      ],
      [{ ...good, max_attempts: 0 }, 'max_attempts: must be an integer from 1 to 13'],
      [{ ...good, retry_delay_ms: 1.5 }, 'retry_delay_ms: must be an integer from 0 to 3600000'],
      [{ ...good, timeout_ms: '5s' }, 'timeout_ms: must be a number'],
      [{ ...good, secrets: SECRET }, 'unknown field "secrets"'],
      ['{"url": ', 'Request body is not valid JSON'],
    ];
    for (const [body, message] of cases) {
      const answer = await call(emulator.url, 'PUT', '/_emulator/webhooks', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.message).toContain(message);
      expect(answer.body.message).not.toContain(SECRET);
    }
    expect(emulator.webhooks.endpoint()).toBeUndefined();
    expect((await call(emulator.url, 'POST', '/_emulator/webhooks', good)).status).toBe(405);
    expect((await call(emulator.url, 'DELETE', '/_emulator/webhooks', { url: 'x' })).status).toBe(400);
    expect((await call(emulator.url, 'GET', '/_emulator/webhooks', undefined, 'sk_live_nope')).status).toBe(
      401,
    );
    expect(() => emulator.webhooks.configure({ ...good, maxAttempts: 14 })).toThrow(
      'webhook endpoint maxAttempts must be an integer from 1 to 13',
    );
  });

  it('a webhook can arrive before its event is listable: the visibility delay, in WorkOS’s clock', async () => {
    let now = Date.now();
    const model = new WorkosModel({ clock: () => new Date(now) });
    const endpoint = await sink();
    const emulator = await emulatorWith({
      model,
      visibilityDelayMs: 3_000,
      webhook: { url: endpoint.url, secret: SECRET },
    });
    const workos = new WorkOS(KEY, {
      apiHostname: emulator.host,
      port: emulator.port,
      https: false,
      maxRetries: 0,
    });
    const listed = async () => {
      const { data } = await workos.get<EventListBody>('/events', {
        query: { events: CONNECTION_EVENT_TYPES.join(','), order: 'asc', limit: 100 },
      });
      return data.data.map((e) => e.id);
    };
    expect(await call(emulator.url, 'GET', '/_emulator/visibility')).toEqual({
      status: 200,
      body: { object: 'emulator_visibility', delay_ms: 3000 },
    });
    const { id } = (await call(emulator.url, 'POST', '/_emulator/connections', {})).body.connection;
    const { event } = (await call(emulator.url, 'POST', `/_emulator/connections/${id}/activate`)).body;
    await emulator.webhooks.settled();
    expect((await verify(endpoint.received[0] as ReceivedWebhook)).id).toBe(event.id);
    expect(await listed()).toEqual([]);
    // Signed in WorkOS's clock, which stands still here.
    expect(signedAt(endpoint.received[0] as ReceivedWebhook)).toBe(now);
    now += 3_001;
    expect(await listed()).toEqual([event.id]);

    const later = (await call(emulator.url, 'POST', `/_emulator/connections/${id}/deactivate`)).body.event;
    expect(await listed()).toEqual([event.id]);
    expect(await call(emulator.url, 'PUT', '/_emulator/visibility', { delay_ms: 0 })).toEqual({
      status: 200,
      body: { object: 'emulator_visibility', delay_ms: 0 },
    });
    expect(await listed()).toEqual([event.id, later.id]);
    for (const body of [{ delay_ms: -1 }, { delay_ms: 1.5 }, { delay_ms: 86_400_001 }, { delay: 5 }, {}]) {
      const answer = await call(emulator.url, 'PUT', '/_emulator/visibility', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
    }
    expect(model.visibilityDelayMs).toBe(0);
  });
});

describe('workos-sync emulator --webhook-url --webhook-secret --visibility-delay', () => {
  async function startChild(args: readonly string[]) {
    const child = spawnCli(['emulator', '--port', '0', '--seed', '1', ...args], {});
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    await until(
      () => stdout.includes('\n'),
      20_000,
      () => `no listening line; stderr: ${stderr}`,
    );
    const url = / WORKOS_API_URL=(http:\/\/\S+) /.exec(stdout)?.[1] as string;
    return { child, url, stderr: () => stderr, exited };
  }

  it('delivers signed webhooks to the flag’s URL, reports deliveries that failed, and hides new events for the delay', async () => {
    const endpoint = await sink();
    const running = await startChild([
      '--webhook-url',
      endpoint.url,
      '--webhook-secret',
      SECRET,
      '--visibility-delay',
      '1h',
    ]);
    expect(running.stderr()).toContain(
      `new events are listed 1h after creation; webhooks to ${endpoint.url};`,
    );
    const key = 'sk_test_emulator';
    expect((await call(running.url, 'GET', '/_emulator/visibility', undefined, key)).body.delay_ms).toBe(
      3_600_000,
    );
    const { id } = (await call(running.url, 'POST', '/_emulator/connections', {}, key)).body.connection;
    const { event } = (
      await call(running.url, 'POST', `/_emulator/connections/${id}/activate`, undefined, key)
    ).body;
    await until(
      () => endpoint.received.length === 1,
      10_000,
      () => running.stderr(),
    );
    expect((await verify(endpoint.received[0] as ReceivedWebhook)).id).toBe(event.id);
    const listed = await call(running.url, 'GET', '/events', undefined, key);
    expect(listed.body.data).toEqual([]);

    const refusing = `http://127.0.0.1:${await freePort()}/webhooks/workos`;
    await call(
      running.url,
      'PUT',
      '/_emulator/webhooks',
      { url: refusing, secret: SECRET, retry_delay_ms: 1 },
      key,
    );
    const failed = (
      await call(running.url, 'POST', `/_emulator/connections/${id}/deactivate`, undefined, key)
    ).body.event;
    const line = `webhook for connection.deactivated ${failed.id} to ${refusing} failed after 4 attempts (last: ECONNREFUSED)`;
    await until(
      () => running.stderr().includes(line),
      10_000,
      () => running.stderr(),
    );
    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
    expect(running.stderr()).not.toContain(SECRET);
  });

  it('refuses bad webhook and visibility flags with a ConfigError naming them', async () => {
    const base: EmulatorCommandOptions = { port: 0, host: '127.0.0.1', seed: 1 };
    const cases: Array<[EmulatorCommandOptions, string]> = [
      [{ ...base, webhookUrl: 'http://127.0.0.1:9/hook' }, '--webhook-url and --webhook-secret go together'],
      [{ ...base, webhookSecret: SECRET }, '--webhook-url and --webhook-secret go together'],
      [
        { ...base, webhookUrl: 'ftp://x/hook', webhookSecret: SECRET },
        '--webhook-url must be an absolute http://',
      ],
      [
        { ...base, webhookUrl: 'http://127.0.0.1:9/hook', webhookSecret: '' },
        '--webhook-secret must be a non-empty',
      ],
      [
        { ...base, visibilityDelayMs: durationFlag('-3s') },
        '--visibility-delay must be a duration from 0 to 1d',
      ],
      [{ ...base, visibilityDelayMs: durationFlag('soon') }, '--visibility-delay must be a duration'],
      [
        { ...base, webhookUrl: 'http://127.0.0.1:9/hook', webhookSecret: SECRET.repeat(40) },
        '--webhook-secret must be a non-empty string of at most 1000 characters',
      ],
      [
        { ...base, visibilityDelayMs: durationFlag('2d') },
        '--visibility-delay must be a duration from 0 to 1d',
      ],
    ];
    for (const [options, message] of cases) {
      const error = await emulatorCommand(options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain(message);
      expect((error as Error).message).not.toContain(SECRET);
    }
  });
});
