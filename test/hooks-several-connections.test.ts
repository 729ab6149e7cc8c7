/**
 * What takes several connections or processes: the NOTIFY a committed batch sends (heard by a
 * real `LISTEN`ing client; none for a batch that changed nothing or rolled back), a process
 * killed inside its hook, which loses and doubles nothing (the hook's own writes included), and
 * a one-shot script whose hook always throws, which ends (exit 1, the hook's error on stderr)
 * with nothing of the failing batch committed, and a batch that fails after its hooks ran (its
 * cursor move refused), which takes the hook's rows with it — what a hook writing on a connection
 * of its own instead of `trx` would not do.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { createWorkosSync, type WorkosSync } from '../src/index.ts';
import { cliEnv, finished } from './support/cli.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { mirrorOf } from './support/mirror.ts';
import { API_KEY, FAST_BACKOFF } from './support/sync.ts';
import { until } from './support/worker-process.ts';

let t: TestDatabase;
let emulator: Emulator;
let model: WorkosModel;

beforeEach(async () => {
  t = await createTestDatabase();
  model = new WorkosModel({ seed: 43 });
  generateScenario(model, { seed: 43, events: 150 });
  emulator = await startEmulator({ apiKey: API_KEY, model });
  await sql`create table public.sso_audit (connection_id text, kind text, source text)`.execute(t.db);
});
afterEach(async () => {
  await emulator.close();
  await t.close();
});

describe('NOTIFY', () => {
  let listener: pg.Client;
  let sync: WorkosSync;
  const heard: { channel: string; payload: Record<string, unknown> | string }[] = [];
  beforeEach(async () => {
    heard.length = 0;
    listener = new pg.Client({ connectionString: t.url });
    await listener.connect();
    listener.on('notification', (n) => {
      const text = n.payload ?? '';
      heard.push({ channel: n.channel, payload: text.startsWith('{') ? JSON.parse(text) : text });
    });
    await listener.query('listen workos_changes');
    sync = createWorkosSync({
      apiKey: API_KEY,
      apiUrl: emulator.url,
      database: { url: t.url },
      logger: pino({ level: 'silent' }),
    });
  });
  afterEach(async () => {
    await sync.close();
    await listener.end();
  });
  /** Everything heard until a notification this test sends itself: NOTIFYs arrive in commit order. */
  async function heardUntilNow() {
    const sentinel = `sentinel ${heard.length}-${Date.now()}`;
    await sql`select pg_notify('workos_changes', ${sentinel})`.execute(t.db);
    await until(() => heard.some((h) => h.payload === sentinel), 10_000);
    const got = heard.splice(0).filter((h) => h.payload !== sentinel);
    return got.map((h) => h.payload as Record<string, unknown>);
  }

  it('announces each committed batch on <schema>_changes, and nothing when nothing changed', async () => {
    await sync.backfill({ backoff: FAST_BACKOFF });
    const notices = await heardUntilNow();
    expect(notices[0]).toMatchObject({
      source: 'reconciliation',
      runId: expect.any(String),
      counts: { inserted: expect.any(Number) },
    });
    const events = notices.filter((n) => n.source === 'events');
    expect(events.length).toBeGreaterThan(0);
    expect(events.at(-1)).toMatchObject({ cursor: model.events().at(-1)!.id });
    for (const n of events) {
      expect(Object.keys(n.counts as object).every((k) => k.startsWith('connection.'))).toBe(true);
      expect(JSON.stringify(n).length).toBeLessThan(8000);
    }

    await sync.poll({ backoff: FAST_BACKOFF }); // nothing new
    expect(await heardUntilNow()).toEqual([]);

    const c = model.liveConnections().find((x) => x.state === 'active')!;
    model.deactivate(String(c.id));
    await sync.poll({ backoff: FAST_BACKOFF });
    expect(await heardUntilNow()).toEqual([
      {
        environment: 'default',
        source: 'events',
        cursor: model.events().at(-1)!.id,
        counts: { 'connection.deactivated': 1 },
        connections: 1,
        connectionIds: [c.id],
      },
    ]);
  });

  it('one NOTIFY per transaction at most: each batch`s and each reconciliation`s commit sends one', async () => {
    // Every statement of this process's clients, by the transaction it runs in: the writers'
    // NOTIFYs counted between their `begin` and `commit`.
    const open = new WeakMap<pg.Client, number>();
    const perCommit: number[] = [];
    const query = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const text = typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string })?.text ?? '');
      if (/^\s*begin\b/i.test(text)) open.set(this, 0);
      else if (/pg_notify/i.test(text) && open.has(this)) open.set(this, open.get(this)! + 1);
      else if (/^\s*commit\b/i.test(text) && open.has(this)) {
        perCommit.push(open.get(this)!);
        open.delete(this);
      } else if (/^\s*rollback\b/i.test(text)) open.delete(this);
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    try {
      await sync.backfill({ backoff: FAST_BACKOFF });
      model.deactivate(String(model.liveConnections().find((x) => x.state === 'active')!.id));
      await sync.poll({ backoff: FAST_BACKOFF });
    } finally {
      pg.Client.prototype.query = query;
    }
    const notices = (await heardUntilNow()).length;
    expect(notices).toBeGreaterThan(1); // the listing's, the history's batches, the deactivation's
    expect(Math.max(...perCommit)).toBe(1);
    expect(perCommit.filter((n) => n === 1)).toHaveLength(notices);
  });

  it('WORKOS_SYNC_NOTIFY=off (`notify: false`): nothing is announced; the hooks still run', async () => {
    const quiet = createWorkosSync({
      apiKey: API_KEY,
      apiUrl: emulator.url,
      database: { url: t.url },
      logger: pino({ level: 'silent' }),
      notify: false,
    });
    try {
      const changes: unknown[] = [];
      quiet.onChange((_trx, batch) => {
        changes.push(...batch);
      });
      await quiet.backfill({ backoff: FAST_BACKOFF });
      model.deactivate(String(model.liveConnections().find((x) => x.state === 'active')!.id));
      await quiet.poll({ backoff: FAST_BACKOFF });
      expect(changes.length).toBeGreaterThan(0);
      expect(await heardUntilNow()).toEqual([]);
    } finally {
      await quiet.close();
    }
  });

  it('a batch that rolled back (its hook threw) announces nothing; its retry that commits, once', async () => {
    await sync.backfill({ backoff: FAST_BACKOFF });
    await heardUntilNow();
    let failures = 2;
    sync.onChange(() => {
      if (failures-- > 0) throw new Error('not now');
    });
    model.deactivate(String(model.liveConnections().find((x) => x.state === 'active')!.id));
    await sync.poll({ backoff: FAST_BACKOFF });
    expect(failures).toBe(-1);
    expect(await heardUntilNow()).toEqual([
      expect.objectContaining({ counts: { 'connection.deactivated': 1 } }),
    ]);
  });
});

