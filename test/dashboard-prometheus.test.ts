/**
 * The dashboard against the real thing. Two `run` processes on the emulator, each on a Postgres
 * database of its own: a fleet of two environments (`alpha` with webhooks, `beta`), and a single
 * environment (no environments file, so no `environment` label). A scenario gives every panel
 * something to show: events applied, a stale one, one of a type not mirrored, a malformed one
 * (quarantined), WorkOS answering 500 (poll errors), the first reconciliations' drift, SAML
 * certificates expired, expiring and unparsable, a webhook accepted and one refused, the leases
 * held. A real Prometheus (Debian's `prometheus`, as CI installs it for promtool; missing, the
 * test fails) scrapes both every second.
 *
 * Then, from the worker's real `/metrics`: every metric a panel selects exists, with every label
 * (and label value) its matchers name, and every `workos_sync_*` family exported is on a panel or
 * in LEFT_OFF. From Prometheus: the variables' queries find the jobs, instances and environments;
 * every query of every panel, with the variables as Grafana substitutes them, returns data for
 * "All", for the fleet's instance, and (the fleet's own panels aside) for the single
 * environment's, whose series have no `environment` label for "All" (`.*`) to match; and the
 * scenario's effects are in Prometheus, not just zeros written up front. The series each query
 * returned are written to `$WORKOS_SYNC_DASHBOARD_REPORT` (default
 * `$TMPDIR/workos-sync-dashboard-series.md`) and printed.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type Emulator,
  generateOrganizationScenario,
  generateScenario,
  isSamlType,
  startEmulator,
  WorkosModel,
  webhookSignature,
} from '../emulator/index.ts';
import { DASHBOARD, LEFT_OFF } from '../scripts/dashboard.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { parseQuery, substitute } from './support/promql.ts';
import { freePort, startWorkerProcess, until, type WorkerProcess } from './support/worker-process.ts';

const PROMETHEUS = '/usr/bin/prometheus';
const JOB = 'workos-sync';
const ENVIRONMENTS = ['alpha', 'beta'] as const;
const SECRET = 'whsec_dashboard_0123456789';
const DEFAULT_KEY = 'sk_test_dashboard_default';
const keyOf = (name: string) => `sk_test_dashboard_${name}`;
const REPORT = process.env.WORKOS_SYNC_DASHBOARD_REPORT ?? join(tmpdir(), 'workos-sync-dashboard-series.md');
/** A window of 15 scrapes at 1 s: what Grafana's `$__rate_interval` is at least (4 scrapes) and more. */
const RATE_INTERVAL = '15s';
/** The labels every query matches through the dashboard's variables (job and instance: Prometheus's). */
const SCOPE_LABELS = new Set(['job', 'instance', 'environment']);

interface Panel {
  readonly type: string;
  readonly title: string;
  readonly targets?: readonly { readonly expr: string }[];
}
interface Variable {
  readonly name: string;
  readonly type: string;
  readonly query?: { readonly query: string };
}
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
  panels: Panel[];
  templating: { list: Variable[] };
};
const panels = dashboard.panels.filter((p) => p.type !== 'row');
const familyOf = (metric: string) => metric.replace(/_(bucket|sum|count)$/, '');
const fleetOnly = (panel: Panel) =>
  (panel.targets ?? []).every((t) =>
    parseQuery(t.expr).selectors.every((s) => s.metric.startsWith('workos_sync_fleet_')),
  );

/**
 * What the scenario did, as Prometheus must have scraped it: each a query of the raw series
 * (no rate, whose window may have passed) that is above zero only because it happened, by the
 * panel that shows it. The panels not here show what a healthy run never does (cursor
 * recoveries, onChange hook failures — `run` has no hooks, the library does —, bookkeeping and
 * scrape failures, failed polls and fleet ticks, environments stopped): their series exist from
 * zero, written up front, and the query-returns-data check covers them.
 */
