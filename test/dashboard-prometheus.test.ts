/**
 * The dashboard against the real thing: `run` serves a fleet of two environments (one with
 * webhooks) from the emulator, and a real Prometheus (Debian's `prometheus`, as CI installs it
 * for promtool) scrapes it every second. Then every metric a panel selects is in the real scrape,
 * with every label its matchers name; every `workos_sync_*` family the worker exports is on a
 * panel or listed as left off; and every panel's every query, run by Prometheus with the
 * dashboard's variables as "All" gives them, returns data. The series counts are written to
 * `$WORKOS_SYNC_DASHBOARD_REPORT` when set (the closing note's table). Real Postgres, real
 * processes.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type Emulator,
  generateOrganizationScenario,
  generateScenario,
  startEmulator,
  WorkosModel,
  webhookSignature,
} from '../emulator/index.ts';
import { DASHBOARD, LEFT_OFF } from '../scripts/dashboard.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { parseQuery, substitute } from './support/promql.ts';
import { freePort, startWorkerProcess, until, type WorkerProcess } from './support/worker-process.ts';

const PROMETHEUS = '/usr/bin/prometheus';
const ENVIRONMENTS = ['alpha', 'beta'] as const;
const SECRET = 'whsec_dashboard_0123456789';
const keyOf = (name: string) => `sk_test_dashboard_${name}`;
/** Labels Prometheus adds, and the one a fleet's per-environment series carry (`.*` matches it absent). */
const SCOPE_LABELS = new Set(['job', 'instance', 'environment']);

interface Panel {
  readonly type: string;
  readonly title: string;
  readonly targets?: readonly { readonly expr: string }[];
}

let t: TestDatabase;
let emulator: Emulator;
let worker: WorkerProcess;
let prometheus: ChildProcess;
let prometheusUrl: string;
let dir: string;
const models = new Map<string, WorkosModel>();

