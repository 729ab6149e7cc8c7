/**
 * The emulator through the real `@workos-inc/node` SDK over HTTP: auth, cursor pagination, the
 * events filter, parameter validation, cursor rejection and every fault kind.
 */
import {
  GenericServerException,
  RateLimitExceededException,
  UnauthorizedException,
  UnprocessableEntityException,
  WorkOS,
} from '@workos-inc/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type Emulator,
  type EventListBody,
  generateScenario,
  startEmulator,
  UnknownCursorError,
  WorkosModel,
} from '../emulator/index.ts';
import { CONNECTION_EVENT_TYPES, type WireConnectionList } from '../src/workos/wire.ts';

const API_KEY = 'sk_test_emulator';
const NOW = new Date('2026-02-01T12:00:00.000Z');
const fixedClock = () => NOW;

function sdk(emulator: Emulator, options: { apiKey?: string; maxRetries?: number; timeout?: number } = {}) {
  return new WorkOS(options.apiKey ?? API_KEY, {
    apiHostname: emulator.host,
    port: emulator.port,
    https: false,
    maxRetries: options.maxRetries ?? 0,
    ...(options.timeout !== undefined && { timeout: options.timeout }),
  });
}

async function listEvents(workos: WorkOS, query: Record<string, unknown>): Promise<EventListBody> {
  const { data } = await workos.get<EventListBody>('/events', { query });
  return data;
}

/** Drains /events with `after`, as the sync engine does; returns every event id in order. */
async function drain(workos: WorkOS, events: readonly string[], limit = 100): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await listEvents(workos, { events: events.join(','), limit, order: 'asc', after });
    ids.push(...page.data.map((e) => e.id as string));
    if (page.data.length < limit) return ids;
    after = page.list_metadata.after ?? undefined;
  }
}

