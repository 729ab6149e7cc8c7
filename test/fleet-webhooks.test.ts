/**
 * Webhooks for a fleet of environments, as users run it: two `run` replicas in child processes
 * sharing three WorkOS environments from one file (`alpha` and `beta` with a webhook secret each,
 * `gamma` without), on one emulator that sends each environment's webhooks signed with that
 * environment's secret, one Postgres. The poll schedule is every five minutes, and none of its
 * ticks falls within the test: a change in an environment is in the mirror within seconds of its
 * webhook only because of the webhook, whichever replica's receiver it reached — the one running
 * the environment, or the other, which announces it on the nudge bus with the environment — and
 * no other environment is polled for it. A delivery signed with another environment's secret is
 * refused (401) and polls nothing; an environment without a secret and an unknown one have no
 * path (404). No secret in any log line, answer or metrics page.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type Emulator,
  generateScenario,
  startEmulator,
  WorkosModel,
  webhookSignature,
} from '../emulator/index.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { freePort, startWorkerProcess, until, type WorkerProcess } from './support/worker-process.ts';

const ENVIRONMENTS = ['alpha', 'beta', 'gamma'] as const;
type Name = (typeof ENVIRONMENTS)[number];
const RECEIVING = ['alpha', 'beta'] as const;
const keyOf = (name: string) => `sk_test_fleet_webhooks_${name}`;
const SECRETS: Record<(typeof RECEIVING)[number], string> = {
  alpha: 'whsec_fleet_alpha_c0ffee11',
  beta: 'whsec_fleet_beta_d00dfeed',
};
/** Well under the schedule's five minutes: what only a webhook explains. */
const BOUND_MS = 5_000;

let emulator: Emulator;
let t: TestDatabase;
let dir: string;
const replicas: { process: WorkerProcess; webhooks: string }[] = [];

/**
 * Every five minutes, at minutes that start four from now: no tick within the test, so a change
 * applied in seconds was nudged, and no environment is polled but by a webhook.
 */
function everyFiveMinutesNotSoon(): string {
  const first = (new Date().getUTCMinutes() + 4) % 60;
  const minutes = Array.from({ length: 12 }, (_, i) => (first + 5 * i) % 60).sort((a, b) => a - b);
  return `${minutes.join(',')} * * * *`;
}

beforeAll(async () => {
  t = await createTestDatabase();
  emulator = await startEmulator({ apiKey: 'sk_test_fleet_webhooks_default' });
  for (const [i, name] of ENVIRONMENTS.entries()) {
    const model = new WorkosModel({ environment: name, seed: 40 + i });
    generateScenario(model, { seed: 40 + i, events: 60 });
    emulator.addEnvironment(name, { apiKey: keyOf(name), model });
  }
  dir = mkdtempSync(join(tmpdir(), 'workos-sync-fleet-webhooks-'));
  const secretLine = (name: string) =>
    name in SECRETS ? `    webhook_secret_env: WEBHOOK_SECRET_${name.toUpperCase()}\n` : '';
  writeFileSync(
    join(dir, 'environments.yaml'),
    `environments:\n${ENVIRONMENTS.map((n) => `  - name: ${n}\n    api_key_env: KEY_${n.toUpperCase()}\n${secretLine(n)}`).join('')}`,
  );
});

