/**
 * The emulator's model without HTTP: WorkOS's event semantics (what emits, what a deletion or a
 * certificate notice carries, event-time ordering, retention) and the scenario generator's
 * determinism and shape.
 */
import { describe, expect, it } from 'vitest';
import { generateScenario, UnknownCursorError, WorkosModel } from '../emulator/index.ts';
import { CONNECTION_EVENT_TYPES } from '../src/workos/wire.ts';

const NOW = new Date('2026-02-01T12:00:00.000Z');
const fixedClock = () => NOW;
const DAY = 86_400_000;

describe('scenario generator', () => {
  const start = new Date('2026-01-01T00:00:00.000Z');
  const end = new Date('2026-01-20T00:00:00.000Z');
  const run = (seed: number, events = 600) => {
    const model = new WorkosModel({ seed: 1, clock: fixedClock });
    const summary = generateScenario(model, { seed, events, start, end });
    return { model, summary };
  };

  it('is deterministic for a seed and differs across seeds', () => {
    const a = run(5);
    const b = run(5);
    expect(JSON.stringify(a.model.events())).toBe(JSON.stringify(b.model.events()));
    expect(a.model.liveConnections()).toEqual(b.model.liveConnections());
    expect(JSON.stringify(run(6).model.events())).not.toBe(JSON.stringify(a.model.events()));
  });

  it('emits exactly the requested number of events, in order, inside [start, end]', () => {
    const { model, summary } = run(9, 1234);
    const events = model.events();
    expect(events).toHaveLength(1234);
    expect(summary.events).toBe(1234);
    expect(Object.values(summary.byType).reduce((a, b) => a + b, 0)).toBe(1234);
    const times = events.map((e) => Date.parse(e.created_at as string));
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1] as number);
    expect(times[0]).toBeGreaterThanOrEqual(start.getTime());
    expect(times.at(-1)).toBeLessThanOrEqual(end.getTime());
    for (const type of CONNECTION_EVENT_TYPES) expect(summary.byType[type]).toBeGreaterThan(0);
  });

  it('never emits for a connection after its deletion, and leaves some connections silent', () => {
    const { model, summary } = run(12, 2000);
    const deletedAt = new Map<string, number>();
    for (const [i, e] of model.events().entries()) {
      const data = e.data as { id?: string; connection?: { id: string } };
      const id = data.id ?? data.connection?.id ?? '';
      expect(deletedAt.has(id), `event ${i} for deleted ${id}`).toBe(false);
      if (e.event === 'connection.deleted') deletedAt.set(id, i);
    }
    expect(deletedAt.size).toBe(model.deletedConnections().length);
    const mentioned = new Set(
      model.events().map((e) => {
        const data = e.data as { id?: string; connection?: { id: string } };
        return data.id ?? data.connection?.id;
      }),
    );
    const silent = model.liveConnections().filter((c) => !mentioned.has(c.id));
    expect(silent.length).toBeGreaterThan(0);
    expect(summary.connections).toBe(model.liveConnections().length + model.deletedConnections().length);
  });
});

describe('model semantics', () => {
  it('deletion removes a connection from the listing and reports the state before it', () => {
    const model = new WorkosModel({ clock: fixedClock });
    const a = model.createConnection({ connectionType: 'AzureSAML', domains: ['a.com'] });
    const b = model.createConnection({ connectionType: 'GoogleOAuth' });
    model.activate(a.id);
    const event = model.deleteConnection(a.id);
    expect(event.data).toMatchObject({ id: a.id, state: 'active', domains: [{ domain: 'a.com' }] });
    expect(model.liveConnections().map((c) => c.id)).toEqual([b.id]);
    expect(model.listConnections({}).data.map((c) => c.id)).toEqual([b.id]);
    expect(model.deletedConnections()).toMatchObject([{ connection: { id: a.id, state: 'active' } }]);
    expect(() => model.getConnection(a.id)).toThrow(/not found/i);
    // A cursor on a connection deleted since still pages from the same place.
    expect(model.listConnections({ order: 'asc', after: a.id }).data.map((c) => c.id)).toEqual([b.id]);
    expect(model.deleteConnection(b.id, undefined, { withDomains: false }).data).not.toHaveProperty(
      'domains',
    );
  });

  it('renames, domain and state edits change the connection but emit nothing', () => {
    const model = new WorkosModel({ clock: fixedClock });
    const c = model.createConnection({ domains: ['x.com'] });
    expect(c).toMatchObject({ state: 'draft', status: 'unlinked', options: { signing_cert: null } });
    const later = new Date(NOW.getTime() + 1000);
    model.rename(c.id, 'New name', later);
    const edited = model.setDomains(c.id, ['x.com', 'y.com'], later);
    expect(edited.domains[0]?.id).toBe(c.domains[0]?.id);
    expect(model.setState(c.id, 'validating', later)).toMatchObject({
      name: 'New name',
      state: 'validating',
      updated_at: later.toISOString(),
    });
    expect(model.events()).toEqual([]);
    expect(model.createConnection({ connectionType: 'GenericOIDC' })).not.toHaveProperty('options');
  });

  it('renewal_required counts whole days from the event time; renewals and notices feed certificates()', () => {
    const model = new WorkosModel({ clock: fixedClock });
    const c = model.createConnection({ connectionType: 'OktaSAML' });
    const soon = model.requireCertificateRenewal(
      c.id,
      'ResponseSigning',
      new Date(NOW.getTime() + 10.5 * DAY),
    );
    expect(soon.data).toMatchObject({ days_until_expiry: 10, certificate: { is_expired: false } });
    const past = model.requireCertificateRenewal(c.id, 'RequestSigning', new Date(NOW.getTime() - DAY));
    expect(past.data).toMatchObject({ days_until_expiry: 0, certificate: { is_expired: true } });
    const renewed = model.renewCertificate(c.id, 'ResponseSigning', new Date(NOW.getTime() + 365 * DAY));
    expect(renewed.data).toMatchObject({ connection: { id: c.id, organization_id: c.organization_id } });
    expect(model.certificates()).toMatchObject([
      { certificate_type: 'RequestSigning', is_expired: true, renewed_at: null },
      {
        certificate_type: 'ResponseSigning',
        expiry_date: renewed.data.certificate.expiry_date,
        renewed_at: renewed.created_at,
        renewal_required_at: soon.created_at,
        days_until_expiry: 10,
      },
    ]);
  });

  it('keeps event times strictly increasing when the clock stalls or goes back', () => {
    let now = NOW.getTime();
    const model = new WorkosModel({ clock: () => new Date(now) });
    const c = model.createConnection();
    const first = model.activate(c.id);
    const second = model.deactivate(c.id);
    now -= 5000;
    const third = model.activate(c.id);
    expect([first, second, third].map((e) => e.created_at)).toEqual([
      NOW.toISOString(),
      new Date(NOW.getTime() + 1).toISOString(),
      new Date(NOW.getTime() + 2).toISOString(),
    ]);
  });

  it('hides events past retention and rejects cursors that point at them', () => {
    let now = NOW.getTime();
    const model = new WorkosModel({ clock: () => new Date(now), retentionMs: 30 * DAY });
    const c = model.createConnection();
    const old = model.activate(c.id);
    now += 31 * DAY;
    const recent = model.deactivate(c.id);
    expect(model.listEvents({ order: 'asc' }).data.map((e) => e.id)).toEqual([recent.id]);
    expect(() => model.listEvents({ after: old.id, order: 'asc' })).toThrow(UnknownCursorError);
  });
});
