/**
 * Organisations and organisation domains in the emulator's model, without HTTP: what each change
 * emits and stamps, silent changes, List Organizations, the rule that a connection of a known
 * organisation lists its organisation's domains while its `updated_at` stays put, and the seeded
 * organisation scenario.
 */
import { describe, expect, it } from 'vitest';
import {
  type EventBody,
  generateOrganizationScenario,
  generateScenario,
  InvalidParameterError,
  NotFoundError,
  type OrganizationScenarioOptions,
  type OrganizationStep,
  UnknownCursorError,
  UnknownOrganizationDomainError,
  WorkosModel,
} from '../emulator/index.ts';
import { loadScenario } from '../emulator/scenarios.ts';
import { ORGANIZATION_EVENT_TYPES } from '../src/workos/wire.ts';

const NOW = new Date('2026-02-01T12:00:00.000Z');
const MINUTE = 60_000;
const later = (minutes: number) => new Date(NOW.getTime() + minutes * MINUTE);

function modelAt(): WorkosModel {
  return new WorkosModel({ seed: 3, clock: () => NOW });
}

const domainNames = (domains: ReadonlyArray<{ domain: string }>) => domains.map((d) => d.domain);

describe('organisations', () => {
  it('createOrganization emits organization.created with the organisation and its domains', () => {
    const model = modelAt();
    const event = model.createOrganization({
      name: 'Acme',
      externalId: 'ext_acme',
      domains: ['acme.com', { domain: 'acme.io', state: 'verified', verificationStrategy: 'manual' }],
    });
    expect(event).toMatchObject({
      object: 'event',
      event: 'organization.created',
      created_at: NOW.toISOString(),
    });
    const organization = event.data;
    expect(organization).toEqual({
      object: 'organization',
      id: expect.stringMatching(/^org_[0-9A-Z]{26}$/),
      name: 'Acme',
      domains: [
        {
          object: 'organization_domain',
          id: expect.stringMatching(/^org_domain_[0-9A-Z]{26}$/),
          organization_id: organization.id,
          domain: 'acme.com',
          state: 'pending',
          verification_prefix: expect.stringMatching(/^workos-domain-verification-[a-z0-9]{6}$/),
          verification_token: expect.stringMatching(/^[A-Za-z0-9]{25}$/),
          verification_strategy: 'dns',
          created_at: NOW.toISOString(),
          updated_at: NOW.toISOString(),
        },
        {
          object: 'organization_domain',
          id: expect.stringMatching(/^org_domain_/),
          organization_id: organization.id,
          domain: 'acme.io',
          state: 'verified',
          verification_strategy: 'manual',
          created_at: NOW.toISOString(),
          updated_at: NOW.toISOString(),
        },
      ],
      metadata: {},
      external_id: 'ext_acme',
      created_at: NOW.toISOString(),
      updated_at: NOW.toISOString(),
    });
    expect(model.getOrganization(organization.id)).toEqual(organization);
    expect(model.liveOrganizations()).toEqual([organization]);
    expect(model.events()).toEqual([event]);
    expect(() => model.createOrganization({ domains: ['a.com', 'A.com'] })).toThrow(/listed twice/);
    expect(() => model.createOrganization({ id: organization.id })).toThrow(/already exists/);
    expect(() => model.getOrganization('org_missing')).toThrow(NotFoundError);
  });

  it('domain changes emit their own event, stamp only the domain, and never organization.updated', () => {
    const model = modelAt();
    const { data: organization } = model.createOrganization({ name: 'Acme', domains: ['acme.com'] });
    const added = model.addDomain(organization.id, 'acme.io', {}, later(1));
    expect(added).toMatchObject({
      event: 'organization_domain.created',
      data: {
        domain: 'acme.io',
        state: 'pending',
        verification_strategy: 'dns',
        created_at: later(1).toISOString(),
      },
    });
    const id = added.data.id;
    const verified = model.verifyDomain(id, later(2));
    expect(verified).toMatchObject({
      event: 'organization_domain.verified',
      data: { id, state: 'verified', updated_at: later(2).toISOString(), created_at: later(1).toISOString() },
    });
    const manual = model.updateDomain(id, { verificationStrategy: 'manual', state: 'pending' }, later(3));
    expect(manual.event).toBe('organization_domain.updated');
    expect(manual.data).toMatchObject({ state: 'pending', verification_strategy: 'manual' });
    expect(manual.data).not.toHaveProperty('verification_token');
    const failed = model.failDomainVerification(id, undefined, later(4));
    expect(failed).toMatchObject({
      event: 'organization_domain.verification_failed',
      data: {
        reason: 'domain_verification_period_expired',
        organization_domain: { id, state: 'failed', updated_at: later(4).toISOString() },
      },
    });
    expect(
      model.failDomainVerification(id, 'domain_verified_by_other_organization', later(5)).data.reason,
    ).toBe('domain_verified_by_other_organization');
    const removed = model.removeDomain(id, later(6));
    expect(removed).toMatchObject({
      event: 'organization_domain.deleted',
      data: { id, state: 'failed', updated_at: later(5).toISOString() },
    });
    expect(() => model.organizationDomain(id)).toThrow(NotFoundError);
    expect(() => model.verifyDomain(id)).toThrow(UnknownOrganizationDomainError);

    const after = model.getOrganization(organization.id);
    expect(domainNames(after.domains)).toEqual(['acme.com']);
    expect(after.updated_at).toBe(NOW.toISOString());
    expect(model.events().map((e) => e.event)).not.toContain('organization.updated');
    expect(() => model.addDomain(organization.id, 'ACME.com')).toThrow(/already has the domain/);
  });

  it('updateOrganization renames and bumps updated_at; updateDomain back to dns hands out a new token', () => {
    const model = modelAt();
    const { data: organization } = model.createOrganization({ domains: ['x.com'] });
    expect(organization.name).toBe('Organization 1');
    const updated = model.updateOrganization(
      organization.id,
      { name: 'X Corp', externalId: 'x-1' },
      later(1),
    );
    expect(updated).toMatchObject({
      event: 'organization.updated',
      data: { id: organization.id, name: 'X Corp', external_id: 'x-1', updated_at: later(1).toISOString() },
    });
    const domainId = organization.domains[0]?.id ?? '';
    const token = model.organizationDomain(domainId).verification_token;
    model.updateDomain(domainId, { verificationStrategy: 'manual' }, later(2));
    const dns = model.updateDomain(domainId, { verificationStrategy: 'dns' }, later(3)).data;
    expect(dns.verification_token).toMatch(/^[A-Za-z0-9]{25}$/);
    expect(dns.verification_token).not.toBe(token);
  });

  it('deleteOrganization deletes its connections first, then emits the organisation as it was', () => {
    const model = modelAt();
    const { data: organization } = model.createOrganization({ name: 'Gone', domains: ['gone.com'] });
    const other = model.createOrganization({ name: 'Stays' }).data;
    const first = model.createConnection({ organizationId: organization.id, at: later(1) });
    const second = model.createConnection({ organizationId: organization.id, at: later(2) });
    const kept = model.createConnection({ organizationId: other.id, at: later(3) });
    model.activate(second.id, later(4));
    const before = model.eventCount;
    const event = model.deleteOrganization(organization.id, later(10));

    const tail = model.events().slice(before);
    expect(tail.map((e) => [e.event, (e.data as { id: string }).id])).toEqual([
      ['connection.deleted', first.id],
      ['connection.deleted', second.id],
      ['organization.deleted', organization.id],
    ]);
    expect(tail[0]?.data).toMatchObject({
      domains: [{ id: organization.domains[0]?.id, domain: 'gone.com' }],
    });
    expect(tail[1]?.data).toMatchObject({ state: 'active' });
    expect(event.data).toEqual(organization);
    expect(model.liveConnections().map((c) => c.id)).toEqual([kept.id]);
    expect(model.liveOrganizations().map((o) => o.id)).toEqual([other.id]);
    expect(model.deletedOrganizations()).toEqual([{ organization, deletedAt: event.created_at }]);
    expect(() => model.getOrganization(organization.id)).toThrow(NotFoundError);
    expect(() => model.organizationDomain(organization.domains[0]?.id ?? '')).toThrow(NotFoundError);
    // Its connections went the usual way: listed as deleted, their ids still usable as cursors.
    expect(model.deletedConnections().map((d) => d.connection.id)).toEqual([first.id, second.id]);
  });
});