const PROOFS: readonly { readonly panel: string; readonly expr: string }[] = [
  { panel: 'Since the last successful poll', expr: 'count(workos_sync_seconds_since_last_successful_poll)' },
  { panel: 'Lag behind WorkOS', expr: 'count(workos_sync_lag_seconds)' },
  { panel: 'Cursor age', expr: 'count(workos_sync_cursor_age_seconds)' },
  { panel: 'Since the last poll', expr: 'count(workos_sync_seconds_since_last_poll)' },
  ...['applied', 'stale', 'ignored', 'quarantined'].map((outcome) => ({
    panel: 'Events by outcome',
    expr: `sum(workos_sync_events_total{environment="alpha", outcome="${outcome}"})`,
  })),
  { panel: 'Quarantined events stored', expr: 'max(workos_sync_quarantined_events{environment="alpha"})' },
  { panel: 'Polls by result', expr: 'sum(workos_sync_polls_total{result="ok"})' },
  { panel: 'Poll duration', expr: 'sum(workos_sync_poll_duration_seconds_count)' },
  { panel: 'WorkOS pages and listings', expr: 'sum(workos_sync_pages_fetched_total)' },
  { panel: 'WorkOS pages and listings', expr: 'sum(workos_sync_organization_refreshes_total)' },
  {
    panel: 'Errors by kind',
    expr: 'sum(workos_sync_api_errors_total{environment="beta", kind="server_error"})',
  },
  {
    panel: 'Errors by kind',
    expr: 'sum(workos_sync_api_errors_total{environment!~".+", kind="server_error"})',
  },
  { panel: 'Connection drift fixed', expr: 'sum(workos_sync_reconciliation_drift_total{kind="inserted"})' },
  {
    panel: 'Organization and domain drift fixed',
    expr: 'sum(workos_sync_reconciliation_organization_drift_total{entity="domain"})',
  },
  { panel: 'Reconciliations by result', expr: 'sum(workos_sync_reconciliations_total{result="ok"})' },
  { panel: 'Reconciliation duration', expr: 'sum(workos_sync_reconciliation_duration_seconds_count)' },
  ...['expired', 'expiring_14d', 'expiring_30d'].map((gauge) => ({
    panel: 'SAML certificates expiring',
    expr: `max(workos_sync_certificates_${gauge}{environment="alpha"})`,
  })),
  {
    panel: 'Unparsable certificates listed',
    expr: 'sum(workos_sync_reconciliation_certificates_unparsable_total{environment="alpha"})',
  },
  { panel: 'Mirrored rows', expr: 'min(workos_sync_connections{state="live"})' },
  { panel: 'Mirrored rows', expr: 'min(workos_sync_organizations{environment=~".+", state="live"})' },
  { panel: 'Lease holders', expr: 'min(workos_sync_lease_held{lease="events"})' },
  ...['accepted', 'bad_signature'].map((result) => ({
    panel: 'Webhook deliveries by result',
    expr: `sum(workos_sync_webhooks_total{environment="alpha", result="${result}"})`,
  })),
  { panel: 'Webhook to applied', expr: 'sum(workos_sync_webhook_to_applied_seconds_count)' },
  { panel: 'Nudged polls', expr: 'sum(workos_sync_nudged_polls_total)' },
  { panel: 'Replicas and environments', expr: 'min(workos_sync_fleet_live_workers)' },
  { panel: 'Replicas and environments', expr: 'sum(workos_sync_fleet_environments)' },
  { panel: 'Hand-offs', expr: 'sum(workos_sync_fleet_handoffs_total{direction="taken"})' },
];

let fleetDb: TestDatabase;
let singleDb: TestDatabase;
let emulator: Emulator;
let fleet: WorkerProcess;
let single: WorkerProcess;
let prometheus: ChildProcess | undefined;
let prometheusUrl: string;
let prometheusLog = '';
let dir: string;

