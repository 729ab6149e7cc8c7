/**
 * The emulator as a product: its control API (`/_emulator/…`) over real HTTP — every endpoint, the
 * event each mutation appends as `GET /events` serves it, and the errors — and the `emulator`
 * command in a child process, serving its scenario to the real `@workos-inc/node` SDK until
 * SIGTERM/SIGINT, then exiting 0.
 */
import type { ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { RateLimitExceededException, WorkOS } from '@workos-inc/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EventBody, EventListBody } from '../emulator/event-log.ts';
import { WorkosModel } from '../emulator/model.ts';
import { loadScenario } from '../emulator/scenarios.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import {
  durationFlag,
  type EmulatorCommandOptions,
  emulatorCommand,
  integerFlag,
  isTestApiKey,
} from '../src/commands/emulator.ts';
import { ConfigError } from '../src/errors.ts';
import {
  CONNECTION_EVENT_TYPES,
  ORGANIZATION_EVENT_TYPES,
  type WireConnection,
  type WireConnectionList,
} from '../src/workos/wire.ts';
import { type CliResult, finished, spawnCli } from './support/cli.ts';

const KEY = 'sk_test_control_api';
const DAY_MS = 86_400_000;

interface Answer {
  status: number;
  contentType: string | null;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are inspected field by field
  body: any;
}

async function call(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  key = KEY,
): Promise<Answer> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type'), body: JSON.parse(text) };
}

function sdkFor(url: string, key: string): WorkOS {
  const { hostname, port } = new URL(url);
  return new WorkOS(key, { apiHostname: hostname, port: Number(port), https: false, maxRetries: 0 });
}

async function newestEvent(workos: WorkOS): Promise<EventBody | undefined> {
  const { data } = await workos.get<EventListBody>('/events', {
    query: { events: CONNECTION_EVENT_TYPES.join(','), order: 'desc', limit: 1 },
  });
  return data.data[0];
}

/** Every connection and organisation event, oldest first, paged with `after` as the sync engine does. */
async function pollOnce(workos: WorkOS): Promise<EventBody[]> {
  const out: EventBody[] = [];
  let after: string | undefined;
  const events = [...CONNECTION_EVENT_TYPES, ...ORGANIZATION_EVENT_TYPES].join(',');
  for (;;) {
    const { data } = await workos.get<EventListBody>('/events', {
      query: { events, order: 'asc', limit: 100, after },
    });
    out.push(...data.data);
    if (data.data.length < 100 || !data.list_metadata.after) return out;
    after = data.list_metadata.after;
  }
}

async function listAllConnections(workos: WorkOS): Promise<WireConnection[]> {
  const out: WireConnection[] = [];
  let after: string | undefined;
  do {
    const { data } = await workos.get<WireConnectionList>('/connections', {
      query: { limit: 100, order: 'asc', after },
    });
    out.push(...data.data);
    after = data.list_metadata.after ?? undefined;
  } while (after);
  return out;
}