describe('a connection of a known organisation', () => {
  it("lists the organisation's live domains under their ids, through every change, without a new updated_at", () => {
    const model = modelAt();
    const { data: organization } = model.createOrganization({ domains: ['acme.com', 'acme.io'] });
    const connection = model.createConnection({
      organizationId: organization.id,
      connectionType: 'OktaSAML',
    });
    const expected = () =>
      model
        .getOrganization(organization.id)
        .domains.map((d) => ({ id: d.id, object: 'connection_domain', domain: d.domain }));
    const listed = () => model.listConnections({ organizationId: organization.id }).data[0];
    expect(connection.domains).toEqual(expected());
    expect(connection.domains.map((d) => d.id)).toEqual(organization.domains.map((d) => d.id));

    const added = model.addDomain(organization.id, 'acme.dev', { verificationStrategy: 'manual' }, later(1));
    model.verifyDomain(organization.domains[1]?.id ?? '', later(2));
    model.failDomainVerification(added.data.id, undefined, later(3));
    model.removeDomain(organization.domains[0]?.id ?? '', later(4));
    for (const shape of [model.getConnection(connection.id), listed(), model.liveConnections()[0]]) {
      expect(domainNames(shape?.domains ?? [])).toEqual(['acme.io', 'acme.dev']);
      expect(shape?.domains).toEqual(expected());
      expect(shape?.updated_at).toBe(connection.updated_at);
    }
    // Event payloads carry the domains of the moment too.
    expect(model.activate(connection.id, later(5)).data.domains).toEqual(expected());
    expect(model.listConnections({ domain: 'ACME.DEV' }).data.map((c) => c.id)).toEqual([connection.id]);
    expect(model.listConnections({ domain: 'acme.com' }).data).toEqual([]);

    expect(() => model.setDomains(connection.id, ['other.com'])).toThrow(/addDomain\/removeDomain/);
    expect(() => model.createConnection({ organizationId: organization.id, domains: ['x.com'] })).toThrow(
      /its connections list/,
    );
  });

  it('follows from the moment its organisation is created; other connections keep their own domains', () => {
    const model = modelAt();
    const early = model.createConnection({ organizationId: 'org_later', domains: ['own.com'] });
    const legacy = model.createConnection({ organizationId: 'org_unknown', domains: ['legacy.com'] });
    const orphan = model.createConnection({ organizationId: null, domains: ['orphan.com'] });
    const { data: organization } = model.createOrganization({ id: 'org_later', domains: ['later.com'] });
    expect(model.getConnection(early.id).domains).toEqual([
      { id: organization.domains[0]?.id, object: 'connection_domain', domain: 'later.com' },
    ]);
    expect(model.getConnection(legacy.id)).toEqual(legacy);
    expect(model.getConnection(orphan.id)).toEqual(orphan);
    const edited = model.setDomains(legacy.id, ['legacy.com', 'legacy.io'], later(1));
    expect(domainNames(edited.domains)).toEqual(['legacy.com', 'legacy.io']);
    expect(edited.domains[0]?.id).toBe(legacy.domains[0]?.id);
  });
});

