/**
 * Every environment's status at once (`readStatuses`, sync/status.ts), on a real Postgres with a
 * thousand environments' rows: each environment's counts, cursor, lag, lease, last poll error and
 * last reconciliation are its own; the declared ones with no rows are listed too; one environment's
 * entry is exactly what `readStatus` says on its handle; and the read is the same ten statements
 * whatever the number of environments.
 */
import { type KyselyPlugin, sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readStatus, readStatuses } from '../src/sync/status.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

const COUNT = 1_000;
const names = Array.from({ length: COUNT }, (_, i) => `env-${String(i).padStart(4, '0')}`);
const NOW = new Date();

let t: TestDatabase;

/** What environment i's rows are (the seed below writes them so). */
function expected(i: number) {
  const connections = (i % 4) + 1;
  const deleted = i % 2 === 0 ? 1 : 0;
  const live = connections - deleted;
  return {
    cursor: `event_${i}`,
    lagSeconds: i,
    lastPollError: i % 7 === 0 ? `boom ${i}` : null,
    lease: i % 3 === 0 ? { holder: `replica-${i % 5}`, expired: i % 2 === 1 } : null,
    counts: {
      connections,
      liveConnections: live,
      deletedConnections: deleted,
      domains: i % 3,
      // one certificate per live connection: the first expires within 14 days, the rest in 100
      certificates: live,
      organizations: (i % 2) + 1,
      liveOrganizations: (i % 2) + 1,
      deletedOrganizations: 0,
      organizationDomains: i % 2 === 0 ? { verified: 1 } : { verified: 1, pending: 1 },
      events: { applied: i % 5, stale: 2, ignored: 0, quarantined: i % 10 === 0 ? 1 : 0 },
    },
    quarantined: i % 10 === 0 ? 1 : 0,
    expiringCertificates: { within14Days: Math.min(live, 1), within30Days: Math.min(live, 1), expired: 0 },
    lastReconciliation: { id: String(3 * i + 3), status: i % 4 === 0 ? 'failed' : 'succeeded', seen: i },
  };
}

beforeAll(async () => {
  t = await createTestDatabase();
  const s = (table: string) => sql.table(`${t.schema}.${table}`);
  const at = NOW.toISOString();
  const envs = sql`(select i, 'env-' || lpad(i::text, 4, '0') as e from generate_series(0, ${COUNT - 1}) as i)`;
  await sql`insert into ${s('sync_state')} (environment, stream, cursor, cursor_updated_at, last_event_created_at, last_poll_at, last_poll_error, caught_up_at)
    select e, 'events', 'event_' || i, ${at}::timestamptz, ${at}::timestamptz, ${at}::timestamptz,
      case when i % 7 = 0 then 'boom ' || i end, ${at}::timestamptz - i * interval '1 second'
    from ${envs} v
    union all select e, 'reconciliation', null, null, null, null, null, null from ${envs} v`.execute(t.whole);
  await sql`insert into ${s('leases')} (environment, name, holder, acquired_at, expires_at)
    select e, 'events', 'replica-' || (i % 5), ${at}::timestamptz,
      ${at}::timestamptz + case when i % 2 = 0 then interval '30 seconds' else interval '-30 seconds' end
    from ${envs} v where i % 3 = 0`.execute(t.whole);
  await sql`insert into ${s('connections')} (environment, id, connection_type, name, state, updated_at, deleted_at, raw, source)
    select e, 'conn_' || n, 'OktaSAML', 'c' || n, 'active', ${at}::timestamptz,
      case when n = 0 and i % 2 = 0 then ${at}::timestamptz end, '{}', 'event'
    from ${envs} v, generate_series(0, i % 4) as n`.execute(t.whole);
  await sql`insert into ${s('connection_domains')} (environment, id, connection_id, domain)
    select e, 'dom_' || n, 'conn_1', 'd' || n || '.example'
    from ${envs} v, generate_series(1, i % 3) as n`.execute(t.whole);
  await sql`insert into ${s('connection_certificates')} (environment, connection_id, certificate_type, expiry_date, version_at, source)
    select c.environment, c.id, 'ResponseSigning',
      ${at}::timestamptz + case when c.id = (select min(id) from ${s('connections')} l where l.environment = c.environment and l.deleted_at is null)
        then interval '10 days' else interval '100 days' end,
      ${at}::timestamptz, 'event'
    from ${s('connections')} c where c.deleted_at is null`.execute(t.whole);
  await sql`insert into ${s('organizations')} (environment, id, name, updated_at, raw, source)
    select e, 'org_' || n, 'o' || n, ${at}::timestamptz, '{}', 'event'
    from ${envs} v, generate_series(0, i % 2) as n`.execute(t.whole);
  await sql`insert into ${s('organization_domains')} (environment, id, organization_id, domain, state, updated_at, source)
    select e, 'org_dom_' || n, 'org_' || n, 'o' || n || '.example', case when n = 0 then 'verified' else 'pending' end,
      ${at}::timestamptz, 'event'
    from ${envs} v, generate_series(0, i % 2) as n`.execute(t.whole);
  await sql`insert into ${s('events')} (environment, id, event, outcome)
    select e, 'event_' || i || '_' || n, 'connection.activated',
      case when n < i % 5 then 'applied' when n < i % 5 + 2 then 'stale' else 'quarantined' end
    from ${envs} v, generate_series(0, i % 5 + 1 + case when i % 10 = 0 then 1 else 0 end) as n`.execute(
    t.whole,
  );
  // Three runs each, ids 3i+1 .. 3i+3: the newest (by id) is the last.
  await sql`insert into ${s('reconciliation_runs')} (environment, id, started_at, finished_at, status, seen)
    select e, 3 * i + n, ${at}::timestamptz, ${at}::timestamptz,
      case when n = 3 and i % 4 = 0 then 'failed' else 'succeeded' end, case when n = 3 then i else 0 end
    from ${envs} v, generate_series(1, 3) as n`.execute(t.whole);
  await sql`analyze`.execute(t.whole);
}, 120_000);