describe('control API over HTTP', () => {
  let emulator: Emulator;
  let workos: WorkOS;
  const control = (method: string, path: string, body?: unknown, key?: string) =>
    call(emulator.url, method, `/_emulator${path}`, body, key);
  const create = async (body: unknown = {}): Promise<WireConnection> => {
    const answer = await control('POST', '/connections', body);
    expect(answer.status).toBe(201);
    return answer.body.connection;
  };

  beforeAll(async () => {
    emulator = await startEmulator({ model: new WorkosModel({ seed: 11 }), apiKey: isTestApiKey });
    workos = sdkFor(emulator.url, KEY);
  });
  afterEach(() => emulator.faults.clear());
  afterAll(() => emulator.close());

  it('accepts any sk_test_ key and refuses others, on the control API and the WorkOS API alike', async () => {
    expect((await control('GET', '/state', undefined, 'sk_test_someone_else')).status).toBe(200);
    for (const key of ['sk_live_abc', 'sk_test_', 'anything']) {
      expect(await control('GET', '/state', undefined, key)).toMatchObject({
        status: 401,
        body: { message: 'Unauthorized' },
      });
      expect((await call(emulator.url, 'GET', '/events', undefined, key)).status).toBe(401);
    }
  });

  it('POST /connections creates a connection without an event (as WorkOS does)', async () => {
    const before = emulator.model.eventCount;
    const notAfter = '2027-03-01T00:00:00.000Z';
    const connection = await create({
      organization_id: 'org_01CONTROLAPI',
      connection_type: 'AzureSAML',
      name: 'Foo Corp Azure',
      domains: ['foo-corp.com', 'eu.foo-corp.com'],
      state: 'validating',
      signing_certificate_not_after: notAfter,
    });
    expect(connection).toMatchObject({
      object: 'connection',
      organization_id: 'org_01CONTROLAPI',
      connection_type: 'AzureSAML',
      name: 'Foo Corp Azure',
      state: 'validating',
      domains: [
        { object: 'connection_domain', domain: 'foo-corp.com' },
        { object: 'connection_domain', domain: 'eu.foo-corp.com' },
      ],
    });
    const pem = connection.options?.signing_cert as string;
    expect(new Date(new X509Certificate(pem).validTo).toISOString()).toBe(notAfter);
    expect(emulator.model.eventCount).toBe(before);

    const { data: listed } = await workos.get<WireConnection>(`/connections/${connection.id}`);
    expect(listed).toEqual(connection);

    const defaults = await create();
    expect(defaults).toMatchObject({ connection_type: 'OktaSAML', state: 'draft', domains: [] });
    expect(defaults.organization_id).toMatch(/^org_/);
    expect(defaults.options).toEqual({ signing_cert: null });
    const orphan = await create({ organization_id: null, connection_type: 'GoogleOAuth' });
    expect(orphan).not.toHaveProperty('organization_id');
    expect(orphan).not.toHaveProperty('options');
  });

  it('POST /connections/:id/activate and /deactivate emit the events /events serves', async () => {
    const { id } = await create({ connection_type: 'GenericOIDC', domains: ['bar.io'] });
    const activated = await control('POST', `/connections/${id}/activate`);
    expect(activated.status).toBe(200);
    expect(activated.body.connection).toMatchObject({ id, state: 'active' });
    expect(activated.body.event).toMatchObject({
      object: 'event',
      event: 'connection.activated',
      data: { id, state: 'active', domains: [{ domain: 'bar.io' }] },
    });
    expect(await newestEvent(workos)).toEqual(activated.body.event);

    const deactivated = await control('POST', `/connections/${id}/deactivate`, {});
    expect(deactivated.body.connection).toMatchObject({ id, state: 'inactive' });
    expect(deactivated.body.event).toMatchObject({ event: 'connection.deactivated', data: { id } });
    expect(await newestEvent(workos)).toEqual(deactivated.body.event);
    expect(deactivated.body.connection.updated_at).toBe(deactivated.body.event.created_at);
  });

  it('PATCH /connections/:id renames, changes domains, state and certificate without an event', async () => {
    const created = await create({ connection_type: 'OktaSAML', domains: ['old.com'] });
    const before = emulator.model.eventCount;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const edited = await control('PATCH', `/connections/${created.id}`, {
      name: 'Renamed',
      domains: ['old.com', 'new.com'],
      state: 'inactive',
      signing_certificate_not_after: '2026-12-31T00:00:00Z',
    });
    expect(edited.status).toBe(200);
    const connection = edited.body.connection as WireConnection;
    expect(connection).toMatchObject({ name: 'Renamed', state: 'inactive' });
    expect(connection.domains.map((d) => d.domain)).toEqual(['old.com', 'new.com']);
    // The domain it kept keeps its id.
    expect(connection.domains[0]?.id).toBe(created.domains[0]?.id);
    expect(Date.parse(connection.updated_at)).toBeGreaterThan(Date.parse(created.updated_at));
    expect(
      new Date(new X509Certificate(connection.options?.signing_cert as string).validTo).toISOString(),
    ).toBe('2026-12-31T00:00:00.000Z');
    expect(edited.body).not.toHaveProperty('event');
    expect(emulator.model.eventCount).toBe(before);
    const { data: listed } = await workos.get<WireConnection>(`/connections/${created.id}`);
    expect(listed).toEqual(connection);

    const removed = await control('PATCH', `/connections/${created.id}`, {
      signing_certificate_not_after: null,
    });
    expect(removed.body.connection.options).toEqual({ signing_cert: null });
  });

  it('DELETE /connections/:id emits connection.deleted with the state before deletion', async () => {
    const { id } = await create({ connection_type: 'GoogleSAML', domains: ['gone.com'] });
    await control('POST', `/connections/${id}/activate`);
    const deleted = await control('DELETE', `/connections/${id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body.connection).toMatchObject({ id, state: 'active' });
    expect(deleted.body.event).toMatchObject({ event: 'connection.deleted', data: { id, state: 'active' } });
    expect(await newestEvent(workos)).toEqual(deleted.body.event);
    expect((await call(emulator.url, 'GET', `/connections/${id}`)).status).toBe(404);
    expect(await control('DELETE', `/connections/${id}`)).toMatchObject({
      status: 404,
      body: { message: expect.stringContaining(id) },
    });
    expect(emulator.model.deletedConnections().map((c) => c.connection.id)).toContain(id);
  });

  it('POST /connections/:id/certificates/:type/renew emits connection.saml_certificate_renewed', async () => {
    const { id, organization_id } = await create({ connection_type: 'OktaSAML', domains: ['cert.com'] });
    const renewed = await control('POST', `/connections/${id}/certificates/ResponseSigning/renew`, {
      expiry_date: '2027-06-01T00:00:00.000Z',
    });
    expect(renewed.status).toBe(200);
    expect(renewed.body.event).toMatchObject({
      event: 'connection.saml_certificate_renewed',
      data: {
        connection: { id, organization_id },
        certificate: { certificate_type: 'ResponseSigning', expiry_date: '2027-06-01T00:00:00.000Z' },
      },
    });
    expect(await newestEvent(workos)).toEqual(renewed.body.event);
    // The listed signing certificate follows ResponseSigning events.
    const pem = renewed.body.connection.options.signing_cert as string;
    expect(new Date(new X509Certificate(pem).validTo).toISOString()).toBe('2027-06-01T00:00:00.000Z');

    // Without expiry_date: a year from now.
    const byDefault = await control('POST', `/connections/${id}/certificates/RequestSigning/renew`);
    const expiry = Date.parse(byDefault.body.event.data.certificate.expiry_date);
    expect(Math.abs(expiry - Date.now() - 365 * DAY_MS)).toBeLessThan(60_000);
  });

  it('POST /connections/:id/certificates/:type/require-renewal emits a renewal notice (or an expiry)', async () => {
    const { id } = await create({ connection_type: 'AzureSAML', domains: ['expiring.com'] });
    const soon = new Date(Date.now() + 10 * DAY_MS + 3_600_000).toISOString();
    const notice = await control(
      'POST',
      `/connections/${id}/certificates/ResponseEncryption/require-renewal`,
      {
        expiry_date: soon,
      },
    );
    expect(notice.status).toBe(200);
    expect(notice.body.event).toMatchObject({
      event: 'connection.saml_certificate_renewal_required',
      data: {
        connection: { id },
        certificate: { certificate_type: 'ResponseEncryption', expiry_date: soon, is_expired: false },
        days_until_expiry: 10,
      },
    });
    expect(await newestEvent(workos)).toEqual(notice.body.event);

    const expired = await control('POST', `/connections/${id}/certificates/ResponseSigning/require-renewal`, {
      expiry_date: '2020-01-01T00:00:00Z',
    });
    expect(expired.body.event.data).toMatchObject({
      certificate: { is_expired: true, expiry_date: '2020-01-01T00:00:00.000Z' },
      days_until_expiry: 0,
    });
    const byDefault = await control('POST', `/connections/${id}/certificates/RequestSigning/require-renewal`);
    expect(byDefault.body.event.data.days_until_expiry).toBe(30);
  });

  it('refuses certificate events for unknown types and non-SAML connections', async () => {
    const saml = await create({ connection_type: 'OktaSAML' });
    const oauth = await create({ connection_type: 'GoogleOAuth' });
    const before = emulator.model.eventCount;
    expect(await control('POST', `/connections/${saml.id}/certificates/Signing/renew`)).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/ResponseSigning, RequestSigning, ResponseEncryption/) },
    });
    expect(
      await control('POST', `/connections/${oauth.id}/certificates/ResponseSigning/require-renewal`),
    ).toMatchObject({ status: 400, body: { message: expect.stringMatching(/only SAML connections/) } });
    expect(
      await control('POST', `/connections/${saml.id}/certificates/ResponseSigning/renew`, {
        expiry_date: 'next tuesday',
      }),
    ).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/^Invalid request body: expiry_date:/) },
    });
    expect(emulator.model.eventCount).toBe(before);
  });

  it('POST /events appends a raw event (unknown type, malformed) that /events serves whatever the filter', async () => {
    const raw = await control('POST', '/events', { object: 'event', event: 'connection.renamed', data: {} });
    expect(raw.status).toBe(201);
    expect(raw.body.event).toMatchObject({
      event: 'connection.renamed',
      id: expect.stringMatching(/^event_/),
    });
    expect(await newestEvent(workos)).toEqual(raw.body.event);
    expect(await control('POST', '/events', '[1,2]')).toMatchObject({ status: 400 });
  });

  it('POST /_emulator/faults queues a fault for the WorkOS API, never for the control API', async () => {
    const added = await control('POST', '/faults', {
      kind: 'status',
      status: 429,
      retry_after: 3,
      path: '/events',
      times: 2,
    });
    expect(added.status).toBe(201);
    expect(added.body.fault).toEqual({
      object: 'emulator_fault',
      kind: 'status',
      status: 429,
      retry_after: 3,
      path: '/events',
      times: 2,
    });
    expect((await control('GET', '/faults')).body.data).toEqual([{ ...added.body.fault, remaining: 2 }]);
    // Control calls and other paths do not consume it.
    expect((await control('GET', '/state')).body.faults).toHaveLength(1);
    expect((await call(emulator.url, 'GET', '/connections')).status).toBe(200);

    const first = await fetch(`${emulator.url}/events`, { headers: { Authorization: `Bearer ${KEY}` } });
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('3');
    await first.arrayBuffer();
    await expect(newestEvent(workos)).rejects.toBeInstanceOf(RateLimitExceededException);
    expect((await call(emulator.url, 'GET', '/events')).status).toBe(200);
  });

  it('serves malformed JSON, truncated bodies and delays on request', async () => {
    await control('POST', '/faults', { kind: 'malformed-json', path: '/connections' });
    const malformed = await fetch(`${emulator.url}/connections`, {
      headers: { Authorization: `Bearer ${KEY}` },
    });
    expect(malformed.headers.get('content-type')).toBe('application/json');
    await expect(malformed.json()).rejects.toThrow();

    await control('POST', '/faults', { kind: 'truncate' });
    await expect(
      fetch(`${emulator.url}/events`, { headers: { Authorization: `Bearer ${KEY}` } }).then((r) => r.text()),
    ).rejects.toThrow();

    await control('POST', '/faults', { kind: 'delay', ms: 300, path: '/events' });
    const started = Date.now();
    expect((await call(emulator.url, 'GET', '/events')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);

    await control('POST', '/faults', { kind: 'hang', path: '/events' });
    await expect(
      fetch(`${emulator.url}/events`, {
        headers: { Authorization: `Bearer ${KEY}` },
        signal: AbortSignal.timeout(300),
      }),
    ).rejects.toThrow();
  });

  it('DELETE /_emulator/faults clears the queue', async () => {
    await control('POST', '/faults', { kind: 'status', status: 503 });
    await control('POST', '/faults', { kind: 'hang', path: '/connections', times: 5 });
    expect(await control('DELETE', '/faults')).toMatchObject({ status: 200, body: { cleared: 2 } });
    expect((await control('GET', '/faults')).body.data).toEqual([]);
    expect((await call(emulator.url, 'GET', '/connections')).status).toBe(200);
  });

  it('refuses malformed faults with a message naming the field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{}, /kind: must be one of status, delay, hang, malformed-json, truncate/],
      [{ kind: 'status' }, /status: must be an HTTP status code/],
      [{ kind: 'status', status: 700 }, /status: must be an HTTP status code/],
      [{ kind: 'delay' }, /ms: must be an integer/],
      [{ kind: 'hang', path: '/organizations' }, /path: must be "\/events" or "\/connections"/],
      [{ kind: 'truncate', times: 0 }, /times: must be a positive integer/],
      [{ kind: 'hang', retry_after: 3 }, /unknown field "retry_after"/],
    ];
    for (const [body, message] of cases) {
      expect(await control('POST', '/faults', body)).toMatchObject({
        status: 400,
        body: { message: expect.stringMatching(message) },
      });
    }
    expect(emulator.faults.pending()).toEqual([]);
  });

  it('GET /_emulator/state counts live and deleted connections and events', async () => {
    const state = await control('GET', '/state');
    expect(state.status).toBe(200);
    const { model } = emulator;
    expect(state.body).toMatchObject({
      object: 'emulator_state',
      connections: { live: model.liveConnections().length, deleted: model.deletedConnections().length },
      events: { total: model.eventCount },
    });
    const byState = state.body.connections.by_state as Record<string, number>;
    expect(Object.values(byState).reduce((a, b) => a + b, 0)).toBe(model.liveConnections().length);
    expect(state.body.events.by_type['connection.deleted']).toBe(1);
  });

  it('answers bad requests with 400/404/405 and a JSON { message }, changing nothing', async () => {
    const { id } = await create({ connection_type: 'OktaSAML' });
    const live = emulator.model.liveConnections().length;
    const events = emulator.model.eventCount;
    const cases: Array<[string, string, unknown, number, RegExp]> = [
      ['POST', '/connections', '{"name":', 400, /^Request body is not valid JSON/],
      ['POST', '/connections', { nme: 'x' }, 400, /unknown field "nme"/],
      ['POST', '/connections', { state: 'enabled' }, 400, /state: must be one of requires_type, draft/],
      ['POST', '/connections', { domains: ['not a domain'] }, 400, /domains\.0: must be a domain name/],
      ['POST', '/connections', { domains: ['a.com', 'A.com'] }, 400, /domains: must not list a domain twice/],
      ['POST', '/connections', { name: '' }, 400, /name: must not be empty/],
      ['POST', '/connections', { connection_type: 'Okta SAML' }, 400, /connection_type: must be a WorkOS/],
      [
        'POST',
        '/connections',
        { connection_type: 'GoogleOAuth', signing_certificate_not_after: '2027-01-01T00:00:00Z' },
        400,
        /only SAML connections/,
      ],
      ['PATCH', `/connections/${id}`, {}, 400, /nothing to change/],
      ['PATCH', `/connections/${id}`, { state: 'on' }, 400, /state: must be one of/],
      ['POST', `/connections/${id}/activate`, { at: 'now' }, 400, /unknown field "at"/],
      ['POST', '/connections/conn_missing/activate', undefined, 404, /Connection not found: 'conn_missing'/],
      ['POST', '/connections/conn_missing/deactivate', undefined, 404, /conn_missing/],
      ['PATCH', '/connections/conn_missing', { name: 'x' }, 404, /conn_missing/],
      ['DELETE', '/connections/conn_missing', undefined, 404, /conn_missing/],
      [
        'POST',
        '/connections/conn_missing/certificates/ResponseSigning/renew',
        undefined,
        404,
        /conn_missing/,
      ],
      ['GET', '/connections', undefined, 405, /Method Not Allowed: GET \/_emulator\/connections/],
      ['POST', '/state', undefined, 405, /allowed: GET/],
      ['GET', '/nothing-here', undefined, 404, /Not Found/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const answer = await control(method, path, body);
      expect({ method, path, ...answer }).toMatchObject({
        status,
        contentType: 'application/json',
        body: { message: expect.stringMatching(message) },
      });
    }
    expect(emulator.model.liveConnections().length).toBe(live);
    expect(emulator.model.eventCount).toBe(events);
  });
});

// ── the command ─────────────────────────────────────────────────────────────

/**
 * The command module in a child process, as `workos-sync emulator` runs it (the CLI registers it
 * with the same options).
 */
/** The real command line: `workos-sync emulator …`, then `extra` flags as typed. */
function spawnEmulator(options: EmulatorCommandOptions, extra: readonly string[] = []): ChildProcess {
  const args = [
    'emulator',
    '--port',
    String(options.port),
    '--host',
    options.host,
    '--seed',
    String(options.seed),
  ];
  if (options.scenario !== undefined) args.push('--scenario', options.scenario);
  if (options.events !== undefined) args.push('--events', String(options.events));
  if (options.apiKey !== undefined) args.push('--api-key', options.apiKey);
  return spawnCli([...args, ...extra], {});
}

interface Running {
  child: ChildProcess;
  line: string;
  url: string;
  key: string;
  done: Promise<CliResult>;
}

/** Waits for the one stdout line and reads the two variables off it. */
async function startChild(options: EmulatorCommandOptions, extra: readonly string[] = []): Promise<Running> {
  const child = spawnEmulator(options, extra);
  const done = finished(child);
  let stdout = '';
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
      const end = stdout.indexOf('\n');
      if (end >= 0) resolve(stdout.slice(0, end));
    });
    done.then((result) => reject(new Error(`emulator exited early: ${JSON.stringify(result)}`)), reject);
  });
  const vars = / WORKOS_API_URL=(http:\/\/\S+) WORKOS_API_KEY=(\S+)$/.exec(line);
  if (!vars) throw new Error(`unexpected first line: ${line}`);
  return { child, line, url: vars[1] as string, key: vars[2] as string, done };
}

describe('workos-sync emulator (child process)', () => {
  const running: ChildProcess[] = [];
  afterAll(() => {
    for (const child of running)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('serves the demo scenario to the real SDK, takes control calls, and exits 0 on SIGTERM', async () => {
    const emulator = await startChild({ port: 0, host: '127.0.0.1', scenario: 'demo', seed: 7 });
    running.push(emulator.child);
    expect(emulator.line).toMatch(
      /^WorkOS emulator listening on http:\/\/127\.0\.0\.1:\d+ \(scenario demo, seed 7\); point workos-sync at it with: WORKOS_API_URL=http:\/\/127\.0\.0\.1:\d+ WORKOS_API_KEY=sk_test_emulator$/,
    );
    expect(emulator.key).toBe('sk_test_emulator');

    // The same scenario built in-process: the child must serve exactly it.
    const expected = loadScenario(new WorkosModel({ seed: 7 }), 'demo', { seed: 7 });
    const workos = sdkFor(emulator.url, emulator.key);
    const events = await pollOnce(workos);
    expect(events).toHaveLength(expected.events);
    const byType: Record<string, number> = {};
    for (const event of events) byType[String(event.event)] = (byType[String(event.event)] ?? 0) + 1;
    expect(byType).toEqual(expected.byType);
    const connectionTypes = Object.keys(byType).filter((type) => type.startsWith('connection.'));
    expect(connectionTypes.sort()).toEqual([...CONNECTION_EVENT_TYPES].sort());
    // The organisations the demo adds after its connection history.
    expect(byType['organization.created']).toBe(3);

    const connections = await listAllConnections(workos);
    expect(connections).toHaveLength(expected.liveConnections);
    expect(new Set(connections.map((c) => c.state))).toEqual(
      new Set(['requires_type', 'draft', 'active', 'validating', 'inactive', 'deleting']),
    );
    expect(new Set(connections.map((c) => c.connection_type)).size).toBeGreaterThanOrEqual(6);
    expect(new Set(connections.map((c) => c.organization_id)).size).toBeGreaterThanOrEqual(24);
    expect(connections.some((c) => c.domains.length > 1)).toBe(true);
    // Drafts no event ever mentions: only a reconciliation finds them.
    const mentioned = new Set(events.map((e) => (e.data as { id?: string; connection?: { id: string } }).id));
    expect(
      connections.filter((c) => c.state === 'draft' && !mentioned.has(c.id)).length,
    ).toBeGreaterThanOrEqual(2);
    // Expired and soon-expiring certificates are listed.
    const expiries = connections
      .map((c) => c.options?.signing_cert)
      .filter((pem): pem is string => typeof pem === 'string')
      .map((pem) => Date.parse(new X509Certificate(pem).validTo));
    expect(expiries.some((t) => t < Date.now())).toBe(true);
    expect(expiries.some((t) => t > Date.now() && t < Date.now() + 30 * DAY_MS)).toBe(true);

    // Any sk_test_ key works; the control API is there.
    const created = await call(
      emulator.url,
      'POST',
      '/_emulator/connections',
      { domains: ['child.com'] },
      'sk_test_x',
    );
    expect(created.status).toBe(201);
    const activated = await call(
      emulator.url,
      'POST',
      `/_emulator/connections/${created.body.connection.id}/activate`,
      undefined,
      'sk_test_x',
    );
    expect(await newestEvent(workos)).toEqual(activated.body.event);

    emulator.child.kill('SIGTERM');
    const result = await emulator.done;
    expect(result).toMatchObject({ code: 0, signal: null });
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('emulator stopped (SIGTERM)');
  });

  it('with --api-key accepts only that key, serves an empty environment, and exits 0 on SIGINT', async () => {
    const emulator = await startChild({ port: 0, host: '127.0.0.1', seed: 1, apiKey: 'dev_key_123' });
    running.push(emulator.child);
    expect(emulator.key).toBe('dev_key_123');
    expect(emulator.line).toContain('(scenario empty, seed 1)');
    expect((await call(emulator.url, 'GET', '/events', undefined, 'sk_test_other')).status).toBe(401);
    const state = await call(emulator.url, 'GET', '/_emulator/state', undefined, 'dev_key_123');
    expect(state.body).toMatchObject({ connections: { live: 0, deleted: 0 }, events: { total: 0 } });

    emulator.child.kill('SIGINT');
    expect(await emulator.done).toMatchObject({ code: 0, signal: null });
  });

  it("with --clock-offset -10m runs WorkOS's clock 10 minutes behind real time, the scenario included", async () => {
    const behind = -10 * 60_000;
    const spawnedAt = Date.now();
    const emulator = await startChild(
      { port: 0, host: '127.0.0.1', scenario: 'demo', seed: 7, events: 3000 },
      ['--clock-offset', '-10m'],
    );
    running.push(emulator.child);
    const listeningAt = Date.now();
    const from = Math.floor((listeningAt + behind) / 1000) * 1000;
    const res = await fetch(`${emulator.url}/events?limit=1`, {
      headers: { Authorization: `Bearer ${emulator.key}` },
    });
    const newest = Date.parse(String(((await res.json()) as EventListBody).data[0]?.created_at));
    const clock = await call(emulator.url, 'GET', '/_emulator/clock', undefined, emulator.key);
    const to = Date.now() + behind;
    const date = Date.parse(res.headers.get('date') ?? '');
    expect(date).toBeGreaterThanOrEqual(from);
    expect(date).toBeLessThanOrEqual(to);
    expect(clock.body).toMatchObject({ object: 'emulator_clock', offset_ms: behind, hold_ms: 0 });
    expect(Date.parse(clock.body.now)).toBeGreaterThanOrEqual(from);
    expect(Date.parse(clock.body.now)).toBeLessThanOrEqual(to);
    // The history was generated in WorkOS's clock: it ends a minute before WorkOS's now at start-up,
    // its newest event half a step (25 days / 3000 events: 12 minutes) before that.
    expect(newest).toBeLessThanOrEqual(listeningAt + behind - 60_000);
    expect(newest).toBeGreaterThanOrEqual(spawnedAt + behind - 60_000 - 12 * 60_000);

    emulator.child.kill('SIGTERM');
    const result = await emulator.done;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("WorkOS's clock is real time -10m");
  });

  it('refuses a bad --clock-offset with one line naming it and exit code 2', async () => {
    for (const value of ['10x', '99999d']) {
      const result = await finished(
        spawnEmulator({ port: 0, host: '127.0.0.1', seed: 1 }, ['--clock-offset', value]),
      );
      expect(result).toMatchObject({ code: 2, stdout: '' });
      expect(result.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^workos-sync: --clock-offset must be /),
      ]);
    }
  });

  it('reports a port in use as a one-line error', async () => {
    const blocker = await startEmulator({ apiKey: KEY });
    try {
      const result = await finished(spawnEmulator({ port: blocker.port, host: '127.0.0.1', seed: 1 }));
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${blocker.port} on 127.0.0.1 is already in use`);
      expect(result.stdout).toBe('');
    } finally {
      await blocker.close();
    }
  });

  it('refuses bad options with a ConfigError before starting anything', async () => {
    const base = { port: 0, host: '127.0.0.1', seed: 1 };
    const cases: Array<[EmulatorCommandOptions, RegExp]> = [
      [{ ...base, scenario: 'huge' }, /--scenario must be one of empty, demo, large/],
      [{ ...base, port: 70_000 }, /--port must be an integer/],
      [{ ...base, port: Number.NaN }, /--port must be an integer/],
      [{ ...base, seed: 1.5 }, /--seed must be an integer/],
      [{ ...base, events: 10 }, /--events applies to --scenario demo or large/],
      [{ ...base, scenario: 'large', events: -1 }, /--events must be an integer/],
      [{ ...base, apiKey: '' }, /--api-key must be a non-empty key/],
      [{ ...base, clockOffsetMs: Number.NaN }, /--clock-offset must be a duration such as 10m, -10m, -90s/],
      [{ ...base, clockOffsetMs: 0.5 }, /--clock-offset must be a duration/],
      [{ ...base, clockOffsetMs: 3651 * DAY_MS }, /--clock-offset must be within ±3650d/],
    ];
    // How the CLI turns flag text into these numbers.
    expect([integerFlag('4010'), integerFlag('-3'), integerFlag(undefined)]).toEqual([4010, -3, undefined]);
    for (const text of ['', '1e3', '0x10', '12abc', '1.5']) expect(integerFlag(text)).toBeNaN();
    cases.push([{ ...base, port: integerFlag('80o') as number }, /--port must be an integer/]);
    expect(['10m', '-10m', '+10m', '-90s', '2h', '1d', '250ms', '1500'].map(durationFlag)).toEqual([
      600_000, -600_000, 600_000, -90_000, 7_200_000, 86_400_000, 250, 1500,
    ]);
    expect(durationFlag(undefined)).toBeUndefined();
    for (const text of ['', '10x', '1.5m', 'm', '10 m', '--10m', 'ten minutes'])
      expect(durationFlag(text)).toBeNaN();
    cases.push([{ ...base, clockOffsetMs: durationFlag('soon') }, /--clock-offset must be a duration/]);
    for (const [options, message] of cases) {
      const error = await emulatorCommand(options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(message);
    }
  });
});