describe('silent changes', () => {
  it('change state and timestamps the same way, but append no event and tell no listener', () => {
    const model = modelAt();
    const heard: EventBody[] = [];
    model.onEvent((event) => heard.push(event));
    const quiet = { silent: true };
    const { data: organization } = model.createOrganization({
      name: 'Quiet',
      domains: ['q.com'],
      silent: true,
    });
    const connection = model.createConnection({ organizationId: organization.id });
    const added = model.addDomain(organization.id, 'q.io', {}, { at: later(1), silent: true });
    expect(added.data).toMatchObject({ domain: 'q.io', created_at: later(1).toISOString() });
    model.verifyDomain(added.data.id, { at: later(2), silent: true });
    expect(model.organizationDomain(added.data.id)).toMatchObject({
      state: 'verified',
      updated_at: later(2).toISOString(),
    });
    model.failDomainVerification(organization.domains[0]?.id ?? '', undefined, quiet);
    model.updateDomain(added.data.id, { state: 'unverified' }, quiet);
    model.updateOrganization(organization.id, { name: 'Still quiet' }, { at: later(3), silent: true });
    expect(model.getOrganization(organization.id)).toMatchObject({
      name: 'Still quiet',
      updated_at: later(3).toISOString(),
    });
    model.removeDomain(organization.domains[0]?.id ?? '', quiet);
    expect(domainNames(model.getConnection(connection.id).domains)).toEqual(['q.io']);
    model.deleteOrganization(organization.id, quiet);
    expect(model.liveConnections()).toEqual([]);
    expect(model.liveOrganizations()).toEqual([]);
    expect(model.events()).toEqual([]);
    expect(heard).toEqual([]);
    // The silent changes held no later event back.
    expect(model.createOrganization({ at: NOW }).created_at).toBe(NOW.toISOString());
  });
});

