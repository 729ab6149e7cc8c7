/**
 * A fleet of environments from one file, as users run it: two `run` replicas in child processes,
 * three WorkOS environments on one emulator (each its own API key and world), one database. The
 * replicas share the environments (each holds some, none all), a SIGKILLed one's are taken by the
 * other within the lease period, and each environment ends exact on its own: its connections as
 * its world has them, each of its events recorded once, in its environment, its cursor at its
 * stream's end.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { type RestartablePostgres, startFromBinaries } from './support/postgres-server.ts';
import { startWorkerProcess, until, type WorkerProcess } from './support/worker-process.ts';

const ENVIRONMENTS = ['alpha', 'beta', 'gamma'] as const;
const keyOf = (name: string) => `sk_test_fleet_${name}`;

let emulator: Emulator;
let t: TestDatabase;
let dir: string;
const replicas: WorkerProcess[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  emulator = await startEmulator({ apiKey: 'sk_test_fleet_default' });
  for (const [i, name] of ENVIRONMENTS.entries()) {
    const model = new WorkosModel({ environment: name, seed: 10 + i });
    generateScenario(model, { seed: 10 + i, events: 120 });
    emulator.addEnvironment(name, { apiKey: keyOf(name), model });
  }
  dir = mkdtempSync(join(tmpdir(), 'workos-sync-fleet-'));
  writeFileSync(
    join(dir, 'environments.yaml'),
    `environments:\n${ENVIRONMENTS.map((n) => `  - name: ${n}\n    api_key_env: KEY_${n.toUpperCase()}\n`).join('')}`,
  );
});

afterAll(async () => {
  for (const replica of replicas) replica.child.kill('SIGKILL');
  await emulator?.close();
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

function replicaEnv(url = t.url): Record<string, string> {
  return {
    DATABASE_URL: url,
    WORKOS_API_URL: emulator.url,
    WORKOS_SYNC_ENVIRONMENTS_FILE: join(dir, 'environments.yaml'),
    ...Object.fromEntries(ENVIRONMENTS.map((n) => [`KEY_${n.toUpperCase()}`, keyOf(n)])),
  };
}

async function holders(): Promise<Map<string, string>> {
  return heldBy(t.whole);
}

/** Each environment's `events` lease holder, among the leases not expired. */
async function heldBy(db: TestDatabase['whole']): Promise<Map<string, string>> {
  const rows = await db
    .selectFrom('leases')
    .select(['environment', 'holder'])
    .where('name', '=', 'events')
    .where('expires_at', '>', new Date())
    .execute();
  return new Map(rows.map((r) => [r.environment, r.holder]));
}

/** Every environment's mirror as its own world has it, and its cursor at its stream's end. */
async function exact(name: string): Promise<boolean> {
  const model = emulator.environment(name)!.model;
  const db = t.environment(name);
  const live = await db.selectFrom('connections').select('id').where('deleted_at', 'is', null).execute();
  const state = await db
    .selectFrom('sync_state')
    .select('cursor')
    .where('stream', '=', 'events')
    .executeTakeFirst();
  const want = model.liveConnections().map((c) => String(c.id));
  return (
    state?.cursor === model.events().at(-1)?.id &&
    JSON.stringify(live.map((r) => r.id).sort()) === JSON.stringify([...want].sort())
  );
}

async function allExact(): Promise<boolean> {
  for (const name of ENVIRONMENTS) if (!(await exact(name))) return false;
  return true;
}

it('two replicas share three environments, one SIGKILLed hands its share over, and each environment ends exact', async () => {
  replicas.push(await startWorkerProcess(replicaEnv()), await startWorkerProcess(replicaEnv()));
  const logs = () => replicas.map((r) => r.logs()).join('\n');
  await until(allExact, 60_000, () => `never caught up:\n${logs()}`);

  // Shared: both replicas hold a lease, and together every environment's.
  await until(
    async () => {
      const held = await holders();
      return held.size === ENVIRONMENTS.length && new Set(held.values()).size === 2;
    },
    30_000,
    () => `leases: see the table`,
  );
  const workers = await t.whole.selectFrom('workers').select('id').execute();
  expect(workers).toHaveLength(2);

  // Kill the holder of `alpha`, then change every world: the survivor takes over and applies it all.
  const victimId = (await holders()).get('alpha')!;
  const victim = replicas.find((r) => r.logs().includes(victimId));
  expect(victim, `no replica logged holder ${victimId}`).toBeDefined();
  victim!.child.kill('SIGKILL');
  await victim!.exited;
  for (const name of ENVIRONMENTS) {
    const model = emulator.environment(name)!.model;
    model.activate(String(model.createConnection({ name: `after the kill in ${name}` }).id));
  }
  await until(
    async () => {
      const held = await holders();
      return held.size === ENVIRONMENTS.length && [...held.values()].every((h) => h !== victimId);
    },
    30_000,
    () => `leases still held by ${victimId}:\n${logs()}`,
  );
  await until(allExact, 30_000, () => `never caught up after the kill:\n${logs()}`);

  for (const name of ENVIRONMENTS) {
    const model = emulator.environment(name)!.model;
    const ids = model.events().map((e) => String(e.id));
    const recorded = await t.whole
      .selectFrom('events')
      .select(['id', 'environment'])
      .where('id', 'in', ids)
      .execute();
    // Each of its events once, and in its own environment only.
    expect(recorded).toHaveLength(ids.length);
    expect(new Set(recorded.map((r) => r.environment))).toEqual(new Set([name]));
  }
  const counts = await t.whole
    .selectFrom('events')
    .select(['environment', (eb) => eb.fn.countAll<string>().as('n')])
    .groupBy('environment')
    .execute();
  expect(Object.fromEntries(counts.map((c) => [c.environment, Number(c.n)]))).toEqual(
    Object.fromEntries(ENVIRONMENTS.map((n) => [n, emulator.environment(n)!.model.events().length])),
  );
}, 150_000);