beforeAll(async () => {
  if (spawnSync(PROMETHEUS, ['--version']).status !== 0)
    throw new Error(`${PROMETHEUS} is not installed: apt-get install prometheus (.ci/run does)`);
  [fleetDb, singleDb] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  const defaultModel = new WorkosModel({ seed: 49 });
  generateScenario(defaultModel, { seed: 49, events: 40 });
  // Without organization domains `workos_sync_organization_domains` has no series at all.
  generateOrganizationScenario(defaultModel, { seed: 49, organizations: 2, domainEvents: 2 });
  emulator = await startEmulator({ apiKey: DEFAULT_KEY, model: defaultModel });
  for (const [i, name] of ENVIRONMENTS.entries()) {
    const model = new WorkosModel({ environment: name, seed: 50 + i });
    generateScenario(model, { seed: 50 + i, events: 80 });
    // Organizations and their domains too: drift, listings and mirrored rows of both.
    generateOrganizationScenario(model, { seed: 50 + i, organizations: 3, domainEvents: 6 });
    emulator.addEnvironment(name, { apiKey: keyOf(name), model });
  }
  // Certificates the first reconciliation lists: one expired, one expiring within 14 days, one
  // whose expiry cannot be read.
  const alpha = emulator.environment('alpha')!.model;
  const saml = alpha.liveConnections().filter((c) => isSamlType(c.connection_type));
  expect(saml.length).toBeGreaterThanOrEqual(3);
  const day = 86_400_000;
  alpha.setSigningCertificate(saml[0]!.id, { notAfter: new Date(Date.now() - 5 * day) });
  alpha.setSigningCertificate(saml[1]!.id, { notAfter: new Date(Date.now() + 10 * day) });
  alpha.setSigningCertificate(saml[2]!.id, { raw: 'not a pem' });

  dir = mkdtempSync(join(tmpdir(), 'workos-sync-dashboard-'));
  writeFileSync(
    join(dir, 'environments.yaml'),
    `environments:\n${ENVIRONMENTS.map((n) => `  - name: ${n}\n    api_key_env: KEY_${n.toUpperCase()}\n${n === 'alpha' ? '    webhook_secret_env: ALPHA_SECRET\n' : ''}`).join('')}`,
  );
  const webhookPort = await freePort();
  [fleet, single] = await Promise.all([
    startWorkerProcess({
      DATABASE_URL: fleetDb.url,
      WORKOS_API_URL: emulator.url,
      WORKOS_SYNC_ENVIRONMENTS_FILE: join(dir, 'environments.yaml'),
      WORKOS_SYNC_WEBHOOK_HOST: '127.0.0.1',
      WORKOS_SYNC_WEBHOOK_PORT: String(webhookPort),
      KEY_ALPHA: keyOf('alpha'),
      KEY_BETA: keyOf('beta'),
      ALPHA_SECRET: SECRET,
    }),
    startWorkerProcess({
      DATABASE_URL: singleDb.url,
      WORKOS_API_URL: emulator.url,
      WORKOS_API_KEY: DEFAULT_KEY,
    }),
  ]);

  // Prometheus from the start, so that its scrapes span the scenario.
  const port = await freePort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: ${JOB}\n    static_configs:\n      - targets: ['${instanceOf(fleet)}', '${instanceOf(single)}']\n`,
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
  prometheus.stderr?.on('data', (chunk) => {
    prometheusLog += chunk;
  });

  // The first reconciliations and polls: events applied everywhere.
  await until(
    async () =>
      (await sample(fleet, 'workos_sync_events_total', { environment: 'alpha', outcome: 'applied' })) > 0 &&
      (await sample(fleet, 'workos_sync_events_total', { environment: 'beta', outcome: 'applied' })) > 0 &&
      (await sample(single, 'workos_sync_events_total', { outcome: 'applied' })) > 0,
    30_000,
    () => `${fleet.logs()}\n${single.logs()}`,
  );
  // A stale event (an old version of a connection, listed again), one of a type the mirror does
  // not handle, a malformed one, a domain event; then a change the webhook announces.
  const first = alpha.events().find((e) => String(e.event).startsWith('connection.activated'))!;
  alpha.appendRawEvent({ object: 'event', event: first.event, data: first.data });
  alpha.appendRawEvent({ object: 'event', event: 'connection.renamed', data: { id: 'conn_dashboard' } });
  alpha.appendRawEvent({ object: 'event', event: 'connection.activated', data: { id: 42 } });
  // A domain added: its batch lists the organization's connections again (a refresh).
  alpha.addDomain(alpha.liveOrganizations()[0]!.id, 'dashboard-refresh.example');
  alpha.deactivate(String(alpha.liveConnections().find((c) => c.state === 'active')!.id));
  // WorkOS failing: past the SDK's own retries, so the worker counts it and waits it out.
  for (const environment of ['beta', 'default'])
    emulator.faults.add({ kind: 'status', status: 500, path: '/events', environment, times: 3 });

  const event = alpha.events().at(-1)! as { id: string; event: string };
  const body = JSON.stringify({ id: event.id, event: event.event, data: {} });
  const webhooks = `http://127.0.0.1:${webhookPort}/webhooks/alpha`;
  const deliver = (signature: string) =>
    fetch(webhooks, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'WorkOS-Signature': signature },
      body,
    }).catch(() => undefined);
  await until(
    async () => (await deliver(webhookSignature(SECRET, Date.now(), body)))?.status === 200,
    10_000,
  );
  expect((await deliver(webhookSignature('whsec_not_this_one', Date.now(), body)))?.status).toBe(401);

  // The scenario done, as the workers count it...
  await until(
    async () => {
      const alphaOutcomes = await Promise.all(
        ['stale', 'ignored', 'quarantined'].map((outcome) =>
          sample(fleet, 'workos_sync_events_total', { environment: 'alpha', outcome }),
        ),
      );
      return (
        alphaOutcomes.every((n) => n > 0) &&
        (await sample(fleet, 'workos_sync_webhook_to_applied_seconds_count')) > 0 &&
        (await sample(fleet, 'workos_sync_api_errors_total', { environment: 'beta', kind: 'server_error' })) >
          0 &&
        (await sample(single, 'workos_sync_api_errors_total', { kind: 'server_error' })) > 0
      );
    },
    30_000,
    () => `${fleet.logs()}\n${single.logs()}`,
  );
  // ...and as Prometheus scraped it: both targets up, enough scrapes for a rate, every proof in.
  let waiting = '';
  await until(
    async () => {
      const { data } = (await (await fetch(`${prometheusUrl}/api/v1/targets`)).json()) as {
        data: { activeTargets: { health: string; lastError: string; labels: Record<string, string> }[] };
      };
      const up = data.activeTargets.filter((t) => t.health === 'up' && t.labels.job === JOB);
      waiting = `targets: ${JSON.stringify(data.activeTargets)}`;
      if (up.length !== 2) return false;
      const scrapes = await query(`count_over_time(up{job="${JOB}"}[${RATE_INTERVAL}])`);
      waiting = `scrapes in ${RATE_INTERVAL}: ${JSON.stringify(scrapes)}`;
      if (scrapes.length !== 2 || scrapes.some((s) => Number(s.value[1]) < 5)) return false;
      for (const { expr } of PROOFS) {
        waiting = `not yet in Prometheus: ${expr}`;
        if (!(Number((await query(expr))[0]?.value[1]) > 0)) return false;
      }
      return true;
    },
    30_000,
    () => `${waiting}\n${prometheusLog}`,
  );
}, 120_000);