describe('emulator through the WorkOS SDK', () => {
  let emulator: Emulator;
  let workos: WorkOS;
  let scenarioByType: Record<string, number>;

  beforeAll(async () => {
    const model = new WorkosModel({ seed: 3, clock: fixedClock });
    scenarioByType = generateScenario(model, { seed: 7, events: 250 }).byType;
    emulator = await startEmulator({ model, apiKey: API_KEY });
    workos = sdk(emulator);
  });
  afterEach(() => emulator.faults.clear());
  afterAll(() => emulator.close());

  it('rejects a wrong API key with UnauthorizedException', async () => {
    await expect(sdk(emulator, { apiKey: 'sk_wrong' }).get('/events', {})).rejects.toBeInstanceOf(
      UnauthorizedException,
    );
    expect(emulator.requests.at(-1)).toMatchObject({ path: '/events', status: 401 });
  });

  it('pages every event exactly once, oldest first, with `after`', async () => {
    const ids = await drain(workos, CONNECTION_EVENT_TYPES, 37);
    const expected = emulator.model.events().map((e) => e.id);
    expect(ids).toEqual(expected);
    expect(new Set(ids).size).toBe(250);
    // The SDK sends the filter comma-joined, and the emulator read it as such.
    expect(emulator.requests.at(-1)?.query).toMatchObject({
      events: CONNECTION_EVENT_TYPES.join(','),
      limit: '37',
    });
  });

  it('defaults to newest first and to 10 events; list_metadata.after is the last id of a non-empty page', async () => {
    const page = await listEvents(workos, {});
    const all = emulator.model.events();
    expect(page.data.map((e) => e.id)).toEqual(
      all
        .slice(-10)
        .reverse()
        .map((e) => e.id),
    );
    expect(page.list_metadata.after).toBe(page.data.at(-1)?.id);
    const last = all.at(-1)?.id as string;
    expect(await listEvents(workos, { order: 'asc', after: last })).toEqual({
      object: 'list',
      data: [],
      list_metadata: { after: null },
    });
  });

  it('filters by event type (comma-joined or repeated) and by time range', async () => {
    const deleted = await drain(workos, ['connection.deleted']);
    expect(deleted).toHaveLength(scenarioByType['connection.deleted'] ?? -1);

    const res = await fetch(
      `${emulator.url}/events?events=connection.activated&events=connection.deactivated&limit=100&order=asc`,
      { headers: { Authorization: `Bearer ${API_KEY}` } },
    );
    const body = (await res.json()) as EventListBody;
    expect(new Set(body.data.map((e) => e.event))).toEqual(
      new Set(['connection.activated', 'connection.deactivated']),
    );

    const all = emulator.model.events();
    const from = all[10]?.created_at as string;
    const to = all[20]?.created_at as string;
    const ranged = await listEvents(workos, { range_start: from, range_end: to, limit: 100, order: 'asc' });
    expect(ranged.data.map((e) => e.id)).toEqual(all.slice(10, 20).map((e) => e.id));
  });

  it('serves raw events whatever the filter says', async () => {
    const model = new WorkosModel({ clock: fixedClock });
    const { id } = model.createConnection({ connectionType: 'OktaSAML' });
    model.activate(id);
    const unknown = model.appendRawEvent({ object: 'event', event: 'connection.renamed', data: { id } });
    const malformed = model.appendRawEvent({
      object: 'event',
      event: 'connection.activated',
      data: { id: 42 },
    });
    const local = await startEmulator({ model, apiKey: API_KEY });
    try {
      const page = await listEvents(sdk(local), { events: 'connection.deleted', order: 'asc', limit: 10 });
      expect(page.data).toEqual([unknown, malformed]);
      expect(unknown.id).toMatch(/^event_[0-9A-HJKMNP-TV-Z]{26}$/);
    } finally {
      await local.close();
    }
  });

  it('enforces limit 1..100 with a 422', async () => {
    for (const limit of [0, 101, 2.5]) {
      await expect(listEvents(workos, { limit })).rejects.toBeInstanceOf(UnprocessableEntityException);
    }
    await expect(listEvents(workos, { limit: 'ten' })).rejects.toMatchObject({ status: 422 });
    expect(() => emulator.model.listEvents({ limit: 0 })).toThrow(
      expect.objectContaining({ field: 'limit' }),
    );
    expect((await listEvents(workos, { limit: 1 })).data).toHaveLength(1);
    expect((await listEvents(workos, { limit: 100 })).data).toHaveLength(100);
  });

  it('rejects an unknown cursor with 400', async () => {
    const error = await listEvents(workos, { after: 'event_01UNKNOWN0000000000000000', order: 'asc' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GenericServerException);
    expect(error).toMatchObject({ status: 400 });
    expect(() => emulator.model.listEvents({ after: 'nope' })).toThrow(UnknownCursorError);
  });

  it('lists connections with cursors and filters', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    do {
      const { data } = await workos.get<WireConnectionList>('/connections', {
        query: { limit: 9, order: 'asc', after },
      });
      seen.push(...data.data.map((c) => c.id));
      after = data.list_metadata.after ?? undefined;
    } while (after);
    expect(seen).toEqual(emulator.model.liveConnections().map((c) => c.id));

    const target = emulator.model.liveConnections()[4];
    const domain = target?.domains[0]?.domain as string;
    const { data: byDomain } = await workos.get<WireConnectionList>('/connections', { query: { domain } });
    expect(byDomain.data.every((c) => c.domains.some((d) => d.domain === domain))).toBe(true);
    expect(byDomain.data.map((c) => c.id)).toContain(target?.id);
    const { data: byOrg } = await workos.get<WireConnectionList>('/connections', {
      query: { organization_id: target?.organization_id, limit: 100 },
    });
    expect(byOrg.data.every((c) => c.organization_id === target?.organization_id)).toBe(true);

    const { data: page2 } = await workos.get<WireConnectionList>('/connections', {
      query: { limit: 5, order: 'asc', after: seen[4] },
    });
    const { data: back } = await workos.get<WireConnectionList>('/connections', {
      query: { limit: 5, order: 'asc', before: page2.data[0]?.id },
    });
    expect(back.data.map((c) => c.id)).toEqual(seen.slice(0, 5));
    expect(back.list_metadata.before).toBeNull();
  });

  describe('faults', () => {
    it('429 with Retry-After reaches the SDK: RateLimitExceededException, or a retry', async () => {
      emulator.faults.add({ kind: 'status', status: 429, retryAfter: 7, path: '/events' });
      await expect(listEvents(workos, {})).rejects.toMatchObject({
        constructor: RateLimitExceededException,
        retryAfter: 7,
      });

      emulator.faults.add({ kind: 'status', status: 429, retryAfter: 0 });
      const before = emulator.requests.length;
      await expect(listEvents(sdk(emulator, { maxRetries: 1 }), {})).resolves.toMatchObject({
        object: 'list',
      });
      expect(emulator.requests.slice(before).map((r) => r.status)).toEqual([429, 200]);
    });

    it('5xx becomes GenericServerException; a path-scoped rule leaves other paths alone', async () => {
      emulator.faults.add({ kind: 'status', status: 503, path: '/connections', times: 2 });
      emulator.faults.add({ kind: 'status', status: 500 });
      await expect(workos.get('/connections', {})).rejects.toMatchObject({ status: 503 });
      await expect(listEvents(workos, {})).rejects.toMatchObject({
        constructor: GenericServerException,
        status: 500,
      });
      expect(emulator.faults.pending()).toMatchObject([{ status: 503, remaining: 1 }]);
      await expect(workos.get('/connections/conn_x', {})).rejects.toMatchObject({ status: 503 });
      expect(emulator.faults.pending()).toEqual([]);
    });

    it('malformed JSON and truncated bodies make the SDK throw', async () => {
      emulator.faults.add({ kind: 'malformed-json' });
      await expect(listEvents(workos, {})).rejects.toMatchObject({ name: 'ParseError' });
      emulator.faults.add({ kind: 'truncate', path: '/events' });
      await expect(listEvents(workos, { limit: 100 })).rejects.toThrow();
      expect(emulator.requests.slice(-2).map((r) => r.fault)).toEqual(['malformed-json', 'truncate']);
      await expect(listEvents(workos, {})).resolves.toMatchObject({ object: 'list' });
    });

    it('delay answers late; hang never answers (the SDK times out)', async () => {
      emulator.faults.add({ kind: 'delay', ms: 300 });
      const started = performance.now();
      await expect(listEvents(workos, {})).resolves.toMatchObject({ object: 'list' });
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);

      emulator.faults.add({ kind: 'hang' });
      await expect(listEvents(sdk(emulator, { timeout: 200 }), {})).rejects.toMatchObject({ status: 408 });
      expect(emulator.requests.at(-1)).toMatchObject({ fault: 'hang', status: 0 });
    });

    it('close() ends hanging requests promptly', async () => {
      const local = await startEmulator({ apiKey: API_KEY });
      local.faults.add({ kind: 'hang' });
      const pending = fetch(`${local.url}/events`, { headers: { Authorization: `Bearer ${API_KEY}` } });
      while (local.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
      const started = performance.now();
      await local.close();
      await expect(pending).rejects.toThrow();
      expect(performance.now() - started).toBeLessThan(1000);
    });
  });

  it('answers JSON 404 for unknown routes and deleted connections', async () => {
    await expect(workos.get('/nope', {})).rejects.toMatchObject({ status: 404 });
    const gone = emulator.model.deletedConnections()[0]?.connection.id as string;
    await expect(workos.get(`/connections/${gone}`, {})).rejects.toMatchObject({ status: 404 });
  });
});
