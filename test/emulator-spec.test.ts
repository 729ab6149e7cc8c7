/**
 * The emulator answers in WorkOS's published wire format. Every body fetched here over real HTTP
 * is validated against WorkOS's own OpenAPI 3.1 spec (npm `@workos/openapi-spec`), so the
 * emulator cannot drift into a fake that only agrees with our own code.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { CONNECTION_EVENT_TYPES, ORGANIZATION_EVENT_TYPES } from '../src/workos/wire.ts';

const API_KEY = 'sk_test_emulator_spec';
const SPEC_ID = 'https://workos.test/open-api-spec.yaml';

function loadValidators() {
  const path = createRequire(import.meta.url).resolve('@workos/openapi-spec/spec');
  // The spec reuses examples through YAML aliases far more often than yaml's default cap allows.
  const spec = parse(readFileSync(path, 'utf8'), { maxAliasCount: -1 }) as Record<string, unknown>;
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats.default(ajv);
  ajv.addSchema({ ...spec, $id: SPEC_ID });
  const at = (pointer: string): ValidateFunction => ajv.compile({ $ref: `${SPEC_ID}#${pointer}` });
  const schemas = '/components/schemas';
  const json = 'content/application~1json/schema';
  return {
    eventList: at(`${schemas}/EventList`),
    // The spec's ConnectionList requires only `object`, though its types (and every real
    // response) have `data` and `list_metadata` too: require them here as well.
    connectionList: ajv.compile({
      allOf: [{ $ref: `${SPEC_ID}#${schemas}/ConnectionList` }],
      required: ['object', 'data', 'list_metadata'],
    }),
    connection: at(`${schemas}/Connection`),
    organizationList: at(`${schemas}/OrganizationList`),
    organization: at(`${schemas}/Organization`),
    organization404: at(`/paths/~1organizations~1{id}/get/responses/404/${json}`),
    organizations422: at(`/paths/~1organizations/get/responses/422/${json}`),
    events400: at(`/paths/~1events/get/responses/400/${json}`),
    events422: at(`/paths/~1events/get/responses/422/${json}`),
    connection404: at(`/paths/~1connections~1{id}/get/responses/404/${json}`),
    // The only 401 body WorkOS documents (`{ message: 'Unauthorized' }` in its example).
    unauthorized: at(`/paths/~1user_management~1redirect_uris/post/responses/401/${json}`),
  };
}

function expectValid(validate: ValidateFunction, body: unknown): void {
  const ok = validate(body);
  expect(ok ? [] : validate.errors?.slice(0, 5)).toEqual([]);
}

let emulator: Emulator;
let v: ReturnType<typeof loadValidators>;

async function get(path: string, apiKey = API_KEY): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${emulator.url}${path}`, { headers: { Authorization: `Bearer ${apiKey}` } });
  expect(res.headers.get('content-type')).toBe('application/json');
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  v = loadValidators();
  const model = new WorkosModel({ seed: 11, clock: () => new Date('2026-02-01T12:00:00.000Z') });
  const summary = generateScenario(model, { seed: 42, events: 400 });
  for (const type of CONNECTION_EVENT_TYPES) expect(summary.byType[type]).toBeGreaterThan(0);
  expect(model.deletedConnections().length).toBeGreaterThan(0);
  addOrganizations(model);
  emulator = await startEmulator({ model, apiKey: API_KEY });
});

/**
 * After the connection history: organisations whose domains take every state and strategy, with
 * connections that list them, and each of the eight organisation events at least once.
 */
function addOrganizations(model: WorkosModel): void {
  const { data: acme } = model.createOrganization({
    name: 'Acme',
    externalId: 'ext-acme',
    domains: [
      'acme.com',
      { domain: 'acme.io', state: 'verified', verificationStrategy: 'manual' },
      { domain: 'acme.dev', state: 'legacy_verified' },
      { domain: 'acme.net', state: 'unverified' },
    ],
  });
  const connection = model.createConnection({ organizationId: acme.id, connectionType: 'GoogleOAuth' });
  model.activate(connection.id);
  const added = model.addDomain(acme.id, 'acme.org').data;
  model.verifyDomain(acme.domains[0]?.id ?? '');
  model.failDomainVerification(added.id, 'domain_verified_by_other_organization');
  model.updateDomain(acme.domains[3]?.id ?? '', { verificationStrategy: 'manual' });
  model.updateOrganization(acme.id, { name: 'Acme Inc.', externalId: null });
  model.removeDomain(acme.domains[2]?.id ?? '');
  const { data: gone } = model.createOrganization({ name: 'Gone', domains: ['gone.com'] });
  model.createConnection({ organizationId: gone.id });
  model.deleteOrganization(gone.id);
  for (let i = 0; i < 12; i++) model.createOrganization({ name: `Org ${i}`, domains: [`org-${i}.com`] });
}

