/**
 * `workos-sync run` as deployed: real child processes, real Postgres, the emulator streaming
 * events over HTTP. Replicas and handover, WorkOS and Postgres outages, SIGTERM mid-poll, an
 * expired cursor, health and metrics scraped over HTTP, and no secret in any output.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { runCli } from './support/cli.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { mirrorOf } from './support/mirror.ts';
import { type RestartablePostgres, startFromBinaries } from './support/postgres-server.ts';
import { API_KEY } from './support/sync.ts';
import { startWorkerProcess, until, type WorkerProcess } from './support/worker-process.ts';

const workers: WorkerProcess[] = [];
const emulators: Emulator[] = [];
const databases: TestDatabase[] = [];

afterEach(async () => {
  for (const w of workers.splice(0)) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  for (const e of emulators.splice(0)) await e.close();
  for (const d of databases.splice(0)) await d.close();
});

async function setup(options: { events?: number; seed?: number; model?: WorkosModel } = {}) {
  const model = options.model ?? new WorkosModel({ seed: options.seed ?? 21 });
  if (!options.model) generateScenario(model, { seed: options.seed ?? 21, events: options.events ?? 1_000 });
  const emulator = await startEmulator({ apiKey: API_KEY, model });
  emulators.push(emulator);
  const database = await createTestDatabase({ migrate: false });
  databases.push(database);
  const env = { DATABASE_URL: database.url, WORKOS_API_KEY: API_KEY, WORKOS_API_URL: emulator.url };
  return { model, emulator, database, env };
}

async function worker(env: Record<string, string>): Promise<WorkerProcess> {
  const w = await startWorkerProcess(env);
  workers.push(w);
  return w;
}

/** Event-emitting changes to random connections, as a live WorkOS environment makes them. */
function stream(model: WorkosModel, perTick: number, everyMs: number): () => void {
  let n = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < perTick; i++) {
      n++;
      const live = model.liveConnections();
      if (n % 7 === 0 || live.length < 5) {
        model.activate(model.createConnection({ connectionType: 'OktaSAML', domains: [`s${n}.example`] }).id);
      } else if (n % 31 === 0) {
        model.deleteConnection(String(live[n % live.length]!.id));
      } else if (n % 5 === 0) {
        const c = live[n % live.length]!;
        if (String(c.connection_type).endsWith('SAML'))
          model.renewCertificate(
            String(c.id),
            'ResponseSigning',
            new Date(Date.now() + (n % 400) * 86_400_000),
          );
        else model.deactivate(String(c.id));
      } else {
        const c = live[n % live.length]!;
        if (c.state === 'active') model.deactivate(String(c.id));
        else model.activate(String(c.id));
      }
    }
  }, everyMs);
  return () => clearInterval(timer);
}

const cursorOf = async (d: TestDatabase) =>
  (await d.db.selectFrom('sync_state').select('cursor').where('stream', '=', 'events').executeTakeFirst())
    ?.cursor ?? null;

async function caughtUp(d: TestDatabase, model: WorkosModel, timeoutMs = 60_000) {
  await until(
    async () => (await cursorOf(d).catch(() => null)) === model.events().at(-1)?.id,
    timeoutMs,
    () => 'cursor never reached the last event',
  );
}

/** The final state must equal one uninterrupted, single-worker backfill of the same WorkOS. */
async function expectSameAsCleanRun(d: TestDatabase, env: Record<string, string>, model: WorkosModel) {
  const ids = (await d.db.selectFrom('events').select('id').orderBy('seq').execute()).map((r) => r.id);
  expect(ids).toEqual(model.events().map((e) => e.id));
  const clean = await createTestDatabase({ migrate: false });
  databases.push(clean);
  const run = await runCli(['backfill'], { ...env, DATABASE_URL: clean.url });
  expect(run.code).toBe(0);
  const [got, want] = [await mirrorOf(d.db), await mirrorOf(clean.db)].map((m) => {
    // A certificate learned from an earlier listing for a connection deleted since is kept by
    // one run and never seen by the other; what users see (views) covers live connections only.
    const deleted = new Set(m.connections.filter((c) => c.deleted).map((c) => c.id));
    return { ...m, certificates: m.certificates.filter((c) => !deleted.has(c.connection_id)) };
  }) as [Awaited<ReturnType<typeof mirrorOf>>, Awaited<ReturnType<typeof mirrorOf>>];
  for (const key of ['connections', 'domains', 'certificates'] as const) {
    const a = new Set(got[key].map((x) => JSON.stringify(x)));
    const b = new Set(want[key].map((x) => JSON.stringify(x)));
    const onlyGot = [...a].filter((x) => !b.has(x)).slice(0, 2);
    const onlyWant = [...b].filter((x) => !a.has(x)).slice(0, 2);
    expect({ key, onlyGot, onlyWant }).toEqual({ key, onlyGot: [], onlyWant: [] });
  }
}

