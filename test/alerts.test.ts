/**
 * The Prometheus alert rules shipped in deploy/prometheus: promtool accepts them and passes their
 * unit tests (real promtool child processes; missing promtool is a failure, never a skip), every
 * rule carries what an on-call needs (a fixed summary, a templated description, a runbook_url
 * whose anchor exists in the file it names) and is in the table of docs/operations.md, every alert is
 * tested both ways, every rule keeps the `environment` label of what it aggregates (one alert per
 * environment of a fleet), and every metric and label value the rules select exists in a real
 * scrape of the worker's metrics over Postgres or of a fleet's own metrics — so a renamed metric
 * fails here instead of silently never alerting.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleetMetrics } from '../src/worker/fleet/fleet-metrics.ts';
import { createMetrics } from '../src/worker/metrics.ts';
import {
  type Matcher,
  PROMTOOL_MISSING,
  promtool,
  RULES_FILE,
  RULES_TEST_FILE,
  readRuleGroups,
  selectors,
  testedAlerts,
} from './support/alert-rules.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.close();
});

describe('promtool', () => {
  it('check rules accepts alerts.yml', async () => {
    const run = await promtool(['check', 'rules', RULES_FILE]);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('SUCCESS');
  });

  it('test rules passes alerts.test.yml', async () => {
    const run = await promtool(['test', 'rules', RULES_TEST_FILE]);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('SUCCESS');
  });

  it('says how to install promtool when it is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(promtool(['--version'])).rejects.toThrow(PROMTOOL_MISSING);
    } finally {
      process.env.PATH = path;
    }
    expect(PROMTOOL_MISSING).toContain('apt-get install prometheus');
  });
});

describe('the rules', () => {
  const groups = readRuleGroups();
  const rules = groups.flatMap((group) => group.rules);

  it('are one group, each alert named, timed, graded and explained', () => {
    expect(groups.map((group) => group.name)).toEqual(['workos-sync']);
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(rule.alert).toMatch(/^WorkosSync[A-Z]\w+$/);
      expect(rule.expr, rule.alert).toMatch(/workos_sync_/);
      expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
    }
    expect(new Set(rules.map((rule) => rule.alert)).size).toBe(rules.length);
  });

  it('each have a promtool case that fires and one that must not', () => {
    const { firing, quiet } = testedAlerts();
    for (const { alert } of rules) {
      expect(firing.has(alert), `${alert}: no case expects it to fire`).toBe(true);
      expect(quiet.has(alert), `${alert}: no case expects it to stay quiet`).toBe(true);
    }
    // A case for an alert that no longer exists passes vacuously: catch the rename.
    for (const alert of [...firing, ...quiet]) expect(rules.map((rule) => rule.alert)).toContain(alert);
  });

  it('match the table of alerts in docs/operations.md, severities included', () => {
    const operations = readFileSync(new URL('../docs/operations.md', import.meta.url), 'utf8');
    const table = [...operations.matchAll(/^\| `(WorkosSync\w+)` \| (\w+) \|/gm)];
    expect(table.map(([, alert, severity]) => `${alert} ${severity}`)).toEqual(
      rules.map((rule) => `${rule.alert} ${rule.labels?.severity}`),
    );
  });

  it('are in the mixin style: a prefixed CamelCase name, a severity, a fixed summary, a templated description, a runbook that exists', () => {
    for (const rule of rules) {
      expect(rule.alert).toMatch(/^WorkosSync[A-Z][A-Za-z]+$/);
      expect(['critical', 'warning'], rule.alert).toContain(rule.labels?.severity);
      const { summary, description, runbook_url: runbook } = rule.annotations ?? {};
      expect(summary, rule.alert).toMatch(/^[A-Z]/);
      expect(summary, `${rule.alert}: a summary groups alerts, so it names no value`).not.toContain('{{');
      expect(description, `${rule.alert}: the description carries the value or the environment`).toContain(
        '{{',
      );
      const { file, anchor } = runbookOf(runbook);
      expect(file, `${rule.alert}: runbook_url ${runbook}`).toBe('docs/operations.md');
      expect(anchor, `${rule.alert}: runbook_url`).toBe(`runbook-${rule.alert.toLowerCase()}`);
      const page = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
      const at = page.indexOf(`<a id="${anchor}"></a>`);
      expect(at, `${rule.alert}: ${file} has no <a id="${anchor}">`).toBeGreaterThanOrEqual(0);
      // The anchor is the alert's own runbook, not a stray id: its entry names it next.
      expect(
        page
          .slice(at)
          .split('\n')
          .find((line, i) => i > 0 && line.trim() !== ''),
      ).toBe(`**${rule.alert}** (${rule.labels?.severity})`);
    }
  });

  it('a runbook_url names a file of this repository and an anchor (the check can fail)', () => {
    expect(
      runbookOf('https://github.com/workos-sync/workos-sync/blob/main/docs/operations.md#runbook-x'),
    ).toEqual({ file: 'docs/operations.md', anchor: 'runbook-x' });
    expect(runbookOf('https://example.com/docs/operations.md#runbook-x')).toEqual({});
    expect(runbookOf('https://github.com/workos-sync/workos-sync/blob/main/docs/operations.md')).toEqual({});
    expect(runbookOf(undefined)).toEqual({});
  });

  it('keep the environment label of what they aggregate, so that a fleet gets one alert per environment', () => {
    for (const rule of rules) {
      // The fleet's own metrics have no environment label: aggregated whole, one alert per fleet.
      if (selectors(rule.expr).every(({ metric }) => metric.startsWith('workos_sync_fleet_'))) continue;
      const aggregations = [...rule.expr.matchAll(/\b(?:sum|min|max|avg|count)\s*(by\s*\([^)]*\))?\s*\(/g)];
      expect(aggregations.length, rule.alert).toBeGreaterThan(0);
      for (const [aggregation, grouping] of aggregations) {
        expect(grouping?.replace(/\s+/g, ''), `${rule.alert}: ${aggregation}`).toBe('by(environment)');
      }
      // Matched on the environment; the one exception adds a 0 only when there is no series at all.
      for (const [operation, matching, right] of rule.expr.matchAll(
        /\b(?:and|or|unless)\b\s*(on\s*\([^)]*\))?\s*(\w+)/g,
      )) {
        const expected = right === 'vector' ? 'on()' : 'on(environment)';
        expect(matching?.replace(/\s+/g, ''), `${rule.alert}: ${operation}`).toBe(expected);
      }
    }
  });

  it('select only metrics and label values a real scrape of the worker, or of a fleet, exposes', async () => {
    const now = Date.now();
    // Every database-derived gauge present: none is left out for want of a row.
    await t.db
      .updateTable('sync_state')
      .set({
        cursor: 'event_1',
        cursor_updated_at: new Date(now - 10_000),
        last_poll_at: new Date(now - 1_000),
        caught_up_at: new Date(now - 1_000),
        last_event_created_at: new Date(now - 20_000),
      })
      .where('stream', '=', 'events')
      .execute();
    const scrape = [
      ...parseExposition(await createMetrics({ db: t.db }).registry.metrics()),
      // The fleet's own (no environment label), as a replica running one of two environments has them.
      ...parseExposition(await createFleetMetrics({ declared: 2, running: () => 1 }).registry.metrics()),
    ];

    const wanted = rules.flatMap((rule) =>
      selectors(rule.expr).flatMap((selector) =>
        expandAlternatives(selector.matchers).map((matchers) => ({
          rule: rule.alert,
          ...selector,
          matchers,
        })),
      ),
    );
    expect(wanted.length).toBeGreaterThan(0);
    for (const { rule, metric, matchers } of wanted) {
      const series = scrape.filter((s) => s.name === metric);
      expect(series.length, `${rule}: ${metric} is not in the scrape`).toBeGreaterThan(0);
      const shown = matchers.map((m) => `${m.label}${m.op}"${m.value}"`).join(',');
      expect(
        series.some((s) => matchers.every((m) => matches(m, s.labels[m.label] ?? ''))),
        `${rule}: no ${metric}{${shown}} in the scrape`,
      ).toBe(true);
    }
  });
});

/** The file of this repository and the anchor in it that a runbook_url names; {} for any other URL. */
function runbookOf(url: string | undefined): { file?: string; anchor?: string } {
  const [, file, anchor] =
    /^https:\/\/github\.com\/workos-sync\/workos-sync\/blob\/main\/([\w./-]+\.md)#([\w-]+)$/.exec(
      url ?? '',
    ) ?? [];
  return file && anchor ? { file, anchor } : {};
}

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
}