describe('List Organizations', () => {
  function withOrganizations(count: number) {
    const model = modelAt();
    const ids = Array.from(
      { length: count },
      (_, i) =>
        model.createOrganization({ name: `Org ${i}`, domains: [`org${i}.com`], at: later(i) }).data.id,
    );
    return { model, ids };
  }

  it('pages oldest first (asc) and newest first (desc, normal), forwards with after and back with before', () => {
    const { model, ids } = withOrganizations(25);
    const walk = (order: string) => {
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = model.listOrganizations({ order, limit: 10, after });
        seen.push(...page.data.map((o) => o.id));
        if (!page.list_metadata.after) return seen;
        after = page.list_metadata.after;
      }
    };
    expect(walk('asc')).toEqual(ids);
    expect(walk('desc')).toEqual([...ids].reverse());
    expect(walk('normal')).toEqual([...ids].reverse());
    expect(model.listOrganizations().data.map((o) => o.id)).toEqual([...ids].reverse().slice(0, 10));

    const page = model.listOrganizations({ order: 'asc', before: ids[15], limit: 5 });
    expect(page.data.map((o) => o.id)).toEqual(ids.slice(10, 15));
    expect(page.list_metadata).toEqual({ before: ids[10], after: ids[14] });
    const back = model.listOrganizations({ order: 'desc', before: ids[5], limit: 100 });
    expect(back.data.map((o) => o.id)).toEqual(ids.slice(6).reverse());
    expect(back.list_metadata.before).toBeNull();
  });

  it('filters by any of several domains, case-insensitively', () => {
    const { model, ids } = withOrganizations(5);
    model.addDomain(ids[1] ?? '', 'shared.com');
    const listed = (domains: string[]) =>
      model.listOrganizations({ domains, order: 'asc' }).data.map((o) => o.id);
    expect(listed(['ORG3.com'])).toEqual([ids[3]]);
    expect(listed(['org0.com', 'shared.com', 'nobody.com'])).toEqual([ids[0], ids[1]]);
    expect(listed([])).toEqual(ids);
  });

  it('refuses a bad limit, both cursors and an unknown cursor; a deleted organisation stays a cursor', () => {
    const { model, ids } = withOrganizations(4);
    for (const limit of [0, 101, 2.5])
      expect(() => model.listOrganizations({ limit })).toThrow(InvalidParameterError);
    expect(() => model.listOrganizations({ order: 'up' })).toThrow(InvalidParameterError);
    expect(() => model.listOrganizations({ before: ids[0], after: ids[1] })).toThrow(InvalidParameterError);
    expect(() => model.listOrganizations({ after: 'org_unknown' })).toThrow(UnknownCursorError);
    model.deleteOrganization(ids[1] ?? '');
    expect(model.listOrganizations({ order: 'asc', after: ids[1] }).data.map((o) => o.id)).toEqual(
      ids.slice(2),
    );
  });
});

