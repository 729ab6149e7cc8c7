/**
 * Organisations over HTTP: `GET /organizations` and `GET /organizations/:id` through the real
 * `@workos-inc/node` SDK (its paging, its `domains` filter, its exceptions), and the control API's
 * organisation and domain endpoints — each answers with the object and the event it appended,
 * which `GET /events` then serves, or with no event when asked to be silent.
 */
import {
  GenericServerException,
  NotFoundException,
  UnprocessableEntityException,
  WorkOS,
} from '@workos-inc/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, type EventListBody, startEmulator } from '../emulator/index.ts';
import type { WireConnection, WireOrganization } from '../src/workos/wire.ts';

const KEY = 'sk_test_organizations';

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are inspected field by field
  body: any;
}

let emulator: Emulator;
let workos: WorkOS;

beforeAll(async () => {
  emulator = await startEmulator({ apiKey: KEY });
  workos = new WorkOS(KEY, { apiHostname: emulator.host, port: emulator.port, https: false, maxRetries: 0 });
});
afterAll(() => emulator?.close());

async function control(method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${emulator.url}/_emulator${path}`, {
    method,
    headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  expect(res.headers.get('content-type')).toBe('application/json');
  return { status: res.status, body: await res.json() };
}

async function newestEvent(): Promise<Record<string, unknown> | undefined> {
  const { data } = await workos.get<EventListBody>('/events', { query: { order: 'desc', limit: 1 } });
  return data.data[0];
}

async function createOrganization(body: unknown): Promise<WireOrganization> {
  const answer = await control('POST', '/organizations', body);
  expect(answer.status).toBe(201);
  return answer.body.organization;
}

describe('GET /organizations through the SDK', () => {
  it('pages every organisation, filters by domains, and reads one', async () => {
    const created: WireOrganization[] = [];
    for (let i = 0; i < 7; i++)
      created.push(await createOrganization({ name: `Paged ${i}`, domains: [`paged-${i}.com`] }));
    const ids = created.map((o) => o.id);

    // Newest first by default; the SDK's own paging follows `list_metadata.after`.
    const all = await (await workos.organizations.listOrganizations()).autoPagination();
    expect(all.map((o) => o.id).filter((id) => ids.includes(id))).toEqual([...ids].reverse());
    const paged: string[] = [];
    let after: string | undefined;
    do {
      const page = await workos.organizations.listOrganizations({ limit: 3, after });
      paged.push(...page.data.map((o) => o.id));
      after = page.listMetadata.after ?? undefined;
    } while (after);
    expect(paged.filter((id) => ids.includes(id))).toEqual([...ids].reverse());
    const asc = await workos.organizations.listOrganizations({ limit: 3, order: 'asc' });
    expect(asc.data.map((o) => o.id)).toEqual(ids.slice(0, 3));
    expect(asc.listMetadata.after).toBe(ids[2]);

    const filtered = await workos.organizations.listOrganizations({
      domains: ['PAGED-1.com', 'paged-4.com'],
      order: 'asc',
    });
    expect(filtered.data.map((o) => o.id)).toEqual([ids[1], ids[4]]);
    const { data: repeated } = await workos.get<{ data: WireOrganization[] }>(
      '/organizations?domains=paged-2.com&domains=paged-3.com&order=asc',
      {},
    );
    expect(repeated.data.map((o) => o.id)).toEqual([ids[2], ids[3]]);

    const one = await workos.organizations.getOrganization(ids[5] ?? '');
    expect(one).toMatchObject({
      id: ids[5],
      name: 'Paged 5',
      externalId: null,
      metadata: {},
      domains: [{ domain: 'paged-5.com', state: 'pending', verificationStrategy: 'dns' }],
    });
  });

  it('answers a missing organisation with 404, a bad limit with 422, an unknown cursor with 400', async () => {
    await expect(workos.organizations.getOrganization('org_missing')).rejects.toBeInstanceOf(
      NotFoundException,
    );
    await expect(workos.organizations.listOrganizations({ limit: 101 })).rejects.toBeInstanceOf(
      UnprocessableEntityException,
    );
    // A 400 without a `code` is generic to the SDK, as for an unknown events cursor.
    const error = await workos.organizations
      .listOrganizations({ after: 'org_unknown' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GenericServerException);
    expect(error).toMatchObject({ status: 400, message: expect.stringMatching(/Invalid cursor/) });
    const res = await fetch(`${emulator.url}/organizations`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${KEY}` },
    });
    expect(res.status).toBe(405);
  });
});