afterAll(async () => {
  for (const replica of replicas) replica.process.child.kill('SIGKILL');
  await emulator?.close();
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function startReplica(pollCron: string): Promise<{ process: WorkerProcess; webhooks: string }> {
  const port = await freePort();
  const process = await startWorkerProcess({
    DATABASE_URL: t.url,
    WORKOS_API_URL: emulator.url,
    WORKOS_SYNC_ENVIRONMENTS_FILE: join(dir, 'environments.yaml'),
    WORKOS_SYNC_POLL_CRON: pollCron,
    WORKOS_SYNC_WEBHOOK_HOST: '127.0.0.1',
    WORKOS_SYNC_WEBHOOK_PORT: String(port),
    LOG_LEVEL: 'debug',
    ...Object.fromEntries(ENVIRONMENTS.map((n) => [`KEY_${n.toUpperCase()}`, keyOf(n)])),
    ...Object.fromEntries(RECEIVING.map((n) => [`WEBHOOK_SECRET_${n.toUpperCase()}`, SECRETS[n]])),
  });
  const webhooks = `http://127.0.0.1:${port}/webhooks`;
  await until(
    async () => (await fetch(`${webhooks}/ready-check`).catch(() => undefined))?.status === 404,
    30_000,
    () => `the webhook receiver never listened:\n${process.logs()}`,
  );
  return { process, webhooks };
}

async function holders(): Promise<Map<string, string>> {
  const rows = await t.whole
    .selectFrom('leases')
    .select(['environment', 'holder'])
    .where('name', '=', 'events')
    .where('expires_at', '>', new Date())
    .execute();
  return new Map(rows.map((r) => [r.environment, r.holder]));
}

async function exact(name: Name): Promise<boolean> {
  const model = emulator.environment(name)!.model;
  const state = await t
    .environment(name)
    .selectFrom('sync_state')
    .select('cursor')
    .where('stream', '=', 'events')
    .executeTakeFirst();
  return state?.cursor === model.events().at(-1)?.id;
}

const eventReads = (name: Name) =>
  emulator.requests.filter((r) => r.path === '/events' && r.environment === name).length;
const allEventReads = () => Object.fromEntries(ENVIRONMENTS.map((n) => [n, eventReads(n)]));

/** Waits until no environment's events were read for `forMs`: the replicas have nothing left to do. */
async function quiet(forMs = 1_500): Promise<void> {
  let last = '';
  let since = Date.now();
  await until(() => {
    const now = JSON.stringify(allEventReads());
    if (now !== last) {
      last = now;
      since = Date.now();
    }
    return Date.now() - since >= forMs;
  }, 30_000);
}

const stateIn = async (name: Name, id: string) =>
  (
    await t
      .environment(name)
      .selectFrom('connections')
      .select('state')
      .where('id', '=', id)
      .executeTakeFirst()
  )?.state;

/** `workos_sync_<name>` on a replica's page, by its labels exactly (none: the series without any). */
async function sample(replica: WorkerProcess, name: string, labels: Record<string, string>) {
  const text = await (await fetch(`${replica.url}/metrics`)).text();
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '')
      .split(/,(?=\w+=)/)
      .filter(Boolean)
      .sort()
      .join(',');
    if (have === want) return Number(match[3]);
  }
  return undefined;
}

function signedPost(url: string, body: object, secret: string | undefined) {
  const text = JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (secret) headers['WorkOS-Signature'] = webhookSignature(secret, Date.now(), text);
  return fetch(url, { method: 'POST', headers, body: text });
}