describe('List Events and organisations', () => {
  it('organization_id selects the events of one organisation, domain events included', () => {
    const model = modelAt();
    const a = model.createOrganization({ domains: ['a.com'] }).data;
    const b = model.createOrganization({ domains: ['b.com'] }).data;
    model.failDomainVerification(a.domains[0]?.id ?? '');
    model.verifyDomain(b.domains[0]?.id ?? '');
    const connection = model.createConnection({ organizationId: a.id });
    model.activate(connection.id);
    const types = model.listEvents({ organizationId: a.id, order: 'asc' }).data.map((e) => e.event);
    expect(types).toEqual([
      'organization.created',
      'organization_domain.verification_failed',
      'connection.activated',
    ]);
  });
});

describe('organisation scenario generator', () => {
  const start = new Date('2026-01-01T00:00:00.000Z');
  const end = new Date('2026-01-20T00:00:00.000Z');
  const run = (seed: number, domainEvents = 120, extra: Partial<OrganizationScenarioOptions> = {}) => {
    const model = new WorkosModel({ seed: 1, clock: () => NOW });
    const summary = generateOrganizationScenario(model, {
      seed,
      organizations: 12,
      domainEvents,
      start,
      end,
      ...extra,
    });
    return { model, summary };
  };
  const TIMELINE_TYPES = [
    'organization.updated',
    ...ORGANIZATION_EVENT_TYPES.filter((t) => t.startsWith('organization_domain.')),
  ];

  it('is deterministic for a seed and differs across seeds', () => {
    const a = run(5);
    const b = run(5);
    expect(JSON.stringify(a.model.events())).toBe(JSON.stringify(b.model.events()));
    expect(a.model.liveOrganizations()).toEqual(b.model.liveOrganizations());
    expect(a.model.liveConnections()).toEqual(b.model.liveConnections());
    expect(a.summary).toEqual(b.summary);
    expect(JSON.stringify(run(6).model.events())).not.toBe(JSON.stringify(a.model.events()));
  });

  it('emits one event per domainEvents step, after one organization.created per organisation, in order inside [start, end]', () => {
    const { model, summary } = run(9, 300);
    const events = model.events();
    const types = events.map((e) => String(e.event));
    expect(types.filter((t) => TIMELINE_TYPES.includes(t))).toHaveLength(300);
    expect(types.filter((t) => t === 'organization.created')).toHaveLength(12);
    expect(summary).toMatchObject({ organizations: 12, domainEvents: 300, events: events.length });
    expect(summary.byType['connection.activated']).toBe(
      types.filter((t) => t === 'connection.activated').length,
    );
    expect(Object.values(summary.byType).reduce((x, y) => x + y, 0)).toBe(events.length);
    // Every step but a domain update (which no step makes) happens.
    for (const type of TIMELINE_TYPES.filter((t) => t !== 'organization_domain.updated'))
      expect(summary.byType[type] ?? 0, type).toBeGreaterThan(0);
    // Every organisation is set up before the first step.
    expect(types.lastIndexOf('organization.created')).toBeLessThan(
      types.findIndex((t) => TIMELINE_TYPES.includes(t)),
    );
    const times = events.map((e) => Date.parse(String(e.created_at)));
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1] as number);
    expect(times[0]).toBeGreaterThanOrEqual(start.getTime());
    expect(times.at(-1)).toBeLessThanOrEqual(end.getTime());
  });

  it('starts each organisation with 1–3 domains, one pending, and 1–2 connections that list its domains', () => {
    const { model, summary } = run(11, 0);
    const created = model.events().filter((e) => e.event === 'organization.created');
    for (const event of created) {
      const { domains } = (event as { data: { domains: Array<{ state: string }> } }).data;
      expect(domains.length).toBeGreaterThanOrEqual(1);
      expect(domains.length).toBeLessThanOrEqual(3);
      expect(domains.some((d) => d.state === 'pending')).toBe(true);
    }
    const organizations = new Map(model.liveOrganizations().map((o) => [o.id, o]));
    const connections = model.liveConnections();
    expect(connections).toHaveLength(summary.connections);
    for (const connection of connections) {
      const organization = organizations.get(connection.organization_id ?? '');
      expect(connection.domains).toEqual(
        organization?.domains.map((d) => ({ id: d.id, object: 'connection_domain', domain: d.domain })),
      );
    }
    const perOrganization = [...organizations.keys()].map(
      (id) => connections.filter((c) => c.organization_id === id).length,
    );
    expect(Math.min(...perOrganization)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...perOrganization)).toBeLessThanOrEqual(2);
    expect(run(11, 0, { connectionsPerOrganization: 3 }).summary.connections).toBe(36);
  });

  it('draws only from the steps given, and refuses what cannot happen', () => {
    const { model } = run(3, 40, { steps: ['verify-domain', 'rename-organization'] });
    const types = new Set(model.events().map((e) => String(e.event)));
    expect([...types].filter((t) => TIMELINE_TYPES.includes(t)).sort()).toEqual([
      'organization.updated',
      'organization_domain.verified',
    ]);
    expect(() => run(3, 100, { steps: ['verify-domain'] })).toThrow(
      /none of the steps verify-domain can happen/,
    );
    expect(() => run(3, 1, { steps: ['promote-domain' as OrganizationStep] })).toThrow(
      /steps must be some of/,
    );
    expect(() => run(3, 1, { organizations: 0 })).toThrow(/at least one organization/);
  });

  it('after generateScenario on the same model, places its history after the newest event and leaves that one as it was', () => {
    const withConnections = () => {
      const model = new WorkosModel({ seed: 2, clock: () => NOW });
      generateScenario(model, { seed: 8, events: 200 });
      return model;
    };
    const alone = withConnections();
    const both = withConnections();
    const newest = Date.parse(String(both.events().at(-1)?.created_at));
    generateOrganizationScenario(both, { seed: 8, organizations: 4, domainEvents: 10 });
    expect(JSON.stringify(both.events().slice(0, alone.eventCount))).toBe(JSON.stringify(alone.events()));
    const added = both.events().slice(alone.eventCount);
    expect(added.length).toBeGreaterThan(10);
    for (const event of added) expect(Date.parse(String(event.created_at))).toBeGreaterThan(newest);
    expect(() =>
      generateOrganizationScenario(withConnections(), { seed: 8, organizations: 1, domainEvents: 0, start }),
    ).toThrow(/start is before the newest event/);
  });
});

describe('the demo scenario', () => {
  it('ends with three known organisations, a pending domain among them, and no domain added or removed', () => {
    for (const seed of [1, 2, 7, 42]) {
      const model = new WorkosModel({ seed, clock: () => NOW });
      const summary = loadScenario(model, 'demo', { seed });
      const organizations = model.liveOrganizations();
      expect(organizations).toHaveLength(3);
      expect(organizations.flatMap((o) => o.domains).some((d) => d.state === 'pending')).toBe(true);
      const types = model.events().map((e) => String(e.event));
      expect(types).not.toContain('organization_domain.created');
      expect(types).not.toContain('organization_domain.deleted');
      const known = new Set(organizations.map((o) => o.id));
      const following = model.liveConnections().filter((c) => known.has(c.organization_id ?? ''));
      expect(following.length).toBeGreaterThanOrEqual(3);
      expect(summary.organizations).toBe(
        new Set([...model.liveConnections().flatMap((c) => c.organization_id ?? []), ...known]).size,
      );
    }
  });
});
