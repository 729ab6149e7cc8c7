/**
 * The emulated WorkOS's clock offset over real HTTP: with WorkOS 10 minutes ahead of or behind
 * real time, every time it serves — event times, ids, connections' `updated_at`, the `Date` header
 * of every response, the control API's `now` — is in WorkOS's clock; an offset is exactly a
 * shifted base clock; and changing it while running (`PUT /_emulator/clock`) never sets the clock
 * back, so event times stay strictly increasing.
 */
import { WorkOS } from '@workos-inc/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type Emulator,
  type EventBody,
  type EventListBody,
  generateScenario,
  startEmulator,
  WorkosModel,
} from '../emulator/index.ts';
import { CONNECTION_EVENT_TYPES, type WireConnection, type WireConnectionList } from '../src/workos/wire.ts';

const KEY = 'sk_test_clock';
const MINUTE = 60_000;
const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/;
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

interface Answer {
  status: number;
  date: string | null;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are inspected field by field
  body: any;
}

async function call(emulator: Emulator, method: string, path: string, body?: unknown, key = KEY) {
  const res = await fetch(`${emulator.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const answer: Answer = { status: res.status, date: res.headers.get('date'), body: await res.json() };
  return answer;
}

function sdk(emulator: Emulator): WorkOS {
  return new WorkOS(KEY, { apiHostname: emulator.host, port: emulator.port, https: false, maxRetries: 0 });
}

/** Every event as `GET /events` pages it, oldest first. */
async function pollOnce(workos: WorkOS): Promise<EventBody[]> {
  const out: EventBody[] = [];
  let after: string | undefined;
  for (;;) {
    const { data } = await workos.get<EventListBody>('/events', {
      query: { events: CONNECTION_EVENT_TYPES.join(','), order: 'asc', limit: 100, after },
    });
    out.push(...data.data);
    if (data.data.length < 100 || !data.list_metadata.after) return out;
    after = data.list_metadata.after;
  }
}

async function listedConnection(workos: WorkOS, id: string): Promise<WireConnection | undefined> {
  const { data } = await workos.get<WireConnectionList>('/connections', { query: { limit: 100 } });
  return data.data.find((c) => c.id === id);
}

/** The millisecond time a ULID-shaped id (`event_01…`) embeds. */
function idTime(id: string): number {
  const body = id.slice(id.lastIndexOf('_') + 1);
  return [...body.slice(0, 10)].reduce((ms, digit) => ms * 32 + CROCKFORD.indexOf(digit), 0);
}

describe.each([
  ['ahead of', 10 * MINUTE],
  ['behind', -10 * MINUTE],
])('WorkOS 10 minutes %s real time', (_, offset) => {
  let emulator: Emulator;
  let workos: WorkOS;
  beforeAll(async () => {
    emulator = await startEmulator({ apiKey: KEY, clockOffsetMs: offset });
    workos = sdk(emulator);
  });
  afterEach(() => emulator.faults.clear());
  afterAll(() => emulator.close());

  /** Runs `act` and the span of WorkOS's clock (real time + offset) it ran in. */
  async function inWorkosTime<T>(act: () => Promise<T>): Promise<{ result: T; from: number; to: number }> {
    const from = Date.now() + offset;
    const result = await act();
    return { result, from, to: Date.now() + offset };
  }

  it("stamps events, their ids and connections' updated_at in WorkOS's clock", async () => {
    const { result, from, to } = await inWorkosTime(async () => {
      const created = await call(emulator, 'POST', '/_emulator/connections', { domains: ['skew.com'] });
      const id = created.body.connection.id as string;
      const activated = await call(emulator, 'POST', `/_emulator/connections/${id}/activate`);
      return { created: created.body.connection as WireConnection, event: activated.body.event };
    });
    const { created, event } = result;
    expect(Date.parse(created.created_at)).toBeGreaterThanOrEqual(from);
    expect(Date.parse(created.created_at)).toBeLessThanOrEqual(to);
    expect(idTime(created.id)).toBe(Date.parse(created.created_at));

    const events = await pollOnce(workos);
    expect(events.at(-1)).toEqual(event);
    const eventTime = Date.parse(event.created_at);
    expect(eventTime).toBeGreaterThanOrEqual(from);
    expect(eventTime).toBeLessThanOrEqual(to);
    expect(idTime(event.id)).toBe(eventTime);

    const listed = await listedConnection(workos, created.id);
    expect(listed?.updated_at).toBe(event.created_at);
  });

  it("sends one Date header in WorkOS's clock on every response, errors and faults included", async () => {
    const requests: Array<[string, () => Promise<Response>]> = [];
    const get =
      (path: string, key = KEY) =>
      () =>
        fetch(`${emulator.url}${path}`, { headers: { Authorization: `Bearer ${key}` } });
    const queueing = (fault: unknown, path: string) => async () => {
      expect((await call(emulator, 'POST', '/_emulator/faults', fault)).status).toBe(201);
      return get(path)();
    };
    requests.push(
      ['GET /events', get('/events')],
      ['GET /connections', get('/connections')],
      ['GET /connections/:id (404)', get('/connections/conn_missing')],
      ['unknown path (404)', get('/directories')],
      ['wrong key (401)', get('/events', 'sk_live_nope')],
      ['control API', get('/_emulator/state')],
      ['control API error (405)', get('/_emulator/events')],
      ['status fault (503)', queueing({ kind: 'status', status: 503 }, '/events')],
      ['malformed-json fault', queueing({ kind: 'malformed-json' }, '/connections')],
      ['truncate fault', queueing({ kind: 'truncate' }, '/events')],
    );
    for (const [what, request] of requests) {
      // The header has whole seconds: the span starts at the second WorkOS's clock was in.
      const from = Math.floor((Date.now() + offset) / 1000) * 1000;
      const res = await request();
      const to = Date.now() + offset;
      await res.arrayBuffer().catch(() => undefined);
      const date = res.headers.get('date') ?? '';
      expect({ what, date }).toEqual({ what, date: expect.stringMatching(IMF_FIXDATE) });
      expect({ what, after: Date.parse(date) >= from, before: Date.parse(date) <= to }).toEqual({
        what,
        after: true,
        before: true,
      });
    }
  });

  it("answers GET /_emulator/clock and /state with WorkOS's now and the offset", async () => {
    const { result, from, to } = await inWorkosTime(async () => ({
      clock: await call(emulator, 'GET', '/_emulator/clock'),
      state: await call(emulator, 'GET', '/_emulator/state'),
    }));
    expect(result.clock.body).toEqual({
      object: 'emulator_clock',
      now: expect.any(String),
      offset_ms: offset,
      hold_ms: 0,
    });
    for (const now of [result.clock.body.now, result.state.body.now]) {
      expect(Date.parse(now)).toBeGreaterThanOrEqual(from);
      expect(Date.parse(now)).toBeLessThanOrEqual(to);
    }
  });
});

describe('an offset is the base clock shifted', () => {
  it.each([10 * MINUTE, -10 * MINUTE])(
    'offset %i ms: the same scenario, byte for byte, as a base clock that far off',
    (offset) => {
      const snapshot = (model: WorkosModel) =>
        JSON.stringify({
          events: model.events(),
          live: model.liveConnections(),
          deleted: model.deletedConnections(),
          certificates: [...model.signingCertificates()],
        });
      const shifted = new WorkosModel({ seed: 8, clock: () => new Date(T0 + offset) });
      generateScenario(shifted, { seed: 3, events: 200 });
      const viaModel = new WorkosModel({ seed: 8, clock: () => new Date(T0), clockOffsetMs: offset });
      generateScenario(viaModel, { seed: 3, events: 200 });
      const viaScenario = new WorkosModel({ seed: 8, clock: () => new Date(T0) });
      generateScenario(viaScenario, { seed: 3, events: 200, clockOffsetMs: offset });

      expect(snapshot(viaModel)).toBe(snapshot(shifted));
      expect(snapshot(viaScenario)).toBe(snapshot(shifted));
      expect(viaScenario.clockOffsetMs).toBe(offset);
      // The history covers the 25 days up to a minute before WorkOS's now, not the base clock's.
      const times = viaScenario.events().map((e) => Date.parse(String(e.created_at)));
      expect(Math.min(...times)).toBeGreaterThanOrEqual(T0 + offset - 25 * 86_400_000);
      expect(Math.max(...times)).toBeLessThanOrEqual(T0 + offset - MINUTE);
    },
  );

  it('startEmulator refuses an offset for a model it is given (the model carries its own)', async () => {
    await expect(startEmulator({ apiKey: KEY, model: new WorkosModel(), clockOffsetMs: 1 })).rejects.toThrow(
      /give clockOffsetMs to the model/,
    );
  });
});

describe('changing the offset while running (PUT /_emulator/clock)', () => {
  let real = T0;
  let emulator: Emulator;
  let workos: WorkOS;
  const start = async (clockOffsetMs: number) => {
    real = T0;
    emulator = await startEmulator({
      apiKey: KEY,
      model: new WorkosModel({ seed: 5, clock: () => new Date(real), clockOffsetMs }),
    });
    workos = sdk(emulator);
  };
  const control = (method: string, path: string, body?: unknown) =>
    call(emulator, method, `/_emulator${path}`, body);
  const iso = (ms: number) => new Date(ms).toISOString();
  afterEach(() => emulator.close());

  it('moves WorkOS clock forward at once', async () => {
    await start(0);
    const { id } = (await control('POST', '/connections')).body.connection;
    const before = (await control('POST', `/connections/${id}/activate`)).body.event;
    expect(before.created_at).toBe(iso(T0));

    const set = await control('PUT', '/clock', { offset_ms: 10 * MINUTE });
    expect(set).toEqual({
      status: 200,
      date: new Date(T0 + 10 * MINUTE).toUTCString(),
      body: { object: 'emulator_clock', now: iso(T0 + 10 * MINUTE), offset_ms: 10 * MINUTE, hold_ms: 0 },
    });
    const after = (await control('POST', `/connections/${id}/deactivate`)).body.event;
    expect(after.created_at).toBe(iso(T0 + 10 * MINUTE));
    expect((await listedConnection(workos, id))?.updated_at).toBe(iso(T0 + 10 * MINUTE));
    expect((await control('GET', '/clock')).body).toMatchObject({ now: iso(T0 + 10 * MINUTE) });
  });

  it('moving it back holds WorkOS clock until real time catches up: times never go back', async () => {
    await start(10 * MINUTE);
    const { id } = (await control('POST', '/connections')).body.connection;
    const first = (await control('POST', `/connections/${id}/activate`)).body.event;
    expect(first.created_at).toBe(iso(T0 + 10 * MINUTE));

    // Real time is T0, so WorkOS at T0 − 10 min would be 20 minutes before the event it just served.
    const set = await control('PUT', '/clock', { offset_ms: -10 * MINUTE });
    expect(set.body).toMatchObject({ offset_ms: -10 * MINUTE, hold_ms: 20 * MINUTE + 1 });
    expect(Date.parse(set.body.now)).toBeGreaterThan(Date.parse(first.created_at));
    expect(set.date).toBe(new Date(T0 + 10 * MINUTE).toUTCString());

    // Held: everything stamped now is after what came before.
    const second = (await control('POST', `/connections/${id}/deactivate`)).body.event;
    expect(Date.parse(second.created_at)).toBeGreaterThan(Date.parse(first.created_at));
    const renamed = (await control('PATCH', `/connections/${id}`, { name: 'Renamed' })).body.connection;
    expect(Date.parse(renamed.updated_at)).toBeGreaterThan(Date.parse(second.created_at));

    real = T0 + 19 * MINUTE;
    const held = await control('GET', '/clock');
    expect(held.date).toBe(new Date(T0 + 10 * MINUTE).toUTCString());
    expect(held.body.hold_ms).toBeGreaterThan(MINUTE - 1000);
    expect(held.body.hold_ms).toBeLessThan(MINUTE + 1000);

    // Once real time − 10 min passes the held time, the clock runs at the new offset.
    real = T0 + 21 * MINUTE;
    expect((await control('GET', '/clock')).body).toEqual({
      object: 'emulator_clock',
      now: iso(T0 + 11 * MINUTE),
      offset_ms: -10 * MINUTE,
      hold_ms: 0,
    });
    const third = (await control('POST', `/connections/${id}/activate`)).body.event;
    expect(third.created_at).toBe(iso(T0 + 11 * MINUTE));

    const times = (await pollOnce(workos)).map((e) => Date.parse(String(e.created_at)));
    expect(times).toHaveLength(3);
    expect(times.every((t, i) => i === 0 || t > (times[i - 1] as number))).toBe(true);
  });

  it('refuses a bad body with a 400 naming offset_ms, and changes nothing', async () => {
    await start(5000);
    const cases: Array<[string, unknown, number, RegExp]> = [
      ['PUT', {}, 400, /^Invalid request body: offset_ms: must be an integer number of milliseconds/],
      ['PUT', { offset_ms: '10m' }, 400, /offset_ms: must be an integer number of milliseconds/],
      ['PUT', { offset_ms: 1.5 }, 400, /offset_ms: must be an integer/],
      [
        'PUT',
        { offset_ms: 400 * 86_400_000 * 10 },
        400,
        /offset_ms: must be an integer .* from -315360000000/,
      ],
      ['PUT', { offset_ms: 0, at: 'now' }, 400, /unknown field "at"/],
      ['PUT', '{"offset_ms":', 400, /^Request body is not valid JSON/],
      ['POST', { offset_ms: 0 }, 405, /allowed: GET, PUT/],
    ];
    for (const [method, body, status, message] of cases) {
      expect({ sent: body, ...(await control(method, '/clock', body)) }).toMatchObject({
        status,
        body: { message: expect.stringMatching(message) },
      });
    }
    expect((await call(emulator, 'PUT', '/_emulator/clock', { offset_ms: 0 }, 'sk_live_x')).status).toBe(401);
    expect((await control('GET', '/clock')).body).toMatchObject({ offset_ms: 5000, now: iso(T0 + 5000) });
    expect(() => emulator.model.setClockOffset(Number.NaN)).toThrow(RangeError);
  });
});