describe('a process killed inside its hook', () => {
  const app = fileURLToPath(new URL('./support/hook-app.ts', import.meta.url));
  const start = (env: Record<string, string>): ChildProcess =>
    spawn(process.execPath, ['--import', 'tsx', app], {
      env: cliEnv({ DATABASE_URL: t.url, WORKOS_API_KEY: API_KEY, WORKOS_API_URL: emulator.url, ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  it(
    'loses and doubles nothing: the mirror, the events and the hook`s own rows',
    { timeout: 60_000 },
    async () => {
      const blocked = start({ HOOK_BLOCK: '1' });
      let out = '';
      blocked.stdout?.on('data', (chunk) => {
        out += chunk;
      });
      const gone = finished(blocked);
      await until(
        () => out.includes('in hook'),
        30_000,
        () => out,
      );
      blocked.kill('SIGKILL');
      await gone;
      // Nothing of the batch it was in committed: not the mirror's rows, not the hook's.
      const { rows: partial } = await sql<{
        n: number;
      }>`select count(*)::int as n from public.sso_audit`.execute(t.db);
      const runs = await t.db.selectFrom('reconciliation_runs').select('status').execute();
      expect(partial[0]!.n).toBe(0);
      expect(runs.map((r) => r.status)).not.toContain('succeeded');

      const result = await finished(start({}));
      expect(result.code, result.stderr).toBe(0);
      const recorded = await t.db.selectFrom('events').select('id').execute();
      expect(recorded).toHaveLength(model.events().length);
      const { rows: doubled } = await sql`
      select connection_id, kind, source from public.sso_audit group by 1, 2, 3 having count(*) > 1`.execute(
        t.db,
      );
      expect(doubled).toEqual([]);
      const { rows: inserted } = await sql<{ n: number }>`
      select count(*)::int as n from public.sso_audit where kind = 'connection.inserted'`.execute(t.db);
      // Every connection the (one committed) listing inserted was announced once.
      const succeeded = await t.db
        .selectFrom('reconciliation_runs')
        .select('inserted')
        .where('status', '=', 'succeeded')
        .execute();
      expect(succeeded).toHaveLength(1);
      expect(inserted[0]!.n).toBe(succeeded[0]!.inserted);
    },
  );
});

describe('a one-shot script whose hook always throws', () => {
  const app = fileURLToPath(new URL('./support/failing-hook-app.ts', import.meta.url));
  const run = (command: 'poll' | 'backfill') =>
    finished(
      spawn(process.execPath, ['--import', 'tsx', app, command], {
        env: cliEnv({ DATABASE_URL: t.url, WORKOS_API_KEY: API_KEY, WORKOS_API_URL: emulator.url }),
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
  const cursor = async () =>
    (
      await t.db
        .selectFrom('sync_state')
        .select('cursor')
        .where('stream', '=', 'events')
        .executeTakeFirstOrThrow()
    ).cursor;
  /** What the script must leave as it was. */
  const everything = async () => ({
    mirror: await mirrorOf(t.db),
    events: (await t.db.selectFrom('events').select('id').execute()).length,
    cursor: await cursor(),
  });
  /** Node's report of the uncaught rejection: the hook's error, and the application's as its cause. */
  const expectHookErrorReported = (stderr: string) => {
    expect(stderr).toMatch(/^RetryableError: an onChange hook failed: the audit service is down$/m);
    expect(stderr).toMatch(/\[cause\]: Error: the audit service is down$/m);
  };

  it(
    'poll: exits 1 after 5 tries of the batch, the cursor and the mirror where they were',
    { timeout: 60_000 },
    async () => {
      const sync = createWorkosSync({
        apiKey: API_KEY,
        apiUrl: emulator.url,
        database: { url: t.url },
        logger: pino({ level: 'silent' }),
      });
      await sync.backfill({ backoff: FAST_BACKOFF });
      await sync.close();
      model.deactivate(String(model.liveConnections().find((x) => x.state === 'active')!.id));
      const before = await everything();

      const result = await run('poll');
      expect(result.code, result.stderr).toBe(1);
      expect(result.stdout).toBe('hook 1\nhook 2\nhook 3\nhook 4\nhook 5\n');
      expectHookErrorReported(result.stderr);
      expect(await everything()).toEqual(before);
    },
  );

  it(
    'backfill of a new mirror: exits 1 after 5 tries of the listing, the mirror empty',
    { timeout: 60_000 },
    async () => {
      const result = await run('backfill');
      expect(result.code, result.stderr).toBe(1);
      expect(result.stdout).toBe('hook 1\nhook 2\nhook 3\nhook 4\nhook 5\n');
      expectHookErrorReported(result.stderr);
      expect(await everything()).toEqual({
        mirror: { connections: [], domains: [], certificates: [] },
        events: 0,
        cursor: null,
      });
    },
  );
});

describe('a batch that fails after its hooks ran', () => {
  it('takes the hook`s rows with it: written on `trx`, they commit with the batch or not at all', async () => {
    let writes = 0;
    const sync = createWorkosSync({
      apiKey: API_KEY,
      apiUrl: emulator.url,
      database: { url: t.url },
      logger: pino({ level: 'silent' }),
      async onChange(trx, changes) {
        for (const c of changes)
          if (c.type === 'connection')
            await sql`insert into public.sso_audit values (${c.connectionId}, ${c.kind}, 'hook')`.execute(
              trx,
            );
        if (changes.some((c) => c.type === 'connection' && c.kind === 'deactivated')) writes++;
      },
    });
    try {
      await sync.backfill({ backoff: FAST_BACKOFF });
      await sql`delete from public.sso_audit`.execute(t.db);
      // The cursor moves after the hooks, last in the batch's transaction: refuse that move.
      await sql`create function public.refuse_cursor() returns trigger language plpgsql as
        $$ begin raise exception 'the cursor may not move now'; end $$`.execute(t.db);
      await sql`create trigger refuse_cursor before update on workos.sync_state
        for each row when (new.cursor is distinct from old.cursor) execute function public.refuse_cursor()`.execute(
        t.db,
      );
      const live = model.liveConnections().find((x) => x.state === 'active')!;
      model.deactivate(String(live.id));
      await expect(sync.poll({ backoff: FAST_BACKOFF, hookAttempts: 1 })).rejects.toThrow();
      const audit = async () =>
        (
          await sql<{
            connection_id: string;
            kind: string;
          }>`select connection_id, kind from public.sso_audit`.execute(t.db)
        ).rows;
      // The hook ran and wrote; the batch failed after it; nothing of either is left.
      expect(await audit()).toEqual([]);
      await sql`drop trigger refuse_cursor on workos.sync_state`.execute(t.db);
      await sync.poll({ backoff: FAST_BACKOFF });
      expect(await audit()).toEqual([{ connection_id: String(live.id), kind: 'deactivated' }]);
      expect(writes).toBe(2);
    } finally {
      await sync.close();
    }
  });
});