describe('a single worker', () => {
  it(
    'polls, reports health and metrics, stops cleanly on SIGTERM and resumes from its cursor',
    { timeout: 120_000 },
    async () => {
      const { model, database, env } = await setup({ events: 1_500 });
      const password = 'pw_worker_secret_31';
      const url = new URL(database.url);
      url.password = password;
      const w = await worker({ ...env, DATABASE_URL: url.toString(), LOG_LEVEL: 'debug' });

      await caughtUp(database, model);
      await until(async () => (await fetch(`${w.url}/readyz`)).status === 200, 10_000);
      expect(await (await fetch(`${w.url}/healthz`)).json()).toEqual({ status: 'ok' });
      expect(await w.metric('workos_sync_lease_held', { lease: 'events' })).toBe(1);
      await until(async () => ((await w.metric('workos_sync_pages_fetched_total')) ?? 0) >= 15, 10_000);
      const recorded = await database.db.selectFrom('events').select(['event', 'outcome']).execute();
      const applied = recorded.filter(
        (e) => e.event === 'connection.activated' && e.outcome === 'applied',
      ).length;
      expect(
        await w.metric('workos_sync_events_total', { type: 'connection.activated', outcome: 'applied' }),
      ).toBe(applied);
      const live = await database.db.selectFrom('live_connections').select('id').execute();
      expect(await w.metric('workos_sync_connections', { state: 'live' })).toBe(live.length);
      expect(await w.metric('workos_sync_reconciliations_total', { result: 'ok', dry_run: 'false' })).toBe(1); // a new mirror starts from the listing

      const stop = stream(model, 5, 50);
      await sleep(1_500);
      stop();
      await caughtUp(database, model);
      expect(await w.metric('workos_sync_lag_seconds')).toBeLessThan(5);

      w.child.kill('SIGTERM');
      const result = await w.exited;
      expect(result.code).toBe(0);
      expect(await database.db.selectFrom('leases').selectAll().execute()).toEqual([]);
      const logs = w.logs();
      expect(logs).not.toContain(API_KEY);
      expect(logs).not.toContain(password);
      // Once each: the events lease held throughout, the reconcile lease for the first listing.
      expect(logs.match(/"lease":"events"[^\n]*"msg":"lease acquired"/g)).toHaveLength(1);
      expect(logs.match(/"lease":"reconcile"[^\n]*"msg":"lease acquired"/g)).toHaveLength(1);
      for (const line of logs.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();

      const status = await runCli(['status', '--json'], {
        ...env,
        DATABASE_URL: url.toString(),
        LOG_LEVEL: 'debug',
      });
      expect(status.stdout + status.stderr).not.toContain(password);
      expect(status.stdout + status.stderr).not.toContain(API_KEY);

      // the next start continues from the cursor
      model.activate(model.createConnection({ domains: ['after-restart.example'] }).id);
      const again = await worker(env);
      await caughtUp(database, model);
      again.child.kill('SIGTERM');
      expect((await again.exited).code).toBe(0);
      await expectSameAsCleanRun(database, env, model);
    },
  );
});

describe('replicas', () => {
  it(
    'exactly one polls; killing it hands over within one lease period; the result equals a single worker`s',
    { timeout: 180_000 },
    async () => {
      const { model, database, env } = await setup({ events: 800, seed: 22 });
      const a = await worker(env);
      await until(async () => (await a.metric('workos_sync_lease_held', { lease: 'events' })) === 1, 20_000);
      const b = await worker(env);
      const stop = stream(model, 6, 20);
      try {
        for (let i = 0; i < 10; i++) {
          await sleep(200);
          expect(await b.metric('workos_sync_lease_held', { lease: 'events' })).toBe(0);
          expect(await b.metric('workos_sync_pages_fetched_total')).toBe(0);
        }
        const eventsLease = () =>
          database.db.selectFrom('leases').selectAll().where('name', '=', 'events').executeTakeFirstOrThrow();
        const lease = await eventsLease();
        a.child.kill('SIGKILL');
        await a.exited;
        const expiresAt = (await eventsLease()).expires_at;
        await until(
          async () => (await b.metric('workos_sync_lease_held', { lease: 'events' })) === 1,
          20_000,
        );
        const taken = await eventsLease();
        expect(taken.holder).not.toBe(lease.holder);
        // B's first tick after A's lease expired took it: within one poll period (1 s) of the expiry.
        expect(taken.acquired_at.getTime() - expiresAt.getTime()).toBeLessThanOrEqual(1_000 + 250);
        expect(taken.acquired_at.getTime() - expiresAt.getTime()).toBeGreaterThanOrEqual(0);
        await sleep(1_500);
      } finally {
        stop();
      }
      await caughtUp(database, model);
      // counted when B's tick ends, a moment after its last page committed
      await until(async () => ((await b.metric('workos_sync_pages_fetched_total')) ?? 0) > 0, 10_000);
      b.child.kill('SIGTERM');
      expect((await b.exited).code).toBe(0);
      await expectSameAsCleanRun(database, env, model);
    },
  );
});

describe('a paused replica', () => {
  it(
    'stopped idle in its page transaction: the standby applies within a lease period plus the idle timeout; resumed, it writes nothing, says so once and stands by',
    { timeout: 180_000 },
    async () => {
      const { model, database, env } = await setup({ events: 300, seed: 28 });
      // Lease 9 s: the idle-in-transaction timeout is 9 s, lock_timeout 3 s (db/session-limits.ts),
      // the time the test has to stop A and release its lock before A's wait gives up.
      const leaseMs = 9_000;
      const idleTimeoutMs = leaseMs;
      const named = (name: string) => {
        const url = new URL(database.url);
        url.searchParams.set('application_name', name);
        return { ...env, DATABASE_URL: url.toString(), WORKOS_SYNC_LEASE_SECONDS: String(leaseMs / 1000) };
      };
      const a = await worker(named('workos-sync-a'));
      await caughtUp(database, model);
      expect(await a.metric('workos_sync_lease_held', { lease: 'events' })).toBe(1);
      const b = await worker(named('workos-sync-b'));
      const failedPolls = (await a.metric('workos_sync_polls_total', { result: 'failed' })) ?? 0;

      // A test session locks the events table, so A's next page transaction blocks on its first
      // insert there — after lockCursor has locked the cursor row.
      const admin = new pg.Client({ connectionString: database.url });
      await admin.connect();
      try {
        await admin.query('begin');
        await admin.query('lock table workos.events in exclusive mode');
        model.activate(model.createConnection({ domains: ['before-pause.example'] }).id);
        const sessionOf = async (name: string, where: string) =>
          (
            await admin.query<{ pid: number; state: string; state_change: Date }>(
              `select pid, state, state_change from pg_stat_activity where application_name = $1 and ${where}`,
              [name],
            )
          ).rows[0];
        let blocked: { pid: number } | undefined;
        await until(
          async () => {
            blocked = await sessionOf('workos-sync-a', `wait_event_type = 'Lock'`);
            return blocked !== undefined;
          },
          30_000,
          () => 'A never blocked on the test`s lock',
        );
        const holdsCursor = await admin.query(
          `select 1 from pg_locks l join pg_class c on c.oid = l.relation
            where l.pid = $1 and c.relname = 'sync_state' and l.mode = 'RowShareLock' and l.granted`,
          [blocked!.pid],
        );
        expect(holdsCursor.rowCount).toBe(1);

        // Stop A mid-transaction, then let its statement finish: its session is now idle in a
        // transaction that holds the cursor row, and its client will not say another word.
        await stopProcess(a.child.pid!);
        const pausedAt = (await admin.query<{ now: Date }>('select clock_timestamp() as now')).rows[0]!.now;
        await admin.query('commit');
        await until(
          async () =>
            (await sessionOf('workos-sync-a', `pid = ${blocked!.pid}`))?.state === 'idle in transaction',
          10_000,
          () => 'A`s session never went idle in transaction',
        );

        // WorkOS goes on changing; the standby must apply it.
        const c = model.createConnection({ domains: ['after-pause.example'] });
        model.activate(c.id);
        const newest = String(model.events().at(-1)!.id);
        const applied = () =>
          database.db.selectFrom('events').select('received_at').where('id', '=', newest).executeTakeFirst();
        await until(
          async () => (await applied()) !== undefined,
          60_000,
          () => 'the standby never applied',
        );
        const appliedAt = (await applied())!.received_at;
        expect(appliedAt.getTime() - pausedAt.getTime()).toBeLessThanOrEqual(leaseMs + idleTimeoutMs);
        // Postgres ended A's session; B holds the lease.
        expect(await sessionOf('workos-sync-a', `pid = ${blocked!.pid}`)).toBeUndefined();
        const lease = await database.db
          .selectFrom('leases')
          .selectAll()
          .where('name', '=', 'events')
          .executeTakeFirstOrThrow();
        expect(lease.holder).toContain(`:${b.child.pid}:`);
        await caughtUp(database, model);

        // A wakes up.
        const before = { events: await eventIds(database), cursor: await cursorOf(database) };
        const logsBefore = a.logs().length;
        a.child.kill('SIGCONT');
        await until(
          async () => ((await a.metric('workos_sync_polls_total', { result: 'failed' })) ?? 0) > failedPolls,
          30_000,
          () => `A's interrupted poll never ended:\n${a.logs().slice(logsBefore)}`,
        );
        expect(a.child.exitCode).toBeNull();
        expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
        expect(await a.metric('workos_sync_lease_held', { lease: 'events' })).toBe(0);
        expect({ events: await eventIds(database), cursor: await cursorOf(database) }).toEqual(before);
        const woke = jsonLines(a.logs().slice(logsBefore));
        const loud = woke.filter((l) => Number(l.level) >= 40);
        expect(loud.map((l) => l.msg)).toEqual([
          expect.stringMatching(/^lease lost: this process went unconfirmed/),
        ]);
        expect(woke.map((l) => l.msg)).not.toContain('waiting out a transient failure');

        // It is a standby again: when B stops cleanly, A takes over at once and applies.
        b.child.kill('SIGTERM');
        expect((await b.exited).code).toBe(0);
        await until(
          async () => (await a.metric('workos_sync_lease_held', { lease: 'events' })) === 1,
          20_000,
        );
        model.deactivate(c.id);
        await caughtUp(database, model);
        a.child.kill('SIGTERM');
        expect((await a.exited).code).toBe(0);
        await expectSameAsCleanRun(database, env, model);
      } finally {
        await admin.end().catch(() => undefined);
      }
    },
  );
});

describe('outages', () => {
  it(
    'waits out a WorkOS outage (429 storm, 500s, a hang past the timeout) without a restart',
    { timeout: 120_000 },
    async () => {
      const { model, emulator, database, env } = await setup({ events: 500, seed: 23 });
      const w = await worker({ ...env, WORKOS_SYNC_REQUEST_TIMEOUT_SECONDS: '1' });
      await caughtUp(database, model);
      emulator.faults.add({ kind: 'status', status: 429, retryAfter: 1, path: '/events', times: 6 });
      emulator.faults.add({ kind: 'status', status: 500, path: '/events', times: 4 });
      emulator.faults.add({ kind: 'hang', path: '/events' });
      const stop = stream(model, 3, 50);
      await sleep(2_000);
      stop();
      await caughtUp(database, model, 90_000);
      expect(emulator.faults.pending()).toEqual([]);
      expect(w.child.exitCode).toBeNull();
      expect(await w.metric('workos_sync_api_errors_total', { kind: 'rate_limited' })).toBeGreaterThanOrEqual(
        1,
      );
      // once per change of state, not once per attempt
      const waits = w.logs().match(/"msg":"waiting out a transient failure"/g) ?? [];
      expect(waits.length).toBeGreaterThanOrEqual(1);
      expect(waits.length).toBeLessThanOrEqual(6);
      w.child.kill('SIGTERM');
      expect((await w.exited).code).toBe(0);
      await expectSameAsCleanRun(database, env, model);
    },
  );

  describe('Postgres', () => {
    let server: RestartablePostgres;
    beforeAll(async () => {
      server = await startFromBinaries();
    });
    afterAll(() => server.stop());

    it('waits out Postgres going away mid-run and coming back', { timeout: 120_000 }, async () => {
      const model = new WorkosModel({ seed: 24 });
      generateScenario(model, { seed: 24, events: 500 });
      const emulator = await startEmulator({ apiKey: API_KEY, model });
      emulators.push(emulator);
      const env = { DATABASE_URL: server.url, WORKOS_API_KEY: API_KEY, WORKOS_API_URL: emulator.url };
      const w = await worker(env);
      const handle = await createTestDatabaseOn(server.url);
      await caughtUp(handle, model);

      const stop = stream(model, 3, 50);
      await sleep(500);
      await server.pause();
      await sleep(1_000);
      expect((await fetch(`${w.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${w.url}/readyz`)).status).toBe(503);
      await sleep(2_000);
      await server.resume();
      await sleep(1_000);
      stop();
      await caughtUp(handle, model, 60_000);
      expect(w.child.exitCode).toBeNull();
      await until(async () => (await fetch(`${w.url}/readyz`)).status === 200, 10_000);
      w.child.kill('SIGTERM');
      expect((await w.exited).code).toBe(0);
      const ids = (await handle.db.selectFrom('events').select('id').orderBy('seq').execute()).map(
        (r) => r.id,
      );
      expect(ids).toEqual(model.events().map((e) => e.id));
      await handle.close();
    });
  });
});

describe('shutdown and recovery', () => {
  it(
    'SIGTERM during a poll: exit 0, nothing half-written, the next start continues',
    { timeout: 120_000 },
    async () => {
      const { model, emulator, database, env } = await setup({ events: 400, seed: 25 });
      const w = await worker(env);
      await caughtUp(database, model);
      for (let i = 0; i < 150; i++) model.activate(model.createConnection({ domains: [`t${i}.example`] }).id);
      emulator.faults.add({ kind: 'delay', ms: 1_500, path: '/events' });
      await until(() => emulator.requests.some((r) => r.path === '/events' && r.status === 0), 10_000);
      w.child.kill('SIGTERM');
      const result = await w.exited;
      expect(result.code).toBe(0);
      const recorded = (await database.db.selectFrom('events').select('id').orderBy('seq').execute()).map(
        (r) => r.id,
      );
      // whole pages only, in order
      expect(recorded).toEqual(
        model
          .events()
          .slice(0, recorded.length)
          .map((e) => e.id),
      );
      expect(await cursorOf(database)).toBe(recorded.at(-1));
      const again = await worker(env);
      await caughtUp(database, model);
      again.child.kill('SIGTERM');
      expect((await again.exited).code).toBe(0);
      await expectSameAsCleanRun(database, env, model);
    },
  );

  it(
    'SIGTERM while WorkOS is failing: the same clean stop as mid-poll, not "poll failed"',
    { timeout: 120_000 },
    async () => {
      const { model, emulator, database, env } = await setup({ events: 200, seed: 27 });
      const w = await worker({ ...env, WORKOS_SYNC_REQUEST_TIMEOUT_SECONDS: '1' });
      await caughtUp(database, model);
      const cursor = await cursorOf(database);
      // Every /events request now hangs past its deadline: an outage the worker is waiting out,
      // and the signal comes while a failing attempt is still in flight.
      emulator.faults.add({ kind: 'hang', path: '/events', times: 1_000 });
      const from = emulator.requests.length;
      model.activate(model.createConnection({ domains: ['outage.example'] }).id);
      // a request that arrived after the fault, so one that hangs (not a normal poll finishing)
      await until(
        () => emulator.requests.slice(from).some((r) => r.path === '/events' && r.status === 0),
        10_000,
      );
      w.child.kill('SIGTERM');
      const result = await w.exited;
      expect(result.code).toBe(0);
      const lines = jsonLines(w.logs());
      expect(lines.filter((l) => Number(l.level) >= 50)).toEqual([]);
      expect(lines.map((l) => l.msg)).not.toContain('poll failed; will try again on the next tick');
      expect(lines.at(-1)?.msg).toBe('worker stopped');
      expect(await cursorOf(database)).toBe(cursor);
      expect(await database.db.selectFrom('leases').selectAll().execute()).toEqual([]);
    },
  );

  it(
    'recovers from a cursor the Events API rejects (expired past retention)',
    { timeout: 120_000 },
    async () => {
      let now = Date.UTC(2026, 9, 1);
      const model = new WorkosModel({ seed: 26, clock: () => new Date(now), retentionMs: 30 * 86_400_000 });
      generateScenario(model, {
        seed: 26,
        events: 300,
        start: new Date(now - 20 * 86_400_000),
        end: new Date(now),
      });
      const { emulator, database, env } = await setup({ model });
      const w = await worker(env);
      await caughtUp(database, model);
      w.child.kill('SIGTERM');
      await w.exited;

      // 40 days pass: every event the cursor knows is past retention; WorkOS changed meanwhile.
      now += 40 * 86_400_000;
      const live = model.liveConnections();
      model.rename(String(live[0]!.id), 'Renamed during the gap');
      model.activate(model.createConnection({ name: 'Born after the gap', domains: ['gap.example'] }).id);

      const again = await worker(env);
      await until(async () => (await again.metric('workos_sync_cursor_recoveries_total')) === 1, 30_000);
      await caughtUp(database, model);
      expect(again.logs()).toMatch(/the Events API rejected the stored cursor/);
      const status = JSON.parse((await runCli(['status', '--json'], env)).stdout);
      expect(status.lastRecovery.reason).toMatch(/rejected by the Events API/);
      const renamed = await database.db
        .selectFrom('connections')
        .select('name')
        .where('id', '=', String(live[0]!.id))
        .executeTakeFirstOrThrow();
      expect(renamed.name).toBe('Renamed during the gap');
      expect(
        await database.db
          .selectFrom('live_connections')
          .select('id')
          .where('name', '=', 'Born after the gap')
          .execute(),
      ).toHaveLength(1);
      // confirmed before it was recovered: refused with the cursor, answered without it
      const refused = emulator.requests.findIndex((r) => r.path === '/events' && r.status === 400);
      expect(emulator.requests[refused]?.query.after).toBeDefined();
      expect(emulator.requests[refused + 1]).toMatchObject({ path: '/events', status: 200 });
      expect(emulator.requests[refused + 1]?.query.after).toBeUndefined();
      again.child.kill('SIGTERM');
      expect((await again.exited).code).toBe(0);
    },
  );
});

const eventIds = async (d: TestDatabase) =>
  (await d.db.selectFrom('events').select('id').orderBy('seq').execute()).map((r) => r.id);

/** SIGSTOP, and wait until every thread of the process has stopped. */
async function stopProcess(pid: number): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  const state = (task: string) => {
    const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  };
  await until(() => readdirSync(`/proc/${pid}/task`).every((task) => state(task) === 'T'), 10_000);
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function createTestDatabaseOn(url: string): Promise<TestDatabase> {
  const { openDatabase } = await import('../src/db/connect.ts');
  const { loadConfig } = await import('../src/config.ts');
  const { silentLogger } = await import('./support/logs.ts');
  const handle = await openDatabase(loadConfig({ DATABASE_URL: url }).database, silentLogger());
  const { DEFAULT_ENVIRONMENT, scopedToEnvironment } = await import('../src/db/environment-scope.ts');
  return {
    url,
    schema: 'workos',
    db: scopedToEnvironment(handle.db, 'workos', DEFAULT_ENVIRONMENT),
    whole: handle.db,
    environment: (name) => scopedToEnvironment(handle.db, 'workos', name),
    handle,
    reset: async () => {},
    close: () => handle.close(),
  };
}