afterAll(async () => {
  const children = [prometheus, fleet?.child, single?.child].filter(
    (child): child is ChildProcess =>
      child !== undefined && child.exitCode === null && child.signalCode === null,
  );
  await Promise.all(
    children.map((child) => {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      return exited;
    }),
  );
  await emulator?.close();
  await Promise.all([fleetDb?.close(), singleDb?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function instanceOf(worker: WorkerProcess): string {
  return new URL(worker.url).host;
}

/** The sum of a metric's samples on a worker's page that carry every label given. */
async function sample(
  worker: WorkerProcess,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  let sum = 0;
  for (const s of (await page(worker)).samples)
    if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  return sum;
}

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A worker's real `/metrics` page: its `# TYPE` families and its samples. */
async function page(worker: WorkerProcess): Promise<{ types: Set<string>; samples: Sample[] }> {
  const text = await (await fetch(`${worker.url}/metrics`)).text();
  const types = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) /.exec(line);
    if (type) types.add(type[1]!);
    if (line === '' || line.startsWith('#')) continue;
    const [, name, body, value] = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line) ?? [];
    if (!name) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, label, v] of (body ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[label!] = v!;
    samples.push({ name, labels, value: Number(value) });
  }
  return { types, samples };
}

/** Each family of a page, with every label name and value its samples carry. */
async function families(worker: WorkerProcess): Promise<Map<string, Map<string, Set<string>>>> {
  const { types, samples } = await page(worker);
  const found = new Map([...types].map((family) => [family, new Map<string, Set<string>>()]));
  for (const s of samples) {
    const labels = found.get(types.has(s.name) ? s.name : familyOf(s.name));
    if (!labels) throw new Error(`${s.name}: a sample of no family`);
    for (const [label, value] of Object.entries(s.labels)) {
      if (!labels.has(label)) labels.set(label, new Set());
      labels.get(label)!.add(value);
    }
  }
  return found;
}

async function query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await response.json()) as { status: string; error?: string; data: { result: never[] } };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
  return body.data.result;
}

