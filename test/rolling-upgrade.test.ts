/**
 * The rolling upgrade from the previous release, that release built from the git history
 * (test/support/previous-release.ts) and run as it shipped. Its two replicas run `workos-sync run`
 * while this release's `migrate` applies the expand migration (0006) and leaves the contract one
 * (0007); two replicas of this release start beside them; the old ones stop one by one, the
 * contract migration refused while the last of them holds the events lease. All real processes
 * on a real Postgres, against the emulator, with events arriving throughout: nothing lost or
 * applied twice, the cursor never moving back, no second backfill, and the mirror equal to the
 * emulator's connections.
 */
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { migrateToLatest, pendingMigrations } from '../src/db/migrate.ts';
import { runCli } from './support/cli.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { mirrorOf } from './support/mirror.ts';
import { checkoutRelease, type Release } from './support/previous-release.ts';
import { API_KEY } from './support/sync.ts';
import { startWorkerProcess, until, type WorkerProcess } from './support/worker-process.ts';

/** The previous release: the last commit before the environments migrations. */
const PREVIOUS_RELEASE = 'cf698db';
const SCENARIO_EVENTS = 400;
/** startWorkerProcess's lease (WORKOS_SYNC_LEASE_SECONDS), which the old replicas get too. */
const LEASE_MS = 2_000;

const PREVIOUS_MIGRATIONS = [
  '0001_initial',
  '0002_reconciliation',
  '0003_touched',
  '0004_reconciliation_pass',
  '0005_organizations',
];

let release: Release | undefined;
let emulator: Emulator | undefined;
let t: TestDatabase | undefined;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  release = checkoutRelease(PREVIOUS_RELEASE);
  const model = new WorkosModel({ seed: 61 });
  generateScenario(model, { seed: 61, events: SCENARIO_EVENTS });
  emulator = await startEmulator({ apiKey: API_KEY, model });
  t = await createTestDatabase({ migrate: false });
});

afterAll(async () => {
  for (const w of workers)
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await emulator?.close();
  await t?.close();
  release?.remove();
});

/** Changes to connections as a live WorkOS makes them, each one emitting an event. */
function startWriter(model: WorkosModel): () => void {
  let n = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < 3; i++) {
      n++;
      const live = model.liveConnections();
      if (n % 9 === 0 || live.length < 5) {
        model.activate(
          model.createConnection({ connectionType: 'OktaSAML', domains: [`rolling-${n}.example`] }).id,
        );
        continue;
      }
      const c = live[(n * 7) % live.length]!;
      const id = String(c.id);
      // A rename emits nothing by itself: the state change after it carries it.
      if (n % 4 === 0) model.rename(id, `Renamed during the upgrade ${n}`);
      if (c.state === 'active') model.deactivate(id);
      else model.activate(id);
    }
  }, 40);
  return () => clearInterval(timer);
}

/** A lease holder's process id: holders are `${hostname}:${pid}:${random}` in both releases. */
function pidOf(holder: string | undefined): number | undefined {
  return holder === undefined ? undefined : Number(holder.split(':').at(-2));
}

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly lease?: string;
  readonly kind?: string;
  readonly err?: { readonly cause?: { readonly code?: string } };
}

function logLines(text: string): LogLine[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogLine);
}

/**
 * A replica's warnings and errors (pino 40 and up) that are more than a lock wait waited out
 * (logged once per kind: `transient-failures.ts`) or a lease handed over, and the count of all.
 */
function troubles(text: string): { unexpected: LogLine[]; count: number } {
  const all = logLines(text).filter((l) => l.level >= 40);
  const waitedOut = (l: LogLine) =>
    l.level === 40 &&
    l.msg === 'waiting out a transient failure' &&
    l.kind === 'database' &&
    ['55P03', '57014'].includes(l.err?.cause?.code ?? '');
  const handOver = (l: LogLine) => l.level === 40 && /^lease (taken over|lost)/.test(l.msg);
  return { unexpected: all.filter((l) => !waitedOut(l) && !handOver(l)), count: all.length };
}

