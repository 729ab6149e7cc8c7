/**
 * One emulator, several WorkOS environments, through the real `@workos-inc/node` SDK over HTTP:
 * each key sees only its own environment's connections, organisations and events; the same seed
 * in two environments mints disjoint ids while `default` mints the ids it always did; an unknown
 * key is 401; the control API addresses an environment by path and creates environments at run
 * time; faults are global unless a rule names an environment; webhooks are per environment; and a
 * fleet of a thousand environments is cheap to add.
 */
import { NotFoundException, UnauthorizedException, WorkOS } from '@workos-inc/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Emulator,
  EnvironmentError,
  type EventListBody,
  generateOrganizationScenario,
  generateScenario,
  startEmulator,
  WorkosModel,
} from '../emulator/index.ts';
import { CONNECTION_EVENT_TYPES, ORGANIZATION_EVENT_TYPES } from '../src/workos/wire.ts';
import { startWebhookSink } from './support/webhook-sink.ts';

const DEFAULT_KEY = 'sk_test_default';
const STAGING_KEY = 'sk_test_staging';
const NOW = new Date('2026-02-01T12:00:00.000Z');
const fixedClock = () => NOW;
const ALL_EVENTS = [...CONNECTION_EVENT_TYPES, ...ORGANIZATION_EVENT_TYPES].join(',');

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are inspected field by field
  body: any;
  date: string | null;
}

function sdk(emulator: Emulator, key: string): WorkOS {
  return new WorkOS(key, { apiHostname: emulator.host, port: emulator.port, https: false, maxRetries: 0 });
}