afterAll(() => t?.close());

/** Counts the statements a handle runs. */
function counting() {
  let statements = 0;
  const plugin: KyselyPlugin = {
    transformQuery(args) {
      statements++;
      return args.node;
    },
    async transformResult(args) {
      return args.result;
    },
  };
  return { db: t.whole.withPlugin(plugin), statements: () => statements };
}

it('a thousand environments: each its own counts, cursor, lag, lease and last reconciliation, in ten statements', async () => {
  const { db, statements } = counting();
  const started = performance.now();
  const all = await readStatuses(db, { environments: ['never-started', 'env-0001'], now: NOW });
  const elapsed = performance.now() - started;
  console.log(
    `readStatuses over ${COUNT + 2} environments: ${elapsed.toFixed(0)} ms, ${statements()} statements`,
  );
  expect(statements()).toBe(10);

  // Sorted by name: the thousand, `default` (the migrations' rows) and the declared one with none.
  expect(all.map((e) => e.environment)).toEqual([...names, 'default', 'never-started'].sort());
  for (const [i, name] of names.entries()) {
    const entry = all.find((e) => e.environment === name)!;
    const want = expected(i);
    expect(entry, name).toMatchObject({
      environment: name,
      declared: name === 'env-0001',
      started: true,
      cursor: want.cursor,
      lagSeconds: want.lagSeconds,
      lastPollError: want.lastPollError,
      counts: want.counts,
      quarantined: want.quarantined,
      expiringCertificates: want.expiringCertificates,
      lastReconciliation: want.lastReconciliation,
    });
    expect(entry.lease && { holder: entry.lease.holder, expired: entry.lease.expired }, name).toEqual(
      want.lease,
    );
  }
  expect(all.find((e) => e.environment === 'never-started')).toMatchObject({
    declared: true,
    started: false,
    cursor: null,
    lease: null,
    lastReconciliation: null,
    quarantined: 0,
    counts: { connections: 0, events: { applied: 0, stale: 0, ignored: 0, quarantined: 0 } },
  });
}, 60_000);

it("one environment's entry is what readStatus says on its handle", async () => {
  const all = await readStatuses(t.whole, { now: NOW });
  for (const name of ['env-0000', 'env-0003', 'env-0010', 'env-0999', 'default']) {
    const { environment, declared: _d, started: _s, ...entry } = all.find((e) => e.environment === name)!;
    expect(await readStatus(t.environment(environment), NOW)).toEqual(entry);
  }
  // and one environment's read stays its own: readStatus refuses the whole mirror's handle
  await expect(readStatus(t.whole, NOW)).rejects.toThrow(/one environment's handle/);
});

it("one environment's read, on its handle, is the same ten statements", async () => {
  let statements = 0;
  const db = t.environment('env-0005').withPlugin({
    transformQuery(args) {
      statements++;
      return args.node;
    },
    async transformResult(args) {
      return args.result;
    },
  });
  expect(await readStatus(db, NOW)).toMatchObject({ cursor: 'event_5', counts: expected(5).counts });
  expect(statements).toBe(10);
});