it(
  'from the previous release, built from git: nothing lost or applied twice, the cursor never back, no new backfill',
  { timeout: 120_000 },
  async () => {
    const db = t!;
    const model = emulator!.model;
    const old = release!;
    const env = {
      DATABASE_URL: db.url,
      WORKOS_SYNC_SCHEMA: db.schema,
      WORKOS_API_KEY: API_KEY,
      WORKOS_API_URL: emulator!.url,
    };
    const table = (name: string) => sql.id(db.schema, name);
    expect(model.events()).toHaveLength(SCENARIO_EVENTS);

    // The default environment's cursor, on the schema before 0006 (no `environment`) and after.
    const cursor = async () =>
      (
        await sql<{ cursor: string | null }>`select cursor from ${table('sync_state')} s
          where stream = 'events' and coalesce(to_jsonb(s)->>'environment', 'default') = 'default'`.execute(
          db.whole,
        )
      ).rows[0]?.cursor ?? null;
    // Where an event id is in the emulator's stream (-1: none yet; an id it never sent: -2).
    const position = (id: string | null) => {
      if (id === null) return -1;
      const at = model.events().findIndex((e) => e.id === id);
      return at === -1 ? -2 : at;
    };
    const eventsHolder = async () =>
      (
        await sql<{ holder: string }>`select holder from ${table('leases')} where name = 'events'
          and expires_at > now()`.execute(db.whole)
      ).rows[0]?.holder;
    const runs = async () =>
      (
        await sql<{ n: number }>`select count(*)::int as n from ${table('reconciliation_runs')}`.execute(
          db.whole,
        )
      ).rows[0]!.n;
    const appliedMigrations = async () =>
      (
        await sql<{ name: string }>`select name from ${table('schema_migrations')} order by name`.execute(
          db.whole,
        )
      ).rows.map((r) => r.name);
    const ready = (w: WorkerProcess) =>
      until(
        async () => (await fetch(`${w.url}/readyz`)).status === 200,
        10_000,
        () => `not ready:\n${w.logs()}`,
      );

    // a. The previous release migrates the empty database, and two replicas of it backfill.
    const oldMigrate = await old.runCli(['migrate'], env);
    expect(oldMigrate.code, oldMigrate.stderr).toBe(0);
    expect(oldMigrate.stdout).toMatch(/applied 5 migration\(s\)[^\n]*0005_organizations\n$/);
    expect(await appliedMigrations()).toEqual(PREVIOUS_MIGRATIONS);

    const samples: (string | null)[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push(await cursor());
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    const stopWriter = startWriter(model);
    try {
      const oldReplicas = await Promise.all([old.startWorker(env), old.startWorker(env)]);
      workers.push(...oldReplicas);
      const oldOne = (holder: string | undefined) => oldReplicas.find((w) => w.child.pid === pidOf(holder));
      await until(
        async () => position(await cursor()) >= SCENARIO_EVENTS - 1,
        30_000,
        () =>
          `the previous release never backfilled the scenario:\n${oldReplicas.map((w) => w.logs()).join('')}`,
      );
      // It started from the listing, as a new mirror does.
      expect(await runs()).toBe(1);
      const oldHolder = oldOne(await eventsHolder());
      expect(oldHolder, 'an old replica holds the events lease').toBeDefined();
      const pagesBefore = (await oldHolder!.metric('workos_sync_pages_fetched_total')) ?? 0;
      const oldLogsBefore = oldReplicas.map((w) => w.logs().length);

      // b. This release's `migrate`, while they run and events arrive: 0006, not 0007. Held up
      // past a lease period once it holds `leases`, `events` and `sync_state`, as by an index
      // build on a big table: a session of ours holds a lock on the last table it alters.
      const blocker = new pg.Client({ connectionString: db.url });
      await blocker.connect();
      let migrate: Awaited<ReturnType<typeof runCli>>;
      try {
        await blocker.query('begin');
        await blocker.query(`lock table "${db.schema}".reconciliation_runs in access share mode`);
        const migrating = runCli(['migrate'], env);
        const waitingOn = async (relation: string, forMs: number) =>
          (
            await sql<{ found: boolean }>`select exists(
              select 1 from pg_locks l join pg_stat_activity a using (pid)
               where not l.granted and l.relation = to_regclass(${`${db.schema}.${relation}`})
                 and now() - a.query_start > ${forMs} * interval '1 millisecond') as found`.execute(db.whole)
          ).rows[0]!.found;
        await until(
          () => waitingOn('reconciliation_runs', 0),
          30_000,
          () => 'the migration never reached reconciliation_runs',
        );
        // An old replica's lease statement has waited on the migration for longer than a lease.
        await until(
          () => waitingOn('leases', LEASE_MS + 500),
          20_000,
          () => 'no old replica waited on leases',
        );
        await blocker.query('rollback');
        migrate = await migrating;
      } finally {
        await blocker.end();
      }
      expect(migrate.code, migrate.stderr).toBe(0);
      expect(migrate.stdout).toMatch(/applied 1 migration\(s\)[^\n]*: 0006_environments\n/);
      // It says what it left, and how to apply it. (Soft, as each check of `migrate --finalize`
      // below: the rest of the upgrade is checked whatever they find.)
      expect
        .soft(migrate.stdout, 'migrate names the contract migration it leaves for --finalize')
        .toMatch(/0007_environment_keys[^\n]*--finalize/);
      expect(await appliedMigrations()).toEqual([...PREVIOUS_MIGRATIONS, '0006_environments']);
      expect(await pendingMigrations(db.whole, db.schema)).toEqual([]);
      expect(await pendingMigrations(db.whole, db.schema, { finalize: true })).toEqual([
        '0007_environment_keys',
      ]);

      // The old replicas go on, on the migrated schema: events made after it are applied by them.
      const madeAfterMigrate = model.events().length + 10;
      await until(
        async () => position(await cursor()) >= madeAfterMigrate,
        20_000,
        () =>
          `the previous release stopped applying after 0006:\n${oldReplicas.map((w) => w.logs()).join('')}`,
      );
      const holderAfter = oldOne(await eventsHolder());
      expect(holderAfter, 'an old replica still holds the events lease').toBeDefined();
      expect((await holderAfter!.metric('workos_sync_pages_fetched_total')) ?? 0).toBeGreaterThan(
        holderAfter === oldHolder ? pagesBefore : 0,
      );
      for (const w of oldReplicas) await ready(w);
      oldReplicas.forEach((w, i) => {
        expect(troubles(w.logs().slice(oldLogsBefore[i])).unexpected).toEqual([]);
      });

      // c. Two replicas of this release beside the old ones, standing by.
      const runsBefore = await runs();
      const newReplicas = await Promise.all([startWorkerProcess(env), startWorkerProcess(env)]);
      workers.push(...newReplicas);
      const newOne = (holder: string | undefined) => newReplicas.find((w) => w.child.pid === pidOf(holder));
      for (const w of newReplicas) await ready(w);
      // Then the old ones stop, the one that does not hold the events lease first.
      const last = oldOne(await eventsHolder());
      expect(last, 'an old replica holds the events lease').toBeDefined();
      const first = oldReplicas.find((w) => w !== last)!;
      first.child.kill('SIGTERM');
      expect((await first.exited).code).toBe(0);

      // d. `migrate --finalize` while the last old replica holds the events lease: refused,
      // naming it, and nothing of it applied; so is the migration it runs.
      const holder = await eventsHolder();
      expect(oldOne(holder)).toBe(last);
      const refused = await runCli(['migrate', '--finalize'], env);
      expect(oldOne(await eventsHolder()), 'the old replica held the events lease throughout').toBe(last);
      expect.soft(refused.code).toBe(1);
      expect
        .soft(refused.stderr, 'migrate --finalize refused, naming the old holder')
        .toContain(
          `not a registered worker, likely the previous release, holds the lease events (holder ${holder},`,
        );
      await expect(migrateToLatest(db.whole, db.schema, { finalize: true })).rejects.toThrow(
        `not a registered worker, likely the previous release, holds the lease events (holder ${holder},`,
      );
      expect(await appliedMigrations()).not.toContain('0007_environment_keys');
      expect(await pendingMigrations(db.whole, db.schema, { finalize: true })).toEqual([
        '0007_environment_keys',
      ]);

      last!.child.kill('SIGTERM');
      expect((await last!.exited).code).toBe(0);
      await until(
        async () => newOne(await eventsHolder()) !== undefined,
        20_000,
        () => 'no replica of this release took the events lease',
      );

      // Every old replica stopped: `migrate --finalize` applies 0007, beside this release's replicas.
      const finalized = await runCli(['migrate', '--finalize'], env);
      expect
        .soft(finalized.code, `migrate --finalize once every old replica stopped:\n${finalized.stderr}`)
        .toBe(0);
      expect.soft(finalized.stdout).toMatch(/applied 1 migration\(s\)[^\n]*: 0007_environment_keys\n/);
      if (!(await appliedMigrations()).includes('0007_environment_keys')) {
        // The migration the flag is to run, whatever the command line did.
        const result = await migrateToLatest(db.whole, db.schema, { finalize: true }).catch(
          (error: Error) => error.message,
        );
        expect
          .soft(result, 'the contract migration once every old replica stopped, this release’s running')
          .toEqual({ applied: ['0007_environment_keys'], awaitingFinalize: [] });
      }
      expect.soft(await appliedMigrations()).toContain('0007_environment_keys');

      // e. This release applies what arrives next (on the finalized schema); the writer stops; it
      // catches up.
      const madeAfterTakeover = model.events().length + 10;
      await until(
        async () => position(await cursor()) >= madeAfterTakeover,
        20_000,
        () => `this release never applied after the takeover:\n${newReplicas.map((w) => w.logs()).join('')}`,
      );
      stopWriter();
      const lastId = model.events().at(-1)!.id;
      await until(
        async () => (await cursor()) === lastId,
        30_000,
        () => `the new replicas never caught up:\n${newReplicas.map((w) => w.logs()).join('')}`,
      );
      sampling = false;
      await sampler;
      samples.push(await cursor());

      // Every event recorded exactly once, in the stream's order; the cursor at its end.
      const ids = (
        await sql<{ id: string }>`select id from ${table('events')} order by seq`.execute(db.whole)
      ).rows.map((r) => r.id);
      expect(ids.length).toBe(model.events().length);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(model.events().map((e) => e.id));
      expect(await cursor()).toBe(lastId);

      // The cursor, sampled throughout, never moved back, and never named an event not sent.
      const positions = samples.map(position);
      expect(positions.filter((p) => p < -1)).toEqual([]);
      const backwards = positions.flatMap((p, i) =>
        i > 0 && p < positions[i - 1]! ? [`${samples[i - 1]} -> ${samples[i]}`] : [],
      );
      expect(backwards).toEqual([]);
      expect(positions.at(-1)).toBe(model.events().length - 1);

      // No second backfill: no reconciliation since this release started.
      expect(await runs()).toBe(runsBefore);
      for (const w of newReplicas) {
        expect(await w.metric('workos_sync_reconciliations_total', { result: 'ok', dry_run: 'false' })).toBe(
          0,
        );
        const lines = logLines(w.logs());
        expect(lines.filter((l) => l.lease === 'reconcile' || /reconciliation/.test(l.msg))).toEqual([]);
      }

      // The mirror's connections are the emulator's.
      const want = [
        ...model.liveConnections().map((c) => ({ c, deleted: false })),
        ...model.deletedConnections().map((d) => ({ c: d.connection, deleted: true })),
      ]
        .map(({ c, deleted }) => ({
          id: c.id,
          state: c.state,
          name: c.name,
          organization_id: c.organization_id ?? null,
          connection_type: c.connection_type,
          updated_at: new Date(c.updated_at).toISOString(),
          deleted,
        }))
        .sort((a, b) => (a.id < b.id ? -1 : 1));
      expect((await mirrorOf(db.db)).connections).toEqual(want);

      for (const w of newReplicas) {
        w.child.kill('SIGTERM');
        expect((await w.exited).code).toBe(0);
        expect(troubles(w.logs()).unexpected).toEqual([]);
      }
      for (const w of oldReplicas) {
        const { unexpected, count } = troubles(w.logs());
        expect(unexpected).toEqual([]);
        expect(count, w.logs()).toBeLessThanOrEqual(2);
      }
      console.log(
        `rolling upgrade from ${PREVIOUS_RELEASE}: ${ids.length} events (${SCENARIO_EVENTS} before it), ${samples.length} cursor samples`,
      );
    } finally {
      stopWriter();
      sampling = false;
      await sampler;
    }
  },
);