afterAll(() => emulator?.close());

describe('emulator responses match WorkOS OpenAPI spec', () => {
  it('every page of List Events (asc, desc, filtered) is an EventList', async () => {
    const seen = new Set<string>();
    let after: string | null = null;
    let total = 0;
    do {
      const query = new URLSearchParams({
        events: CONNECTION_EVENT_TYPES.join(','),
        limit: '100',
        order: 'asc',
      });
      if (after) query.set('after', after);
      const { status, body } = await get(`/events?${query}`);
      expect(status).toBe(200);
      expectValid(v.eventList, body);
      const page = body as { data: Array<{ event: string }>; list_metadata: { after: string | null } };
      for (const e of page.data) seen.add(e.event);
      total += page.data.length;
      after = page.data.length === 100 ? page.list_metadata.after : null;
    } while (after);
    const types: readonly string[] = CONNECTION_EVENT_TYPES;
    expect(total).toBe(emulator.model.events().filter((e) => types.includes(String(e.event))).length);
    expect([...seen].sort()).toEqual([...CONNECTION_EVENT_TYPES].sort());

    for (const path of ['/events', '/events?limit=7', '/events?events=connection.deleted&limit=100']) {
      const { status, body } = await get(path);
      expect(status).toBe(200);
      expectValid(v.eventList, body);
    }
  });

  it('each of the eight organisation events, as List Events serves it, matches its payload schema', async () => {
    const seen = new Set<string>();
    let after: string | null = null;
    do {
      const query = new URLSearchParams({
        events: ORGANIZATION_EVENT_TYPES.join(','),
        limit: '10',
        order: 'asc',
      });
      if (after) query.set('after', after);
      const { status, body } = await get(`/events?${query}`);
      expect(status).toBe(200);
      expectValid(v.eventList, body);
      const page = body as { data: Array<{ event: string }>; list_metadata: { after: string | null } };
      for (const e of page.data) seen.add(e.event);
      after = page.data.length === 10 ? page.list_metadata.after : null;
    } while (after);
    expect([...seen].sort()).toEqual([...ORGANIZATION_EVENT_TYPES].sort());
    // The unfiltered listing mixes both kinds on one page.
    expectValid(v.eventList, (await get('/events?limit=100')).body);
  });

  it('every page of List Organizations is an OrganizationList, and Get Organization an Organization', async () => {
    const ids: string[] = [];
    let after: string | null = null;
    do {
      const { status, body } = await get(`/organizations?limit=5&order=asc${after ? `&after=${after}` : ''}`);
      expect(status).toBe(200);
      expectValid(v.organizationList, body);
      const page = body as { data: Array<{ id: string }>; list_metadata: { after: string | null } };
      ids.push(...page.data.map((o) => o.id));
      after = page.list_metadata.after;
    } while (after);
    expect(ids).toEqual(emulator.model.liveOrganizations().map((o) => o.id));
    for (const path of [
      `/organizations?order=desc&before=${ids[3]}`,
      '/organizations?domains=acme.com,org-3.com',
      '/organizations?domains=nobody.example',
    ])
      expectValid(v.organizationList, (await get(path)).body);
    for (const id of ids.slice(0, 3)) {
      const one = await get(`/organizations/${id}`);
      expect(one.status).toBe(200);
      expectValid(v.organization, one.body);
    }

    const gone = emulator.model.deletedOrganizations()[0]?.organization.id;
    const missing = await get(`/organizations/${gone}`);
    expect(missing.status).toBe(404);
    expectValid(v.organization404, missing.body);
    const badLimit = await get('/organizations?limit=0');
    expect(badLimit.status).toBe(422);
    expectValid(v.organizations422, badLimit.body);
  });

  it('every page of List Connections is a ConnectionList, and Get Connection a Connection', async () => {
    let after: string | null = null;
    let total = 0;
    let firstId: string | undefined;
    let withCertificateId: string | undefined;
    const signingCerts: Array<string | null> = [];
    do {
      const { status, body } = await get(`/connections?limit=25&order=desc${after ? `&after=${after}` : ''}`);
      expect(status).toBe(200);
      expectValid(v.connectionList, body);
      const page = body as {
        data: Array<{ id: string; options?: { signing_cert: string | null } }>;
        list_metadata: { after: string | null };
      };
      firstId ??= page.data[0]?.id;
      total += page.data.length;
      for (const c of page.data) {
        if (!c.options) continue;
        signingCerts.push(c.options.signing_cert);
        if (typeof c.options.signing_cert === 'string') withCertificateId ??= c.id;
      }
      after = page.list_metadata.after;
    } while (after);
    expect(total).toBe(emulator.model.liveConnections().length);
    // The validated listing carries real certificates (and some SAML connections without one).
    const pems = signingCerts.filter((pem): pem is string => typeof pem === 'string');
    expect(pems.length).toBeGreaterThan(signingCerts.length / 2);
    expect(signingCerts).toContain(null);
    for (const pem of pems) expect(() => new X509Certificate(pem)).not.toThrow();
    expectValid(v.connection, (await get(`/connections/${withCertificateId}`)).body);

    const before = await get(`/connections?limit=5&order=asc&before=${firstId}`);
    expectValid(v.connectionList, before.body);
    const one = await get(`/connections/${firstId}`);
    expect(one.status).toBe(200);
    expectValid(v.connection, one.body);
  });

  it('error bodies have the documented shapes', async () => {
    const unauthorized = await get('/events', 'sk_wrong');
    expect(unauthorized).toEqual({ status: 401, body: { message: 'Unauthorized' } });
    expectValid(v.unauthorized, unauthorized.body);

    const badCursor = await get('/events?after=event_01UNKNOWN00000000000000000');
    expect(badCursor.status).toBe(400);
    expectValid(v.events400, badCursor.body);

    const badLimit = await get('/events?limit=101');
    expect(badLimit.status).toBe(422);
    expectValid(v.events422, badLimit.body);

    const deleted = emulator.model.deletedConnections()[0]?.connection.id;
    const gone = await get(`/connections/${deleted}`);
    expect(gone.status).toBe(404);
    expectValid(v.connection404, gone.body);
  });

  it('the validators reject bodies that break the contract', async () => {
    const { body } = await get('/events?limit=3&order=asc');
    const events = body as { data: Array<Record<string, unknown>>; list_metadata: unknown };
    const { list_metadata: _dropped, ...withoutMetadata } = events;
    expect(v.eventList(withoutMetadata)).toBe(false);
    expect(v.eventList({ ...events, object: 'events' })).toBe(false);
    const { object: _event, ...eventWithoutObject } = events.data[0] ?? {};
    expect(v.eventList({ ...events, data: [eventWithoutObject] })).toBe(false);

    // Payloads are checked per event type, not just as "some object".
    const activated = emulator.model.events().find((e) => e.event === 'connection.activated') as {
      data: Record<string, unknown>;
    };
    const list = (data: unknown[]) => ({ object: 'list', data, list_metadata: { after: null } });
    expect(v.eventList(list([activated]))).toBe(true);
    expect(v.eventList(list([{ ...activated, data: { ...activated.data, state: 'enabled' } }]))).toBe(false);
    const { external_key: _key, ...withoutKey } = activated.data;
    expect(v.eventList(list([{ ...activated, data: withoutKey }]))).toBe(false);
    const renewed = emulator.model
      .events()
      .find((e) => e.event === 'connection.saml_certificate_renewed') as {
      data: { certificate: Record<string, unknown> };
    };
    const badCertificate = { ...renewed.data.certificate, certificate_type: 'Signing' };
    expect(v.eventList(list([{ ...renewed, data: { ...renewed.data, certificate: badCertificate } }]))).toBe(
      false,
    );

    const connections = (await get('/connections?limit=3')).body as Record<string, unknown>;
    const { list_metadata: _gone, ...noConnectionMetadata } = connections;
    expect(v.connectionList(noConnectionMetadata)).toBe(false);
    const { object: _object, ...noObject } = connections;
    expect(v.connectionList(noObject)).toBe(false);
    const connection = (connections.data as Array<Record<string, unknown>>)[0];
    expect(v.connection({ ...connection, state: 'linked' })).toBe(false);

    // Organisation payloads are checked too: the failed verification's reason, a domain's state.
    const failed = emulator.model
      .events()
      .find((e) => e.event === 'organization_domain.verification_failed') as {
      data: { reason: string; organization_domain: Record<string, unknown> };
    };
    expect(v.eventList(list([failed]))).toBe(true);
    const { reason: _reason, ...withoutReason } = failed.data;
    expect(v.eventList(list([{ ...failed, data: withoutReason }]))).toBe(false);
    expect(v.eventList(list([{ ...failed, data: failed.data.organization_domain }]))).toBe(false);
    const organization = (await get('/organizations?limit=1')).body as {
      data: Array<Record<string, unknown>>;
    };
    const first = organization.data[0] as { domains: Array<Record<string, unknown>>; external_id: unknown };
    expect(v.organization({ ...first, domains: [{ ...first.domains[0], state: 'done' }] })).toBe(false);
    const { external_id: _external, ...withoutExternalId } = first;
    expect(v.organization(withoutExternalId)).toBe(false);
  });
});
