/**
 * `workos-sync run` in a child process, partitioned from WorkOS by a proxy the test controls
 * (test/support/tcp-proxy.ts) between the real SDK and the emulator, its database reached
 * directly: a blackhole that swallows a poll's request and every one after it, and a cut in the
 * middle of a response followed by resets. Each time the worker's requests time out or fail and
 * are retried with backoff, the failure is recorded where `status` shows it (no secret in it),
 * and once the partition heals the worker catches up by itself: nothing lost, nothing twice, and
 * no hot loop while it lasted.
 */
import { afterEach, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { readCursor } from '../src/sync/events/cursor.ts';
import { runCli } from './support/cli.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import {
  expectSameAsCleanBackfill,
  logLines,
  outcomesOf,
  pollErrors,
  recordStreamChanges,
} from './support/fault-record.ts';
import { API_KEY } from './support/sync.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';
import { startWorkerProcess, until, type WorkerProcess } from './support/worker-process.ts';

const closers: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** The SDK gives up one attempt after this; it makes three (two retries) before the poll sees it. */
const REQUEST_TIMEOUT_SECONDS = 1;

interface Setup {
  readonly model: WorkosModel;
  readonly emulator: Emulator;
  readonly database: TestDatabase;
  readonly proxy: TcpProxy;
  readonly stream: Awaited<ReturnType<typeof recordStreamChanges>>;
  readonly worker: WorkerProcess;
  /** Each `GET /events` the worker sent through the proxy, with the proxy's mode as it arrived. */
  readonly requests: { readonly mode: string }[];
}

async function setup(seed: number): Promise<Setup> {
  const model = new WorkosModel({ seed });
  generateScenario(model, { seed, events: 150 });
  const emulator = await startEmulator({ apiKey: API_KEY, model });
  closers.push(() => emulator.close());
  const database = await createTestDatabase();
  closers.push(() => database.close());
  const stream = await recordStreamChanges(database.whole);
  const proxy = await startTcpProxy({ host: emulator.host, port: emulator.port });
  closers.push(() => proxy.close());
  const requests: Setup['requests'] = [];
  proxy.onChunk((direction, chunk) => {
    if (direction === 'toTarget' && chunk.toString('latin1', 0, 12) === 'GET /events?')
      requests.push({ mode: proxy.mode });
  });
  const worker = await startWorkerProcess({
    DATABASE_URL: database.url,
    WORKOS_API_KEY: API_KEY,
    WORKOS_API_URL: `http://${proxy.host}:${proxy.port}`,
    WORKOS_SYNC_REQUEST_TIMEOUT_SECONDS: String(REQUEST_TIMEOUT_SECONDS),
  });
  closers.push(() => worker.child.exitCode === null && worker.child.kill('SIGKILL'));
  await caughtUp(database, model);
  return { model, emulator, database, proxy, stream, worker, requests };
}

async function caughtUp(database: TestDatabase, model: WorkosModel): Promise<void> {
  await until(
    async () => (await readCursor(database.db).catch(() => null)) === model.events().at(-1)?.id,
    60_000,
    () => 'the cursor never reached the last event',
  );
}

function changeWorkos(model: WorkosModel): void {
  model.activate(model.createConnection({ connectionType: 'OktaSAML', domains: ['partition.example'] }).id);
  for (const connection of model.liveConnections().slice(0, 3)) {
    if (connection.state === 'active') model.deactivate(String(connection.id));
    else model.activate(String(connection.id));
  }
}

/** The next `GET /events` the worker sends, seen before the proxy forwards it. */
function nextPoll(proxy: TcpProxy, act: () => void): Promise<void> {
  return new Promise((resolve) => {
    const stop = proxy.onChunk((direction, chunk) => {
      if (direction !== 'toTarget' || chunk.toString('latin1', 0, 12) !== 'GET /events?') return;
      stop();
      act();
      resolve();
    });
  });
}

/** What `workos-sync status --json` says, from another process, while the worker runs. */
async function status(database: TestDatabase): Promise<{ lastPollError: string | null; text: string }> {
  const result = await runCli(['status', '--json'], {
    DATABASE_URL: database.url,
    WORKOS_API_KEY: API_KEY,
  });
  expect(result.code, result.stderr).toBe(0);
  return { ...JSON.parse(result.stdout), text: result.stdout };
}

/**
 * A partition's aftermath, the same for both kinds: the wait logged once, of `kind`; the recorded
 * failure cleared by the poll that caught up; every event WorkOS made meanwhile applied, once.
 */
