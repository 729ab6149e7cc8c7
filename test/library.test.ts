/**
 * The library (`createWorkosSync`) as an application embeds it: on a URL, on the application's own
 * `pg.Pool` and Kysely (left open when the mirror closes, its plugins never touching the mirror's
 * rows), with the same validation as the command line (naming the option), and through an
 * application's own logger with the secrets scrubbed. Real Postgres, the emulator over HTTP.
 */
import { Writable } from 'node:stream';
import { CamelCasePlugin, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { ConfigError, createWorkosSync, type WorkosSyncOptions } from '../src/index.ts';
import { createDatabaseUrl } from './support/database.ts';
import { API_KEY } from './support/sync.ts';
import { until } from './support/worker-process.ts';

let emulator: Emulator;
let model: WorkosModel;

beforeAll(async () => {
  model = new WorkosModel({ seed: 31 });
  generateScenario(model, { seed: 31, events: 200 });
  emulator = await startEmulator({ apiKey: API_KEY, model });
});
afterAll(() => emulator.close());

const quiet = () => pino({ level: 'silent' });
const base = (): WorkosSyncOptions => ({ apiKey: API_KEY, apiUrl: emulator.url, logger: quiet() });
const lastEventId = () => model.events().at(-1)!.id;

describe('createWorkosSync', () => {
  it('migrates, backfills, reports, reconciles, runs the worker and stops it, on a URL', async () => {
    const sync = createWorkosSync({ ...base(), database: { url: await createDatabaseUrl() } });
    try {
      expect((await sync.migrate()).applied.length).toBeGreaterThan(0);
      const { reconciliation, totals } = await sync.backfill();
      expect(reconciliation?.counts.seen).toBeGreaterThan(0);
      expect(totals).toMatchObject({ caughtUp: true, cursor: lastEventId() });

      const status = await sync.status();
      expect(status).toMatchObject({ cursor: lastEventId(), quarantined: 0 });
      expect(status.database).toMatch(/^Postgres /);
      const soon = await sync.certificates({ within: '30d' });
      expect(soon.every((c) => c.days_left < 30)).toBe(true);
      expect((await sync.reconcile({ dryRun: true })).counts).toMatchObject({ inserted: 0, deleted: 0 });

      const worker = sync.start({ http: false });
      await worker.ready;
      model.activate(model.createConnection({ name: 'While embedded' }).id);
      const { db } = await sync.database();
      await until(async () => (await sync.status()).cursor === lastEventId(), 20_000);
      expect(
        await db.selectFrom('live_connections').select('name').where('name', '=', 'While embedded').execute(),
      ).toHaveLength(1);
      await worker.stop();
      expect(await worker.done).toBeNull();
      expect(await db.selectFrom('leases').selectAll().execute()).toEqual([]);
    } finally {
      await sync.close();
    }
  });

  it('on the application`s pg.Pool, which it leaves open', async () => {
    const pool = new pg.Pool({ connectionString: await createDatabaseUrl(), max: 3 });
    try {
      const sync = createWorkosSync({ ...base(), database: { pool } });
      await sync.migrate();
      await sync.backfill();
      expect((await sync.status()).cursor).toBe(lastEventId());
      expect((await sync.status()).database).toBe("the application's Postgres pool");
      await sync.close();
      expect(
        (await pool.query('select count(*)::int as n from workos.connections')).rows[0].n,
      ).toBeGreaterThan(0);
    } finally {
      await pool.end();
    }
  });

  it('on the application`s Kysely (its plugins do not touch the mirror), which it leaves open', async () => {
    const app = new Kysely<{ app_notes: { id: number } }>({
      dialect: new PostgresDialect({
        pool: new pg.Pool({ connectionString: await createDatabaseUrl(), max: 3 }),
      }),
      plugins: [new CamelCasePlugin()],
    });
    try {
      const sync = createWorkosSync({ ...base(), database: { kysely: app }, schema: 'mirror' });
      await sync.migrate();
      await sync.backfill();
      const status = await sync.status();
      // snake_case columns read as the mirror wrote them, whatever the application's plugins do
      expect(status).toMatchObject({ cursor: lastEventId() });
      expect(status.lastEventCreatedAt).toBeInstanceOf(Date);
      await sync.close();
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from mirror.connections`.execute(
        app,
      );
      expect(rows[0]!.n).toBeGreaterThan(0);
    } finally {
      await app.destroy();
    }
  });

  it.each([
    [{ schema: 'Not-A-Schema' }, /^schema must be a lower-case SQL identifier/],
    [{ leaseSeconds: 0 }, /^leaseSeconds must be a number of seconds/],
    [{ database: { url: 'mysql://db/x' } }, /^database\.url must start with postgres:\/\//],
    [{ pollCron: 'every minute' }, /^pollCron is not a valid cron expression/],
    [{ http: { port: 70_000 } }, /^http\.port must be a port number/],
  ] as const)('%o is one error naming the option', (options, message) => {
    expect(() => createWorkosSync(options)).toThrow(ConfigError);
    expect(() => createWorkosSync(options)).toThrow(message);
  });

  it('logs through the application`s logger with the secrets scrubbed from what it logs', async () => {
    const password = 'pw_library_secret_91';
    // A database named like its password: the server's error names it, and so would the log.
    const url = new URL(await createDatabaseUrl());
    url.pathname = `/${password}`;
    url.password = password;
    const lines: string[] = [];
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const sync = createWorkosSync({
      apiKey: API_KEY,
      apiUrl: emulator.url,
      database: { url: url.toString() },
      logger,
    });
    const worker = sync.start({ http: false });
    try {
      await until(() => lines.some((l) => l.includes('poll failed')), 20_000);
      const text = lines.join('');
      expect(text).toContain('[redacted]');
      expect(text).not.toContain(password);
      expect(text).not.toContain(API_KEY);
    } finally {
      await worker.stop();
      await sync.close();
    }
  });
});