/** Grafana's values for a regex matcher: the instance's address, its dots escaped. */
const regexOf = (instance: string) => instance.replace(/[.]/g, '\\\\.');
const allOf = { __rate_interval: RATE_INTERVAL, job: JOB, instance: '.*', environment: '.*' };

it('every metric a panel selects is in the scrape, with every label and label value its matchers name', async () => {
  const scraped = await families(fleet);
  const missing: string[] = [];
  for (const panel of panels)
    for (const target of panel.targets ?? [])
      for (const selector of parseQuery(target.expr).selectors) {
        const labels = scraped.get(familyOf(selector.metric));
        if (!labels) {
          missing.push(`${panel.title}: no ${selector.metric}`);
          continue;
        }
        for (const { label, op, value } of selector.matchers) {
          // job and instance are Prometheus's; environment is every environment-scoped series'
          // (the fleet's own have none, and `.*` matches it absent).
          if (SCOPE_LABELS.has(label)) continue;
          if (!labels.has(label)) missing.push(`${panel.title}: ${selector.metric} has no label ${label}`);
          else if (op === '=' && !labels.get(label)!.has(value))
            missing.push(`${panel.title}: ${selector.metric}{${label}="${value}"} is never exported`);
        }
      }
  expect(missing).toEqual([]);
  // The scope label the fleet's environment series carry, which the variable selects by.
  expect([...(scraped.get('workos_sync_events_total')?.get('environment') ?? [])].sort()).toEqual([
    ...ENVIRONMENTS,
  ]);
});

it('every family the worker exports is on a panel, or left off on purpose', async () => {
  const shown = new Set(
    panels.flatMap((p) =>
      (p.targets ?? []).flatMap((t) => parseQuery(t.expr).selectors.map((s) => familyOf(s.metric))),
    ),
  );
  const exported = new Set(
    [...(await families(fleet)).keys(), ...(await families(single)).keys()].filter((name) =>
      name.startsWith('workos_sync_'),
    ),
  );
  expect(exported.size).toBeGreaterThan(20);
  expect([...exported].filter((name) => !shown.has(name) && !(name in LEFT_OFF))).toEqual([]);
  // LEFT_OFF holds only what is exported and not shown: no entry outlives its metric or its reason.
  for (const name of Object.keys(LEFT_OFF)) {
    expect(exported.has(name), `LEFT_OFF: ${name} is not exported`).toBe(true);
    expect(shown.has(name), `LEFT_OFF: ${name} is on a panel`).toBe(false);
  }
});