async function expectHealedExactly(s: Setup, known: number, kind: string): Promise<void> {
  await caughtUp(s.database, s.model);
  const waits = logLines(s.worker.logs()).filter((l) => l.msg === 'waiting out a transient failure');
  expect(waits.map((l) => l.kind)).toEqual([kind]);
  await until(
    async () => pollErrors(await s.stream.changes()).at(-1) === null,
    10_000,
    () => 'the recorded failure was never cleared',
  );
  expect(logLines(s.worker.logs()).map((l) => l.msg)).toContain('recovered; caught up again');
  const ids = s.model.events().map((e) => String(e.id));
  const changed = ids.slice(known);
  expect(await outcomesOf(s.database, changed)).toEqual(changed.map(() => 'applied'));
  const duplicates = logLines(s.worker.logs())
    .filter((l) => l.msg === 'poll applied events')
    .reduce((n, l) => n + Number(l.duplicate ?? 0), 0);
  expect(duplicates).toBe(0);
  expect(s.worker.child.exitCode).toBeNull();
  await expectSameAsCleanBackfill(s.database, s.emulator.url, ids);
}

it(
  'a blackhole swallowing a poll`s request: each attempt times out, is retried with backoff and recorded; healed, the worker catches up',
  { timeout: 90_000 },
  async () => {
    const s = await setup(51);
    const known = s.model.events().length;
    let from = 0;
    const found = nextPoll(s.proxy, () => {
      from = performance.now();
      s.proxy.blackhole();
    });
    changeWorkos(s.model);
    await found;
    // The first poll gives up (three attempts, each cut short by the request timeout), says so,
    // and is retried after a backoff: its requests go into the blackhole too.
    await until(
      async () => pollErrors(await s.stream.changes()).some((e) => e !== null),
      30_000,
      () => s.worker.logs(),
    );
    await until(() => s.requests.filter((r) => r.mode === 'blackhole').length >= 3, 30_000);
    const during = await status(s.database);
    expect(during.lastPollError).toBe('no answer from WorkOS on GET /events within the request timeout');
    expect(during.text).not.toContain(API_KEY);
    const to = performance.now();
    s.proxy.heal();

    // The request that found the blackhole, and every one sent while it lasted.
    const swallowed = s.requests.filter((r) => r.mode === 'blackhole').length + 1;
    await expectHealedExactly(s, known, 'timeout');
    const seconds = (to - from) / 1000;
    console.log(
      `WorkOS blackholed for ${seconds.toFixed(1)} s (request timeout ${REQUEST_TIMEOUT_SECONDS} s): ${swallowed} requests sent into it; recorded: ${during.lastPollError}`,
    );
    // No hot loop: one poll at a time, and each of its attempts waited out the whole timeout.
    expect(swallowed).toBeLessThanOrEqual(Math.ceil(seconds / REQUEST_TIMEOUT_SECONDS) + 1);
  },
);

it(
  'a response cut mid-stream, then every connection reset: retried with backoff and recorded; healed, the worker catches up',
  { timeout: 90_000 },
  async () => {
    const s = await setup(52);
    const known = s.model.events().length;
    let from = 0;
    let refusedFrom = Number.POSITIVE_INFINITY;
    // The poll's request goes through; its response is cut 100 bytes in, inside its headers, and
    // from then on every connection is reset as it opens.
    const cut = nextPoll(s.proxy, () => {
      from = performance.now();
      void s.proxy.cutWhen({ direction: 'toClient', afterBytes: 100 }).then(() => {
        refusedFrom = performance.now();
        s.proxy.refuse();
      });
    });
    changeWorkos(s.model);
    await cut;
    const acceptedAtCut = s.proxy.accepted;
    const failedPolls = async () =>
      (await s.worker.metric('workos_sync_api_errors_total', { kind: 'network' })) ?? 0;
    // Two polls failed: the first one, and the one its backoff led to.
    await until(
      async () => (await failedPolls()) >= 2,
      30_000,
      () => s.worker.logs(),
    );
    const during = await status(s.database);
    expect(during.lastPollError).toMatch(/^cannot reach WorkOS on GET \/events/);
    expect(during.text).not.toContain(API_KEY);
    const to = performance.now();
    const resets = s.proxy.accepted - acceptedAtCut;
    const failures = await failedPolls();
    s.proxy.heal();

    await expectHealedExactly(s, known, 'network');
    const seconds = (to - from) / 1000;
    console.log(
      `WorkOS cut, then resetting for ${seconds.toFixed(1)} s: ${resets} connections reset, ${failures} failed polls; recorded: ${during.lastPollError}`,
    );
    // No hot loop: each failed poll is three attempts at most (the SDK's two retries), and the
    // next poll waits out a backoff first. The first poll's retries are the first two resets, the
    // second poll's first attempt the third: the gap between them is the poll's backoff, whose
    // first is at least 250 ms (half its 500 ms ceiling, jittered).
    expect(resets).toBeLessThanOrEqual(3 * failures + 3);
    const resetAt = s.proxy.acceptedAt.filter((at) => at >= refusedFrom);
    console.log(
      `  gaps between the resets: ${resetAt
        .slice(1)
        .map((at, i) => Math.round(at - resetAt[i]!))
        .join(', ')} ms`,
    );
    const [, retried, nextPollAt] = resetAt;
    expect(nextPollAt! - retried!).toBeGreaterThanOrEqual(250);
  },
);
