/**
 * Property: any stream of the five connection events — with re-deliveries, ties in updated_at,
 * out-of-order versions and page boundaries anywhere — applied through the real apply step on
 * a real Postgres, leaves the same tables as a plain one-event-at-a-time model of the rules.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applyPage } from '../src/sync/events/apply-page.ts';
import { readCursor } from '../src/sync/events/cursor.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { certificateEvent, connectionEvent } from './support/events.ts';
import { silentLogger } from './support/logs.ts';

let t: TestDatabase;
const log = silentLogger();

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());

const day = (n: number) => new Date(Date.UTC(2024, 0, 1 + n)).toISOString();
const CONNECTIONS = ['conn_a', 'conn_b', 'conn_c'];
const CERT_TYPES = ['ResponseSigning', 'RequestSigning', 'ResponseEncryption'];

type Spec =
  | {
      kind: 'connection.activated' | 'connection.deactivated' | 'connection.deleted';
      conn: number;
      version: number;
      at: number;
      name: number;
      domains: number[] | null;
    }
  | {
      kind: 'connection.saml_certificate_renewed' | 'connection.saml_certificate_renewal_required';
      conn: number;
      type: number;
      expiry: number;
      at: number;
    };

const connectionSpec = fc.record({
  kind: fc.constantFrom(
    'connection.activated' as const,
    'connection.deactivated' as const,
    'connection.deleted' as const,
  ),
  conn: fc.nat(2),
  version: fc.nat(5),
  at: fc.nat(20),
  name: fc.nat(3),
  domains: fc.option(fc.uniqueArray(fc.nat(4), { maxLength: 3 }), { nil: null }),
});
const certificateSpec = fc.record({
  kind: fc.constantFrom(
    'connection.saml_certificate_renewed' as const,
    'connection.saml_certificate_renewal_required' as const,
  ),
  conn: fc.nat(2),
  type: fc.nat(2),
  expiry: fc.nat(6),
  at: fc.nat(20),
});

/** Events, then some of them delivered again (same id, same payload) at random places. */
const streamArb = fc
  .array(fc.oneof(connectionSpec, certificateSpec) as fc.Arbitrary<Spec>, { minLength: 1, maxLength: 30 })
  .chain((specs) =>
    fc.record({
      specs: fc.constant(specs),
      repeats: fc.array(fc.tuple(fc.nat(specs.length - 1), fc.nat(specs.length)), { maxLength: 6 }),
      cuts: fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 40 }),
    }),
  );

let run = 0;
function toEvents(specs: Spec[]) {
  run++;
  return specs.map((s, i) => {
    const id = `event_p${run}_${i}`;
    if (s.kind.startsWith('connection.saml')) {
      const c = s as Extract<Spec, { type: number }>;
      return certificateEvent(
        c.kind,
        {
          connection_id: CONNECTIONS[c.conn],
          certificate_type: CERT_TYPES[c.type],
          expiry_date: day(100 + c.expiry),
          created_at: day(c.at),
          days: c.expiry,
          is_expired: false,
        },
        { id },
      );
    }
    const c = s as Extract<Spec, { version: number }>;
    return connectionEvent(
      c.kind,
      {
        id: CONNECTIONS[c.conn],
        updated_at: day(c.version),
        name: `name${c.name}`,
        domains:
          c.domains === null
            ? undefined
            : c.domains.map((d) => ({ id: `dom_${c.conn}_${d}`, domain: `d${d}.example` })),
      },
      { id, created_at: day(c.at) },
    );
  });
}