it("the variables' queries find the job, both instances and the fleet's environments", async () => {
  const values = async (variable: string) => {
    const definition = dashboard.templating.list.find((v) => v.name === variable)!.query!.query;
    const [, selector, label] = /^label_values\((.+), (\w+)\)$/.exec(definition) ?? [];
    expect(selector, definition).toBeDefined();
    const url = `${prometheusUrl}/api/v1/label/${label}/values?match[]=${encodeURIComponent(substitute(selector!, allOf))}`;
    return ((await (await fetch(url)).json()) as { data: string[] }).data.sort();
  };
  expect(await values('job')).toEqual([JOB]);
  expect(await values('instance')).toEqual([instanceOf(fleet), instanceOf(single)].sort());
  expect(await values('environment')).toEqual([...ENVIRONMENTS]);
  expect(dashboard.templating.list.find((v) => v.name === 'datasource')?.type).toBe('datasource');
});

it('Prometheus returns data for every query of every panel: All, the fleet, and a single environment without the label', async () => {
  const views = {
    all: allOf,
    fleet: { ...allOf, instance: regexOf(instanceOf(fleet)) },
    single: { ...allOf, instance: regexOf(instanceOf(single)) },
  };
  const report = [
    `Series Prometheus returned per panel query (${RATE_INTERVAL} for $__rate_interval; instance All, the fleet's, the single environment's):`,
    '',
    '| panel | query | All | fleet | single |',
    '|---|---|--:|--:|--:|',
  ];
  const empty: string[] = [];
  for (const panel of panels)
    for (const [n, target] of (panel.targets ?? []).entries()) {
      const counts: number[] = [];
      for (const [view, values] of Object.entries(views)) {
        const result = await query(substitute(target.expr, values));
        counts.push(result.length);
        if (view === 'single') {
          // Without an environments file there is no environment label: "All" still matches, and
          // the fleet's own panels are empty, as their description says.
          if (fleetOnly(panel)) {
            if (result.length > 0) empty.push(`${panel.title} (single): a fleet panel with data`);
            continue;
          }
          for (const series of result)
            if ('environment' in series.metric) empty.push(`${panel.title} (single): an environment label`);
        }
        if (result.length === 0) empty.push(`${panel.title} (${view}): ${target.expr}`);
      }
      report.push(`| ${panel.title} | ${String.fromCharCode(65 + n)} | ${counts.join(' | ')} |`);
    }
  writeFileSync(REPORT, `${report.join('\n')}\n`);
  console.log(`${report.join('\n')}\n(written to ${REPORT})`);
  expect(empty).toEqual([]);
});

it('shows what the scenario did, in Prometheus, on the panels that show it', async () => {
  const titles = new Set(panels.map((p) => p.title));
  const zero: string[] = [];
  for (const { panel, expr } of PROOFS) {
    expect(titles.has(panel), `PROOFS names no panel "${panel}"`).toBe(true);
    const value = Number((await query(expr))[0]?.value[1] ?? 0);
    if (!(value > 0)) zero.push(`${panel}: ${expr} = ${value}`);
  }
  expect(zero).toEqual([]);
  // The one lease holder of each lease and environment is one of the scraped instances.
  const holders = await query(
    `max by (instance, lease, environment) (workos_sync_lease_held{job="${JOB}"}) == 1`,
  );
  expect(
    holders
      .filter((s) => s.metric.lease === 'events')
      .map((s) => `${s.metric.environment ?? '-'} ${s.metric.instance}`)
      .sort(),
  ).toEqual([`- ${instanceOf(single)}`, `alpha ${instanceOf(fleet)}`, `beta ${instanceOf(fleet)}`]);
});