beforeAll(async () => {
  if (spawnSync(PROMETHEUS, ['--version']).status !== 0)
    throw new Error(`${PROMETHEUS} is not installed: apt-get install prometheus (.ci/run does)`);
  t = await createTestDatabase();
  emulator = await startEmulator({ apiKey: 'sk_test_dashboard_default' });
  for (const [i, name] of ENVIRONMENTS.entries()) {
    const model = new WorkosModel({ environment: name, seed: 50 + i });
    generateScenario(model, { seed: 50 + i, events: 80 });
    // Organizations and their domains too: the mirrored-rows panel counts them by state.
    generateOrganizationScenario(model, { seed: 50 + i, organizations: 3, domainEvents: 6 });
    emulator.addEnvironment(name, { apiKey: keyOf(name), model });
    models.set(name, model);
  }
  dir = mkdtempSync(join(tmpdir(), 'workos-sync-dashboard-'));
  writeFileSync(
    join(dir, 'environments.yaml'),
    `environments:\n${ENVIRONMENTS.map((n) => `  - name: ${n}\n    api_key_env: KEY_${n.toUpperCase()}\n${n === 'alpha' ? '    webhook_secret_env: ALPHA_SECRET\n' : ''}`).join('')}`,
  );
  const webhookPort = await freePort();
  worker = await startWorkerProcess({
    DATABASE_URL: t.url,
    WORKOS_API_URL: emulator.url,
    WORKOS_SYNC_ENVIRONMENTS_FILE: join(dir, 'environments.yaml'),
    WORKOS_SYNC_WEBHOOK_HOST: '127.0.0.1',
    WORKOS_SYNC_WEBHOOK_PORT: String(webhookPort),
    KEY_ALPHA: keyOf('alpha'),
    KEY_BETA: keyOf('beta'),
    ALPHA_SECRET: SECRET,
  });
  // Data for every panel: the first reconciliations' drift, events applied, a webhook delivered
  // and one refused, and a change the webhook's event carries to the mirror.
  await until(
    () => (worker.logs().match(/poll applied events/g) ?? []).length >= 2,
    30_000,
    () => worker.logs(),
  );
  const alpha = models.get('alpha')!;
  alpha.deactivate(String(alpha.liveConnections().find((c) => c.state === 'active')!.id));
  const event = alpha.events().at(-1)! as { id: string; event: string };
  const body = JSON.stringify({ id: event.id, event: event.event, data: {} });
  const webhooks = `http://127.0.0.1:${webhookPort}/webhooks/alpha`;
  await until(async () => {
    const answer = await fetch(webhooks, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'WorkOS-Signature': webhookSignature(SECRET, Date.now(), body),
      },
      body,
    }).catch(() => undefined);
    return answer?.status === 200;
  }, 10_000);
  await fetch(webhooks, { method: 'POST', headers: { 'WorkOS-Signature': 't=1, v1=00' }, body });
  await until(
    async () =>
      ((await worker.metric('workos_sync_webhook_to_applied_seconds_count', { environment: 'alpha' })) ?? 0) >
      0,
    30_000,
  );

  const port = await freePort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: workos-sync\n    static_configs:\n      - targets: ['${new URL(worker.url).host}']\n`,
  );
  prometheus = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  prometheus.stderr?.on('data', (chunk) => {
    log += chunk;
  });
  // Enough scrapes for a rate over the window the queries get: polled, never slept on.
  await until(
    async () => {
      const samples = await query(
        'count_over_time(workos_sync_polls_total{result="ok", environment="alpha"}[20s])',
      ).catch(() => []);
      return Number(samples[0]?.value[1] ?? 0) >= 8;
    },
    60_000,
    () => log,
  );
}, 120_000);

afterAll(async () => {
  prometheus?.kill('SIGKILL');
  if (worker && worker.child.exitCode === null) worker.child.kill('SIGKILL');
  await emulator?.close();
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await response.json()) as { status: string; error?: string; data: { result: never[] } };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
  return body.data.result;
}

/** Each family of the real scrape, with the label names its samples carry. */
async function families(): Promise<Map<string, Set<string>>> {
  const text = await (await fetch(`${worker.url}/metrics`)).text();
  const found = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) /.exec(line);
    if (type) found.set(type[1]!, new Set());
    const sample = /^([a-z_:][a-z0-9_:]*)(?:\{([^}]*)\})? /.exec(line);
    if (!sample) continue;
    const family = [...found.keys()].find(
      (name) => sample[1] === name || ['_bucket', '_sum', '_count'].some((s) => sample[1] === `${name}${s}`),
    );
    for (const pair of sample[2]?.match(/[a-z_]+(?==")/g) ?? []) found.get(family!)?.add(pair);
  }
  return found;
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
const panels = dashboard.panels.filter((p) => p.type !== 'row');
const familyOf = (metric: string) => metric.replace(/_(bucket|sum|count)$/, '');

it('every metric a panel selects is in the scrape, with every label its matchers name', async () => {
  const scraped = await families();
  for (const panel of panels)
    for (const target of panel.targets ?? [])
      for (const selector of parseQuery(target.expr).selectors) {
        const labels = scraped.get(familyOf(selector.metric));
        expect(labels, `${panel.title}: ${selector.metric}`).toBeDefined();
        for (const { label } of selector.matchers)
          if (!SCOPE_LABELS.has(label)) expect(labels!.has(label), `${selector.metric}{${label}}`).toBe(true);
      }
});

it('every family the worker exports is on a panel, or left off on purpose', async () => {
  const shown = new Set(
    panels.flatMap((p) =>
      (p.targets ?? []).flatMap((t) => parseQuery(t.expr).selectors.map((s) => familyOf(s.metric))),
    ),
  );
  const exported = [...(await families()).keys()].filter((name) => name.startsWith('workos_sync_'));
  expect(exported.length).toBeGreaterThan(20);
  expect(exported.filter((name) => !shown.has(name) && !(name in LEFT_OFF))).toEqual([]);
});

it('Prometheus returns data for every query of every panel', async () => {
  const values = { __rate_interval: '15s', job: 'workos-sync', instance: '.*', environment: '.*' };
  const report: string[] = ['| panel | query | series |', '|---|---|--:|'];
  const empty: string[] = [];
  for (const panel of panels)
    for (const [n, target] of (panel.targets ?? []).entries()) {
      const result = await query(substitute(target.expr, values));
      report.push(`| ${panel.title} | ${String.fromCharCode(65 + n)} | ${result.length} |`);
      if (result.length === 0) empty.push(`${panel.title}: ${target.expr}`);
    }
  if (process.env.WORKOS_SYNC_DASHBOARD_REPORT)
    writeFileSync(process.env.WORKOS_SYNC_DASHBOARD_REPORT, `${report.join('\n')}\n`);
  expect(empty).toEqual([]);
  // And the data says what happened: events were applied in both environments, a webhook's
  // event reached the mirror, the first reconciliations inserted what they listed.
  const applied = await query(
    substitute('sum by (environment) (workos_sync_events_total{job=~"$job", outcome="applied"})', values),
  );
  expect(applied.map((s) => s.metric.environment).sort()).toEqual([...ENVIRONMENTS]);
  expect(
    Number((await query('sum(workos_sync_webhook_to_applied_seconds_count)'))[0]!.value[1]),
  ).toBeGreaterThan(0);
  expect(
    Number((await query('sum(workos_sync_reconciliation_drift_total{kind="inserted"})'))[0]!.value[1]),
  ).toBeGreaterThan(0);
});