/** Changes in every world, every `everyMs`, until stopped. */
function streamChanges(everyMs: number): () => void {
  let n = 0;
  const timer = setInterval(() => {
    for (const name of ENVIRONMENTS) {
      n++;
      const model = emulator.environment(name)!.model;
      const live = model.liveConnections();
      if (n % 5 === 0 || live.length < 5)
        model.activate(String(model.createConnection({ name: `c${n}` }).id));
      else {
        const c = live[n % live.length]!;
        if (c.state === 'active') model.deactivate(String(c.id));
        else model.activate(String(c.id));
      }
    }
  }, everyMs);
  return () => clearInterval(timer);
}

/** Each environment's cursor, sampled: its position in its own stream must never go back. */
function watchCursors(db: TestDatabase['whole']): { stop(): Promise<string[]> } {
  const back: string[] = [];
  const last = new Map<string, number>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const rows = await db
        .selectFrom('sync_state')
        .select(['environment', 'cursor'])
        .where('stream', '=', 'events')
        .execute()
        .catch(() => []); // the database restarting
      for (const row of rows) {
        const position = emulator
          .environment(row.environment)
          ?.model.events()
          .findIndex((e) => e.id === row.cursor);
        if (position === undefined || position < 0) continue;
        if (position < (last.get(row.environment) ?? -1)) back.push(`${row.environment}: ${row.cursor}`);
        last.set(row.environment, position);
      }
      await sleep(25);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return back;
    },
  };
}

it('a replica paused past its lease, then Postgres restarted, while every world changes: nothing lost or doubled, no cursor back', async () => {
  const server: RestartablePostgres = await startFromBinaries();
  const url = server.url;
  const { openDatabase } = await import('../src/db/connect.ts');
  const { loadConfig } = await import('../src/config.ts');
  const { silentLogger } = await import('./support/logs.ts');
  const { migrateToLatest } = await import('../src/db/migrate.ts');
  const handle = await openDatabase(loadConfig({ DATABASE_URL: url }).database, silentLogger());
  await migrateToLatest(handle.db, 'workos');
  const local: WorkerProcess[] = [];
  try {
    local.push(await startWorkerProcess(replicaEnv(url)), await startWorkerProcess(replicaEnv(url)));
    const logs = () => local.map((r) => r.logs()).join('\n');
    const cursors = watchCursors(handle.db);
    const stop = streamChanges(60);

    await sleep(1_500);
    const paused = /"holder":"([^"]+)","environments"/.exec(local[0]!.logs())?.[1];
    expect(paused, 'the replica names its holder as it starts').toBeDefined();
    local[0]!.child.kill('SIGSTOP');
    // Stopped past its lease (2 s) and its heartbeat (3 s): the other replica holds every environment.
    await until(
      async () => {
        const held = await heldBy(handle.db);
        return held.size === ENVIRONMENTS.length && [...held.values()].every((h) => h !== paused);
      },
      30_000,
      () => `the paused replica's environments were never taken over:\n${logs()}`,
    );
    local[0]!.child.kill('SIGCONT');
    await sleep(1_500);
    await server.pause(); // every connection cut
    await sleep(2_000);
    await server.resume();
    await sleep(1_500);
    stop();

    const exactOn = async (name: string) => {
      const model = emulator.environment(name)!.model;
      const state = await handle.db
        .selectFrom('sync_state')
        .select('cursor')
        .where('environment', '=', name)
        .where('stream', '=', 'events')
        .executeTakeFirst()
        .catch(() => undefined);
      return state?.cursor === model.events().at(-1)?.id;
    };
    await until(
      async () => (await Promise.all(ENVIRONMENTS.map(exactOn))).every(Boolean),
      60_000,
      () => `never caught up:\n${logs()}`,
    );
    expect(await cursors.stop()).toEqual([]);
    for (const name of ENVIRONMENTS) {
      const model = emulator.environment(name)!.model;
      const recorded = await handle.db
        .selectFrom('events')
        .select('id')
        .where('environment', '=', name)
        .orderBy('seq')
        .execute();
      // Every event of its stream once, in its order, and nothing of another's.
      expect(recorded.map((r) => r.id)).toEqual(model.events().map((e) => String(e.id)));
      const live = await handle.db
        .selectFrom('live_connections')
        .select('id')
        .where('environment', '=', name)
        .execute();
      expect(live.map((r) => r.id).sort()).toEqual(
        model
          .liveConnections()
          .map((c) => String(c.id))
          .sort(),
      );
    }
    for (const replica of local) expect(replica.child.exitCode).toBeNull();
  } finally {
    for (const replica of local) replica.child.kill('SIGKILL');
    await handle.close();
    await server.stop();
  }
}, 150_000);