it('a webhook wakes its own environment at once, through either replica, and no other; forged and unknown ones are refused', async () => {
  const pollCron = everyFiveMinutesNotSoon();
  replicas.push(await startReplica(pollCron), await startReplica(pollCron));
  const logs = () => replicas.map((r) => r.process.logs()).join('\n');
  await until(
    async () => (await Promise.all(ENVIRONMENTS.map(exact))).every(Boolean),
    60_000,
    () => `never caught up:\n${logs()}`,
  );
  // The shares settled: every environment held, by both replicas between them, and no hand-off
  // for a few ticks (a hand-off starts a poll of its own).
  let settled = '';
  let since = Date.now();
  await until(
    async () => {
      const held = await holders();
      const now = JSON.stringify([...held].sort());
      if (now !== settled || held.size !== ENVIRONMENTS.length || new Set(held.values()).size !== 2) {
        settled = now;
        since = Date.now();
        return false;
      }
      return Date.now() - since >= 4_000;
    },
    60_000,
    () => `the shares never settled: ${settled}\n${logs()}`,
  );
  const held = await holders();
  await until(async () => (await Promise.all(ENVIRONMENTS.map(exact))).every(Boolean), 30_000);
  await quiet();
  const runnerOf = (name: Name) => replicas.find((r) => r.process.logs().includes(held.get(name)!))!;
  for (const name of ENVIRONMENTS) expect(runnerOf(name), `who runs ${name}`).toBeDefined();

  // A change in each environment with a secret, its webhook delivered to each replica in turn:
  // to the one running it, and to the other.
  for (const name of RECEIVING) {
    const world = emulator.environment(name)!;
    for (const receiving of replicas) {
      world.webhooks.configure({ url: `${receiving.webhooks}/${name}`, secret: SECRETS[name] });
      const before = allEventReads();
      const live = world.model.liveConnections().find((c) => c.state === 'active')!;
      const startedAt = Date.now();
      world.model.deactivate(String(live.id));
      await until(
        async () => (await stateIn(name, String(live.id))) === 'inactive',
        BOUND_MS * 4,
        () => `${name}'s change never arrived:\n${logs()}`,
      );
      const tookMs = Date.now() - startedAt;
      const through = receiving === runnerOf(name) ? 'the replica running it' : 'the other replica';
      expect(tookMs, `${name} through ${through}`).toBeLessThan(BOUND_MS);
      await world.webhooks.settled();
      expect(world.webhooks.deliveries().at(-1)).toMatchObject({
        eventId: world.model.events().at(-1)!.id,
        state: 'delivered',
      });
      await quiet();
      // Only this environment was read for it; its webhook reached its runner's worker alone.
      const after = allEventReads();
      for (const other of ENVIRONMENTS.filter((n) => n !== name))
        expect(after[other]! - before[other]!, `${other} polled for ${name}'s webhook`).toBe(0);
      expect(after[name]!).toBeGreaterThan(before[name]!);
      world.webhooks.remove();
    }
    const runner = runnerOf(name).process;
    const other = replicas.find((r) => r.process !== runner)!.process;
    expect(await sample(runner, 'workos_sync_webhook_to_applied_seconds_count', { environment: name })).toBe(
      2,
    );
    expect(
      (await sample(runner, 'workos_sync_nudged_polls_total', { environment: name })) ?? 0,
    ).toBeGreaterThan(0);
    // The other replica does not run it: it nudged nothing of its own.
    expect((await sample(other, 'workos_sync_nudged_polls_total', { environment: name })) ?? 0).toBe(0);
    for (const replica of replicas)
      expect(
        await sample(replica.process, 'workos_sync_webhooks_total', {
          environment: name,
          result: 'accepted',
        }),
        `${name} accepted by one replica`,
      ).toBe(1);
  }
  expect(await holders()).toEqual(held);

  // A new event in alpha, told with beta's secret (at alpha's path) or to beta's path (with
  // alpha's secret): refused, and nothing polls. Told rightly, it is applied at once.
  const alpha = emulator.environment('alpha')!;
  const live = alpha.model.liveConnections().find((c) => c.state === 'active')!;
  const event = alpha.model.deactivate(String(live.id));
  const about = { id: event.id, event: event.event, data: event.data };
  const nudgedBefore = await sample(runnerOf('alpha').process, 'workos_sync_nudged_polls_total', {
    environment: 'alpha',
  });
  const notFound = (replica: WorkerProcess) =>
    sample(replica, 'workos_sync_webhooks_total', { result: 'not_found' });
  const notFoundBefore = await Promise.all(replicas.map((r) => notFound(r.process)));
  const before = allEventReads();
  const answers: Response[] = [];
  for (const replica of replicas) {
    answers.push(
      await signedPost(`${replica.webhooks}/alpha`, about, SECRETS.beta),
      await signedPost(`${replica.webhooks}/beta`, about, SECRETS.alpha),
      await signedPost(`${replica.webhooks}/gamma`, about, SECRETS.alpha),
      await signedPost(`${replica.webhooks}/nope`, about, SECRETS.alpha),
      await signedPost(`${replica.webhooks}/workos`, about, SECRETS.alpha),
    );
  }
  const texts = await Promise.all(answers.map((a) => a.text()));
  expect(answers.map((a) => a.status)).toEqual([401, 401, 404, 404, 404, 401, 401, 404, 404, 404]);
  expect(texts.slice(0, 2).map((x) => JSON.parse(x))).toEqual([
    { status: 'bad signature' },
    { status: 'bad signature' },
  ]);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  expect(allEventReads()).toEqual(before);
  expect(await stateIn('alpha', String(live.id))).toBe('active');
  expect(
    await sample(runnerOf('alpha').process, 'workos_sync_nudged_polls_total', { environment: 'alpha' }),
  ).toBe(nudgedBefore);
  for (const [i, replica] of replicas.entries()) {
    for (const environment of RECEIVING)
      expect(
        await sample(replica.process, 'workos_sync_webhooks_total', { environment, result: 'bad_signature' }),
      ).toBe(1);
    // Counted without an environment: gamma has no path, nope and workos are none's.
    expect((await notFound(replica.process))! - notFoundBefore[i]!).toBe(3);
  }
  const startedAt = Date.now();
  expect((await signedPost(`${replicas[1]!.webhooks}/alpha`, about, SECRETS.alpha)).status).toBe(200);
  await until(async () => (await stateIn('alpha', String(live.id))) === 'inactive', BOUND_MS * 4);
  expect(Date.now() - startedAt).toBeLessThan(BOUND_MS);

  // No secret anywhere: the logs (at debug), the answers, the metrics pages.
  const pages = await Promise.all(
    replicas.map(async (r) => (await fetch(`${r.process.url}/metrics`)).text()),
  );
  const everything = [logs(), ...texts, ...pages].join('\n');
  for (const secret of [...Object.values(SECRETS), ...ENVIRONMENTS.map(keyOf)])
    expect(everything).not.toContain(secret);
  expect(logs()).toContain('webhook accepted');
}, 180_000);