async function control(
  emulator: Emulator,
  method: string,
  path: string,
  body?: unknown,
  key = DEFAULT_KEY,
): Promise<Answer> {
  const res = await fetch(`${emulator.url}/_emulator${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json(), date: res.headers.get('date') };
}

/** Every event id the key's environment lists, oldest first, paged with `after` as the engine does. */
async function eventIds(workos: WorkOS): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  for (;;) {
    const { data } = await workos.get<EventListBody>('/events', {
      query: { events: ALL_EVENTS, order: 'asc', limit: 100, after },
    });
    ids.push(...data.data.map((e) => e.id as string));
    if (data.data.length < 100 || !data.list_metadata.after) return ids;
    after = data.list_metadata.after;
  }
}

async function connectionIds(workos: WorkOS): Promise<string[]> {
  const list = await workos.sso.listConnections({ limit: 100 });
  return (await list.autoPagination()).map((c) => c.id).sort();
}

async function organizationIds(workos: WorkOS): Promise<string[]> {
  const list = await workos.organizations.listOrganizations({ limit: 100 });
  return (await list.autoPagination()).map((o) => o.id).sort();
}

/** A model with the same history, seed and clock for whichever environment it is built for. */
function seededModel(environment?: string): WorkosModel {
  const model = new WorkosModel({ seed: 3, clock: fixedClock, environment });
  generateScenario(model, { seed: 7, events: 120 });
  generateOrganizationScenario(model, { seed: 7, organizations: 4, domainEvents: 6 });
  return model;
}

/** Every id a model minted: connections (deleted too), organisations, their domains, events. */
function mintedIds(model: WorkosModel): string[] {
  return [
    ...model.liveConnections().map((c) => c.id),
    ...model.deletedConnections().map((d) => d.connection.id),
    ...model.liveOrganizations().flatMap((o) => [o.id, ...o.domains.map((d) => d.id)]),
    ...model.events().map((e) => e.id as string),
  ];
}

describe('two environments in one emulator', () => {
  let emulator: Emulator;
  let defaults: WorkOS;
  let staging: WorkOS;
  let stagingModel: WorkosModel;

  beforeAll(async () => {
    stagingModel = seededModel('staging');
    emulator = await startEmulator({
      model: seededModel(),
      apiKey: DEFAULT_KEY,
      environments: [{ name: 'staging', apiKey: STAGING_KEY, model: stagingModel }],
    });
    defaults = sdk(emulator, DEFAULT_KEY);
    staging = sdk(emulator, STAGING_KEY);
  });
  afterAll(() => emulator?.close());

  it('gives each key only its own connections, organisations and events', async () => {
    const defaultModel = emulator.model;
    expect(await connectionIds(defaults)).toEqual(
      defaultModel
        .liveConnections()
        .map((c) => c.id)
        .sort(),
    );
    expect(await connectionIds(staging)).toEqual(
      stagingModel
        .liveConnections()
        .map((c) => c.id)
        .sort(),
    );
    expect(await eventIds(defaults)).toEqual(defaultModel.events().map((e) => e.id));
    expect(await eventIds(staging)).toEqual(stagingModel.events().map((e) => e.id));
    expect(await organizationIds(staging)).toEqual(
      stagingModel
        .liveOrganizations()
        .map((o) => o.id)
        .sort(),
    );
    expect(await organizationIds(defaults)).toEqual(
      defaultModel
        .liveOrganizations()
        .map((o) => o.id)
        .sort(),
    );

    // Another environment's connection or organisation does not exist for this key.
    const theirs = stagingModel.liveConnections()[0]?.id as string;
    await expect(defaults.sso.getConnection(theirs)).rejects.toBeInstanceOf(NotFoundException);
    expect((await staging.sso.getConnection(theirs)).id).toBe(theirs);
    const theirOrganization = stagingModel.liveOrganizations()[0]?.id as string;
    await expect(defaults.organizations.getOrganization(theirOrganization)).rejects.toBeInstanceOf(
      NotFoundException,
    );

    // Each request is recorded with the environment its key picked.
    const recorded = emulator.requests.filter((r) => r.path.startsWith('/connections/'));
    expect(recorded.map((r) => [r.environment, r.status])).toEqual([
      ['default', 404],
      ['staging', 200],
    ]);
  });

  it('mints disjoint ids from the same seed and clock, and the ids default always minted', () => {
    const defaultIds = mintedIds(emulator.model);
    const stagingIds = mintedIds(stagingModel);
    expect(stagingIds.length).toBe(defaultIds.length);
    const shared = stagingIds.filter((id) => new Set(defaultIds).has(id));
    expect(shared).toEqual([]);
    // The same seed, the same history otherwise: names and types agree, only the ids differ.
    expect(stagingModel.liveConnections().map((c) => c.name)).toEqual(
      emulator.model.liveConnections().map((c) => c.name),
    );
    // A model that names no environment is default's: its ids are exactly those of before.
    expect(mintedIds(seededModel())).toEqual(defaultIds);
    expect(mintedIds(seededModel('default'))).toEqual(defaultIds);
    // And a named environment's are as reproducible: the same name, seed and clock, the same ids.
    expect(mintedIds(seededModel('staging'))).toEqual(stagingIds);
    // Still ULID-shaped, each environment's with its own tag in the middle.
    expect(stagingIds.every((id) => /^[a-z_]+_[0-9A-HJKMNP-TV-Z]{26}$/.test(id))).toBe(true);
    expect(new Set(stagingIds.map((id) => id.slice(-16, -7)))).toEqual(new Set([stagingModel.idTag]));
    expect(emulator.model.idTag).toBeUndefined();
  });

  it('answers 401 to a key no environment has, and records no environment for it', async () => {
    await expect(sdk(emulator, 'sk_test_nobody').get('/events', {})).rejects.toBeInstanceOf(
      UnauthorizedException,
    );
    expect(emulator.requests.at(-1)).toMatchObject({ path: '/events', status: 401 });
    expect(emulator.requests.at(-1)?.environment).toBeUndefined();
    expect((await control(emulator, 'GET', '/state', undefined, 'sk_test_nobody')).status).toBe(401);
  });

  it('addresses an environment by path in the control API, default without a prefix', async () => {
    const created = await control(emulator, 'POST', '/environments/staging/connections', {
      name: 'Staging only',
      domains: ['staging-only.com'],
    });
    expect(created.status).toBe(201);
    const id = created.body.connection.id as string;
    const activated = await control(emulator, 'POST', `/environments/staging/connections/${id}/activate`);
    expect(activated.body.event.event).toBe('connection.activated');

    expect((await staging.sso.getConnection(id)).state).toBe('active');
    await expect(defaults.sso.getConnection(id)).rejects.toBeInstanceOf(NotFoundException);
    expect((await eventIds(staging)).at(-1)).toBe(activated.body.event.id);
    expect(await eventIds(defaults)).not.toContain(activated.body.event.id);
    // Whichever key authenticates: the path says which environment.
    const viaStagingKey = await control(emulator, 'GET', '/state', undefined, STAGING_KEY);
    expect(viaStagingKey.body.connections.live).toBe(emulator.model.liveConnections().length);
    const stagingState = await control(emulator, 'GET', '/environments/staging/state');
    expect(stagingState.body.connections.live).toBe(stagingModel.liveConnections().length);
    expect(stagingState.body.events.total).toBe(stagingModel.eventCount);
    expect((await control(emulator, 'GET', '/environments/default/state')).body).toEqual({
      ...(await control(emulator, 'GET', '/state')).body,
      now: expect.any(String),
    });
    expect(emulator.requests.at(-1)?.environment).toBe('default');

    // Each environment keeps its own clock: the Date header is the answering environment's.
    const ahead = await control(emulator, 'PUT', '/environments/staging/clock', { offset_ms: 3_600_000 });
    expect(ahead.body.now).toBe(new Date(NOW.getTime() + 3_600_000).toISOString());
    expect((await control(emulator, 'GET', '/clock')).body.offset_ms).toBe(0);
    expect(ahead.date).toBe(new Date(NOW.getTime() + 3_600_000).toUTCString());

    const unknown = await control(emulator, 'GET', '/environments/nowhere/state');
    expect(unknown).toMatchObject({ status: 404, body: { message: "Environment not found: 'nowhere'." } });
    const faults = await control(emulator, 'POST', '/environments/staging/faults', { kind: 'hang' });
    expect(faults.status).toBe(404);
    expect(faults.body.message).toContain('/_emulator/faults');
    expect(emulator.faults.pending()).toEqual([]);
  });

  it('hits every environment with a fault, or only the one a rule names', async () => {
    emulator.faults.add({ kind: 'status', status: 503, times: 2 });
    await expect(staging.get('/events', {})).rejects.toMatchObject({ status: 503 });
    await expect(defaults.get('/events', {})).rejects.toMatchObject({ status: 503 });

    const scoped = await control(emulator, 'POST', '/faults', {
      kind: 'status',
      status: 429,
      retry_after: 1,
      environment: 'staging',
    });
    expect(scoped.status).toBe(201);
    expect(scoped.body.fault).toMatchObject({ status: 429, environment: 'staging' });
    expect((await control(emulator, 'GET', '/state')).body.faults).toEqual([]);
    expect((await control(emulator, 'GET', '/environments/staging/state')).body.faults).toHaveLength(1);
    await defaults.get('/events', {}); // not default's fault
    await expect(staging.get('/events', {})).rejects.toMatchObject({ status: 429 });
    expect(emulator.requests.at(-1)).toMatchObject({ environment: 'staging', status: 429, fault: 'status' });
    expect(emulator.faults.pending()).toEqual([]);

    const nowhere = await control(emulator, 'POST', '/faults', { kind: 'hang', environment: 'nowhere' });
    expect(nowhere.status).toBe(400);
    expect(nowhere.body.message).toContain('environment');
  });

  it('delivers each environment’s webhooks to its own endpoint', async () => {
    const sink = await startWebhookSink();
    try {
      const set = await control(emulator, 'PUT', '/environments/staging/webhooks', {
        url: `${sink.url}/staging`,
        secret: 'whsec_staging',
      });
      expect(set.status).toBe(200);
      expect(emulator.webhooks.endpoint()).toBeUndefined();
      const quiet = emulator.model.appendRawEvent({ object: 'event', event: 'default.unheard' });
      emulator.webhooks.configure({ url: `${sink.url}/default`, secret: 'whsec_default' });
      const stagingEvent = stagingModel.appendRawEvent({ object: 'event', event: 'staging.only' });
      const defaultEvent = emulator.model.appendRawEvent({ object: 'event', event: 'default.only' });
      await emulator.environment('staging')?.webhooks.settled();
      await emulator.webhooks.settled();
      const received = sink.received.map((r) => [r.path.split('/').at(-1), JSON.parse(r.body).id]);
      expect(received.sort()).toEqual([
        ['default', defaultEvent.id],
        ['staging', stagingEvent.id],
      ]);
      expect(received.flat()).not.toContain(quiet.id);
    } finally {
      emulator.environment('staging')?.webhooks.remove();
      emulator.webhooks.remove();
      await sink.close();
    }
  });
});

describe('environments created at run time', () => {
  let emulator: Emulator;

  beforeAll(async () => {
    // As `workos-sync emulator` starts it: any sk_test_… key picks default.
    emulator = await startEmulator({ apiKey: (key) => key.startsWith('sk_test_') });
  });
  afterAll(() => emulator?.close());

  it('adds an environment in process, whose exact key wins over default’s test', async () => {
    const eu = emulator.addEnvironment('eu', { apiKey: 'sk_test_eu' });
    const connection = eu.model.createConnection({ name: 'EU only' });
    expect(await connectionIds(sdk(emulator, 'sk_test_eu'))).toEqual([connection.id]);
    expect(await connectionIds(sdk(emulator, 'sk_test_anything'))).toEqual([]);
    expect(emulator.environment('eu')).toBe(eu);
    expect(eu.model.environment).toBe('eu');
    expect(emulator.environment('default')?.model).toBe(emulator.model);
    expect(emulator.environments().map((e) => e.name)).toEqual(['default', 'eu']);
  });

  it('refuses a taken name or key, a bad name, and a model built for another environment', () => {
    const refusal = (name: string, options: Parameters<Emulator['addEnvironment']>[1]) => {
      try {
        emulator.addEnvironment(name, options);
      } catch (error) {
        expect(error).toBeInstanceOf(EnvironmentError);
        return (error as Error).message;
      }
      throw new Error(`addEnvironment(${name}) was accepted`);
    };
    expect(refusal('eu', { apiKey: 'sk_test_eu2' })).toContain('exists already');
    expect(refusal('eu2', { apiKey: 'sk_test_eu' })).toContain("'eu''s key");
    expect(refusal('no/slash', { apiKey: 'sk_test_slash' })).toContain('must be 1 to 64');
    expect(refusal('us', { apiKey: 'sk_test_us', model: new WorkosModel() })).toContain(
      "built for 'default'",
    );
    expect(refusal('us', { apiKey: 'sk test us' })).toContain('without spaces');
    expect(emulator.environments().map((e) => e.name)).toEqual(['default', 'eu']);
  });

  it('creates, lists and describes environments over the control API', async () => {
    const created = await control(emulator, 'POST', '/environments', {
      name: 'demo-eu',
      api_key: 'sk_test_demo_eu',
      scenario: 'demo',
      seed: 3,
      events: 60,
    });
    expect(created.status).toBe(201);
    expect(emulator.requests.at(-1)?.environment).toBe('demo-eu');
    const model = emulator.environment('demo-eu')?.model as WorkosModel;
    expect(created.body.environment).toEqual({
      object: 'emulator_environment',
      name: 'demo-eu',
      connections: model.liveConnections().length,
      organizations: model.liveOrganizations().length,
      events: model.eventCount,
      webhook_url: null,
    });
    const workos = sdk(emulator, 'sk_test_demo_eu');
    expect(await connectionIds(workos)).toEqual(
      model
        .liveConnections()
        .map((c) => c.id)
        .sort(),
    );
    expect(await eventIds(workos)).toEqual(model.events().map((e) => e.id));
    expect(model.eventCount).toBeGreaterThan(60);

    const listed = await control(emulator, 'GET', '/environments');
    expect(listed.body.data.map((e: { name: string }) => e.name)).toEqual(['default', 'eu', 'demo-eu']);
    expect(emulator.requests.at(-1)?.environment).toBeUndefined();
    expect((await control(emulator, 'GET', '/environments/eu')).body).toMatchObject({
      name: 'eu',
      connections: 1,
    });
    expect((await control(emulator, 'GET', '/environments/nowhere')).status).toBe(404);

    const again = { name: 'demo-eu', api_key: 'sk_test_other' };
    expect((await control(emulator, 'POST', '/environments', again)).status).toBe(409);
    const keyTaken = await control(emulator, 'POST', '/environments', { name: 'x', api_key: 'sk_test_eu' });
    expect(keyTaken).toMatchObject({ status: 409, body: { message: expect.stringContaining('api_key') } });
    const badName = await control(emulator, 'POST', '/environments', { name: 'a b', api_key: 'sk_test_ab' });
    expect(badName.status).toBe(400);
    const emptyEvents = { name: 'y', api_key: 'sk_test_y', events: 5 };
    expect((await control(emulator, 'POST', '/environments', emptyEvents)).status).toBe(400);
    const unknownField = { name: 'z', api_key: 'sk_test_z', apiKey: 'sk_test_z' };
    expect((await control(emulator, 'POST', '/environments', unknownField)).status).toBe(400);
    expect(emulator.environments()).toHaveLength(3);
  });

  it('serves a fleet of a thousand environments, each its own world with its own ids', async () => {
    const started = performance.now();
    const fleet = Array.from({ length: 1000 }, (_, i) =>
      emulator.addEnvironment(`fleet-${i}`, { apiKey: `sk_test_fleet_${i}` }),
    );
    const addedMs = performance.now() - started;
    // About 20 µs each when measured; the bound only catches a cost gone quadratic.
    expect(addedMs).toBeLessThan(5_000);
    const activations = fleet.map(({ model }) => {
      const connection = model.createConnection({ name: 'Same name everywhere' });
      return { connection, event: model.activate(connection.id) };
    });
    expect(new Set(activations.map((a) => a.connection.id)).size).toBe(1000);
    expect(new Set(activations.map((a) => a.event.id)).size).toBe(1000);
    for (const i of [0, 417, 999]) {
      const workos = sdk(emulator, `sk_test_fleet_${i}`);
      expect(await connectionIds(workos)).toEqual([activations[i]?.connection.id]);
      expect(await eventIds(workos)).toEqual([activations[i]?.event.id]);
    }
  });
});