/** The rules, one event at a time, no batching, no SQL. */
function model(events: ReturnType<typeof toEvents>) {
  const seen = new Set<string>();
  const connections = new Map<
    string,
    { state: string; name: string; updated_at: string; deleted_at: string | null; domains: string[] | null }
  >();
  const certificates = new Map<string, { expiry_date: string; version: string }>();
  const outcomes: string[] = [];
  for (const e of events) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    // biome-ignore lint/suspicious/noExplicitAny: the model reads payloads loosely.
    const data = e.data as Record<string, any>;
    if (e.event.startsWith('connection.saml')) {
      const key = `${data.connection.id}/${data.certificate.certificate_type}`;
      const stored = certificates.get(key);
      if (stored && stored.version > e.created_at) outcomes.push('stale');
      else {
        certificates.set(key, { expiry_date: data.certificate.expiry_date, version: e.created_at });
        outcomes.push('applied');
      }
      continue;
    }
    const stored = connections.get(data.id);
    const domains = data.domains ? data.domains.map((d: { id: string }) => d.id).sort() : null;
    if (stored?.deleted_at) {
      outcomes.push('stale');
    } else if (e.event === 'connection.deleted') {
      if (stored && stored.updated_at > data.updated_at) stored.deleted_at = e.created_at;
      else
        connections.set(data.id, {
          state: data.state,
          name: data.name,
          updated_at: data.updated_at,
          deleted_at: e.created_at,
          domains: domains ?? stored?.domains ?? null,
        });
      outcomes.push('applied');
    } else if (stored && stored.updated_at > data.updated_at) {
      outcomes.push('stale');
    } else {
      connections.set(data.id, {
        state: data.state,
        name: data.name,
        updated_at: data.updated_at,
        deleted_at: null,
        domains: domains ?? stored?.domains ?? null,
      });
      outcomes.push('applied');
    }
  }
  return { connections, certificates, outcomes };
}

async function actual() {
  const connections = await t.db.selectFrom('connections').selectAll().orderBy('id').execute();
  const domains = await t.db.selectFrom('connection_domains').selectAll().execute();
  const certificates = await t.db.selectFrom('connection_certificates').selectAll().execute();
  const outcomes = (await t.db.selectFrom('events').select('outcome').orderBy('seq').execute()).map(
    (e) => e.outcome,
  );
  return { connections, domains, certificates, outcomes };
}

it('random event streams match the one-at-a-time model', { timeout: 240_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(streamArb, async ({ specs, repeats, cuts }) => {
      await t.reset();
      const events = toEvents(specs);
      const delivered = [...events];
      for (const [from, to] of repeats) delivered.splice(to, 0, events[from]!);

      let offset = 0;
      for (let i = 0; offset < delivered.length; i++) {
        const size = cuts[i % cuts.length]!;
        const page = delivered.slice(offset, offset + size);
        offset += size;
        const expectedCursor = await readCursor(t.db);
        await applyPage({ db: t.db, log }, { expectedCursor, nextCursor: page.at(-1)!.id, events: page });
      }

      const expected = model(delivered);
      const got = await actual();
      expect(got.outcomes).toEqual(expected.outcomes);
      expect(got.connections.map((c) => c.id)).toEqual([...expected.connections.keys()].sort());
      for (const row of got.connections) {
        const want = expected.connections.get(row.id)!;
        expect({
          state: row.state,
          name: row.name,
          updated_at: row.updated_at.toISOString(),
          deleted_at: row.deleted_at?.toISOString() ?? null,
        }).toEqual({
          state: want.state,
          name: want.name,
          updated_at: want.updated_at,
          deleted_at: want.deleted_at,
        });
        const domainIds = got.domains
          .filter((d) => d.connection_id === row.id)
          .map((d) => d.id)
          .sort();
        expect(domainIds).toEqual(want.domains ?? []);
      }
      expect(got.certificates.length).toBe(expected.certificates.size);
      for (const cert of got.certificates) {
        const want = expected.certificates.get(`${cert.connection_id}/${cert.certificate_type}`)!;
        expect({ expiry: cert.expiry_date.toISOString(), version: cert.version_at.toISOString() }).toEqual({
          expiry: want.expiry_date,
          version: want.version,
        });
      }
      expect(await readCursor(t.db)).toBe(delivered.at(-1)!.id);
    }),
    { numRuns: 60 },
  );
});