describe('control API: organisations and domains', () => {
  it('each endpoint answers with the object and the event it appended, which GET /events serves', async () => {
    const created = await control('POST', '/organizations', {
      id: 'org_control_api',
      name: 'Control',
      external_id: 'ext-control',
      domains: ['control.com', { domain: 'control.io', state: 'verified', verification_strategy: 'manual' }],
    });
    expect(created.status).toBe(201);
    expect(created.body.event).toMatchObject({
      event: 'organization.created',
      data: created.body.organization,
    });
    expect(created.body.organization).toMatchObject({
      id: 'org_control_api',
      external_id: 'ext-control',
      domains: [
        { domain: 'control.com', state: 'pending', verification_strategy: 'dns' },
        { domain: 'control.io', state: 'verified', verification_strategy: 'manual' },
      ],
    });
    expect(await newestEvent()).toEqual(created.body.event);

    const steps: Array<[string, string, unknown, number, string, string]> = [
      [
        'PATCH',
        '/organizations/org_control_api',
        { name: 'Control 2' },
        200,
        'organization',
        'organization.updated',
      ],
      [
        'POST',
        '/organizations/org_control_api/domains',
        { domain: 'control.dev', verification_strategy: 'manual' },
        201,
        'organization_domain',
        'organization_domain.created',
      ],
    ];
    const answers: Answer[] = [];
    for (const [method, path, body, status, key, type] of steps) {
      const answer = await control(method, path, body);
      expect(answer.status).toBe(status);
      expect(answer.body.event.event).toBe(type);
      expect(answer.body[key]).toBeDefined();
      expect(await newestEvent()).toEqual(answer.body.event);
      answers.push(answer);
    }
    expect(answers[0]?.body.organization).toMatchObject({ name: 'Control 2' });
    const dev = answers[1]?.body.organization_domain.id as string;
    const [pending] = created.body.organization.domains as Array<{ id: string }>;

    const domainSteps: Array<[string, string, unknown, string, Record<string, unknown>]> = [
      [
        'POST',
        `/organization_domains/${pending?.id}/verify`,
        undefined,
        'organization_domain.verified',
        { state: 'verified' },
      ],
      [
        'POST',
        `/organization_domains/${dev}/fail`,
        { reason: 'domain_verified_by_other_organization' },
        'organization_domain.verification_failed',
        { state: 'failed' },
      ],
      [
        'PATCH',
        `/organization_domains/${dev}`,
        { state: 'pending', verification_strategy: 'dns' },
        'organization_domain.updated',
        { state: 'pending', verification_strategy: 'dns', verification_token: expect.any(String) },
      ],
      ['DELETE', `/organization_domains/${dev}`, undefined, 'organization_domain.deleted', { id: dev }],
    ];
    for (const [method, path, body, type, shape] of domainSteps) {
      const answer = await control(method, path, body);
      expect({ path, status: answer.status }).toEqual({ path, status: 200 });
      expect(answer.body.event.event).toBe(type);
      expect(answer.body.organization_domain).toMatchObject(shape);
      expect(await newestEvent()).toEqual(answer.body.event);
    }
    const failed = (
      await workos.get<EventListBody>('/events', {
        query: { events: 'organization_domain.verification_failed', limit: 1 },
      })
    ).data.data[0];
    expect(failed?.data).toMatchObject({
      reason: 'domain_verified_by_other_organization',
      organization_domain: { id: dev },
    });

    const connection = await control('POST', '/connections', { organization_id: 'org_control_api' });
    const deleted = await control('DELETE', '/organizations/org_control_api');
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({
      organization: { id: 'org_control_api', name: 'Control 2' },
      deleted_connections: [connection.body.connection.id],
      event: { event: 'organization.deleted', data: { id: 'org_control_api' } },
    });
    const { data } = await workos.get<EventListBody>('/events', { query: { order: 'desc', limit: 2 } });
    expect(data.data.map((e) => e.event)).toEqual(['organization.deleted', 'connection.deleted']);
    expect((await control('GET', '/state')).body.organizations.deleted).toBeGreaterThanOrEqual(1);
  });

  it('with "silent": true makes the same change and appends no event', async () => {
    const events = () => emulator.model.eventCount;
    const before = events();
    const created = await control('POST', '/organizations', {
      name: 'Quiet',
      domains: ['quiet.com'],
      silent: true,
    });
    expect(created.status).toBe(201);
    expect(created.body).not.toHaveProperty('event');
    const id = created.body.organization.id as string;
    const domainId = created.body.organization.domains[0].id as string;
    const calls: Array<[string, string, Record<string, unknown>, number]> = [
      ['PATCH', `/organizations/${id}`, { name: 'Quieter' }, 200],
      ['POST', `/organizations/${id}/domains`, { domain: 'quiet.io' }, 201],
      ['POST', `/organization_domains/${domainId}/verify`, {}, 200],
      ['POST', `/organization_domains/${domainId}/fail`, {}, 200],
      ['PATCH', `/organization_domains/${domainId}`, { state: 'unverified' }, 200],
      ['DELETE', `/organization_domains/${domainId}`, {}, 200],
    ];
    for (const [method, path, body, status] of calls) {
      const answer = await control(method, path, { ...body, silent: true });
      expect({ path, status: answer.status, event: answer.body.event }).toEqual({
        path,
        status,
        event: undefined,
      });
    }
    const organization = emulator.model.getOrganization(id);
    expect(organization).toMatchObject({ name: 'Quieter', domains: [{ domain: 'quiet.io' }] });
    await control('POST', '/connections', { organization_id: id });
    const deleted = await control('DELETE', `/organizations/${id}`, { silent: true });
    expect(deleted.body).not.toHaveProperty('event');
    expect(deleted.body.deleted_connections).toHaveLength(1);
    expect(emulator.model.hasOrganization(id)).toBe(false);
    expect(events()).toBe(before);
  });

  it("a connection of a known organisation lists the organisation's domains and refuses its own", async () => {
    const organization = await createOrganization({ domains: ['follow.com'] });
    const created = await control('POST', '/connections', { organization_id: organization.id });
    expect(created.status).toBe(201);
    const connection: WireConnection = created.body.connection;
    expect(connection.domains).toEqual([
      { id: organization.domains[0]?.id, object: 'connection_domain', domain: 'follow.com' },
    ]);
    await control('POST', `/organizations/${organization.id}/domains`, { domain: 'follow.io' });
    const listed = await workos.sso.getConnection(connection.id);
    expect(listed.domains.map((d) => d.domain)).toEqual(['follow.com', 'follow.io']);
    expect(listed.updatedAt).toBe(connection.updated_at);
    const byDomain = await workos.sso.listConnections({ domain: 'follow.io' });
    expect(byDomain.data.map((c) => c.id)).toEqual([connection.id]);

    for (const [method, path, body] of [
      ['POST', '/connections', { organization_id: organization.id, domains: ['own.com'] }],
      ['PATCH', `/connections/${connection.id}`, { name: 'Renamed', domains: ['own.com'] }],
    ] as const) {
      const refused = await control(method, path, body);
      expect(refused).toMatchObject({
        status: 400,
        body: {
          message: expect.stringMatching(
            /^Invalid request body: domains: the connections of organization .* list its domains/,
          ),
        },
      });
    }
    // The refused edit changed nothing, not even the name.
    expect(emulator.model.getConnection(connection.id).name).toBe(connection.name);
    // Connections of organisations the emulator does not know keep their own domains.
    const legacy = await control('POST', '/connections', {
      organization_id: 'org_not_created',
      domains: ['own.com'],
    });
    expect(legacy.body.connection.domains).toMatchObject([{ domain: 'own.com' }]);
  });

  it('refuses bad requests with 400/404/405/409 and a JSON { message }, changing nothing', async () => {
    const organization = await createOrganization({ id: 'org_refusals', domains: ['refuse.com'] });
    const domainId = organization.domains[0]?.id;
    const events = emulator.model.eventCount;
    const cases: Array<[string, string, unknown, number, RegExp]> = [
      ['POST', '/organizations', { nme: 'x' }, 400, /unknown field "nme"/],
      [
        'POST',
        '/organizations',
        { domains: ['a.com', 'A.com'] },
        400,
        /domains: must not list a domain twice/,
      ],
      [
        'POST',
        '/organizations',
        { domains: ['not a domain'] },
        400,
        /domains\.0\.domain: must be a domain name/,
      ],
      [
        'POST',
        '/organizations',
        { domains: [{ domain: 'a.com', state: 'done' }] },
        400,
        /domains\.0\.state: must be one of pending/,
      ],
      ['POST', '/organizations', { id: 'org_refusals' }, 409, /already exists/],
      ['POST', '/organizations', { silent: 'yes' }, 400, /silent: must be true or false/],
      ['PATCH', '/organizations/org_refusals', {}, 400, /nothing to change/],
      ['PATCH', '/organizations/org_nope', { name: 'x' }, 404, /Organization not found: 'org_nope'/],
      ['DELETE', '/organizations/org_nope', undefined, 404, /Organization not found/],
      ['POST', '/organizations/org_refusals/domains', {}, 400, /domain: must be a domain name/],
      [
        'POST',
        '/organizations/org_refusals/domains',
        { domain: 'REFUSE.com' },
        400,
        /already has the domain/,
      ],
      ['POST', '/organizations/org_nope/domains', { domain: 'x.com' }, 404, /Organization not found/],
      [
        'POST',
        `/organization_domains/${domainId}/fail`,
        { reason: 'because' },
        400,
        /reason: must be one of/,
      ],
      ['PATCH', `/organization_domains/${domainId}`, { silent: true }, 400, /nothing to change/],
      [
        'PATCH',
        `/organization_domains/${domainId}`,
        { verification_strategy: 'email' },
        400,
        /must be one of dns, manual/,
      ],
      [
        'POST',
        '/organization_domains/org_domain_nope/verify',
        undefined,
        404,
        /Organization domain not found/,
      ],
      ['DELETE', '/organization_domains/org_domain_nope', undefined, 404, /Organization domain not found/],
      ['GET', '/organizations', undefined, 405, /allowed: POST/],
      ['POST', `/organization_domains/${domainId}`, undefined, 405, /allowed: PATCH, DELETE/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const answer = await control(method, path, body);
      expect({ method, path, status: answer.status }).toEqual({ method, path, status });
      expect(answer.body.message).toMatch(message);
    }
    expect(emulator.model.eventCount).toBe(events);
    expect(emulator.model.getOrganization('org_refusals')).toEqual(organization);
  });

  it('GET /_emulator/state counts organisations and their domains by state', async () => {
    const state = await control('GET', '/state');
    const live = emulator.model.liveOrganizations();
    const domains = live.flatMap((o) => o.domains);
    expect(state.body.organizations).toEqual({
      live: live.length,
      deleted: emulator.model.deletedOrganizations().length,
      domains: {
        live: domains.length,
        by_state: Object.fromEntries(
          [...new Set(domains.map((d) => d.state))].map((s) => [
            s,
            domains.filter((d) => d.state === s).length,
          ]),
        ),
      },
    });
  });
});
