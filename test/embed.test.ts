/**
 * The README's "Embed it in your app" example, run as written (its `workos-sync` import pointed
 * at this checkout's library) in a child process against the emulator and a real Postgres: its
 * health route answers from `sync.status()`, its hook's write commits with the mirror's change,
 * and SIGTERM stops it cleanly, the leases given back.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, expect, it } from 'vitest';
import { generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { cliEnv, finished } from './support/cli.ts';
import { createTestDatabase } from './support/database.ts';
import { API_KEY } from './support/sync.ts';
import { freePort, until } from './support/worker-process.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const example = /<!-- embed:start -->\n```ts\n([\s\S]*?)```\n<!-- embed:end -->/.exec(readme)?.[1];
// Inside the checkout, so the example's other imports (kysely) resolve as in an application.
mkdirSync(join(root, '.test-build'), { recursive: true });
const dir = mkdtempSync(join(root, '.test-build', 'embed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it(
  'the README`s embedding example serves health, commits its hook`s write, and stops on SIGTERM',
  { timeout: 90_000 },
  async () => {
    expect(example, 'the README has the embed example between its markers').toBeDefined();
    const app = join(dir, 'app.ts');
    writeFileSync(
      app,
      example!.replace("from 'workos-sync'", `from ${JSON.stringify(join(root, 'src/index.ts'))}`),
    );

    const model = new WorkosModel({ seed: 51 });
    generateScenario(model, { seed: 51, events: 200 });
    const emulator = await startEmulator({ apiKey: API_KEY, model });
    const database = await createTestDatabase({ migrate: false });
    try {
      await sql`create table public.sso_disabled (organization_id text primary key)`.execute(database.db);
      const port = await freePort();
      const child = spawn(process.execPath, ['--import', 'tsx', app], {
        cwd: root,
        env: cliEnv({
          DATABASE_URL: database.url,
          WORKOS_API_KEY: API_KEY,
          WORKOS_API_URL: emulator.url,
          PORT: String(port),
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = finished(child);
      const health = async () => {
        const response = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
        return (
          response && { status: response.status, body: (await response.json()) as { cursor: string | null } }
        );
      };
      await until(
        async () => (await health())?.status === 200,
        60_000,
        () => 'the example never became healthy',
      );
      expect((await health())?.body.cursor).toBe(model.events().at(-1)!.id);

      const target = model.liveConnections().find((c) => c.state === 'active' && c.organization_id)!;
      model.deactivate(String(target.id));
      const disabled = async () =>
        (
          await sql<{ organization_id: string }>`select organization_id from public.sso_disabled`.execute(
            database.db,
          )
        ).rows;
      await until(
        async () => (await disabled()).some((r) => r.organization_id === target.organization_id),
        30_000,
      );

      child.kill('SIGTERM');
      const result = await exited;
      expect(result.code, result.stderr).toBe(0);
      expect(await database.db.selectFrom('leases').selectAll().execute()).toEqual([]);
    } finally {
      await emulator.close();
      await database.close();
    }
  },
);