/** The samples of a Prometheus text exposition (names and labels; values are not needed here). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [, name, body] = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s/.exec(line) ?? [];
    if (!name) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, label, value] of (body ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[label!] = value!;
    samples.push({ name, labels });
  }
  return samples;
}

/**
 * `result=~"a|b|c"` asks for three label values: each must exist, so one renamed value fails
 * although the others still match. Any other regular expression just has to match something.
 */
function expandAlternatives(matchers: readonly Matcher[]): Matcher[][] {
  let combinations: Matcher[][] = [[]];
  for (const matcher of matchers) {
    const alternatives =
      matcher.op === '=~' && /^[\w|]+$/.test(matcher.value)
        ? matcher.value.split('|').map((value) => ({ ...matcher, op: '=' as const, value }))
        : [matcher];
    combinations = combinations.flatMap((combination) => alternatives.map((m) => [...combination, m]));
  }
  return combinations;
}

/** PromQL's matcher semantics: regular expressions are anchored at both ends. */
function matches(matcher: Matcher, value: string): boolean {
  switch (matcher.op) {
    case '=':
      return value === matcher.value;
    case '!=':
      return value !== matcher.value;
    case '=~':
      return new RegExp(`^(?:${matcher.value})$`).test(value);
    case '!~':
      return !new RegExp(`^(?:${matcher.value})$`).test(value);
  }
}
