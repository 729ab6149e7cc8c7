/**
 * The Grafana dashboard, offline: the checked-in JSON is what `npm run docs:dashboard` writes from
 * scripts/dashboard.ts; every query parses with Prometheus's grammar; every selector is scoped by
 * the dashboard's job, instance and environment variables and names a workos-sync metric; every
 * range window is `$__rate_interval`; every panel has a unit and a description; the variables let
 * "All" match a deployment without an `environment` label. Whether the metrics and labels exist,
 * and whether each query returns data, is test/dashboard-prometheus.test.ts's, against a real
 * scrape and a real Prometheus.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DASHBOARD, renderDashboard } from '../scripts/dashboard.ts';
import { parseQuery } from './support/promql.ts';

interface Panel {
  readonly type: string;
  readonly title: string;
  readonly description?: string;
  readonly fieldConfig?: { readonly defaults?: { readonly unit?: string } };
  readonly targets?: readonly { readonly expr: string }[];
}
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
  panels: Panel[];
  templating: { list: { name: string; type: string; allValue?: string; includeAll?: boolean }[] };
};
const panels = dashboard.panels.filter((p) => p.type !== 'row');

it('is what npm run docs:dashboard writes', () => {
  expect(readFileSync(DASHBOARD, 'utf8'), 'run `npm run docs:dashboard`').toBe(renderDashboard());
});

it('has a variable per label the metrics have, each with an All that matches a missing label', () => {
  const byName = new Map(dashboard.templating.list.map((v) => [v.name, v]));
  expect(byName.get('datasource')?.type).toBe('datasource');
  for (const name of ['job', 'instance', 'environment'])
    expect(byName.get(name), name).toMatchObject({
      type: 'query',
      multi: true,
      includeAll: true,
      allValue: '.*',
    });
});

describe.each(panels.map((p) => [p.title, p]))('%s', (_title, panel) => {
  it('has a unit and a description', () => {
    expect(panel.fieldConfig?.defaults?.unit).toMatch(/^[a-z]+$/);
    expect(panel.description?.length).toBeGreaterThan(20);
  });

  it.each((panel.targets ?? []).map((t) => [t.expr]))(
    '%s parses, is scoped and windowed by the variables',
    (expr) => {
      const query = parseQuery(expr);
      expect(query.errors).toEqual([]);
      expect(query.selectors.length).toBeGreaterThan(0);
      for (const selector of query.selectors) {
        expect(selector.metric).toMatch(/^workos_sync_[a-z0-9_]+$/);
        const scoped = Object.fromEntries(selector.matchers.map((m) => [m.label, `${m.op}${m.value}`]));
        expect(scoped).toMatchObject({
          job: '=~$job',
          instance: '=~$instance',
          environment: '=~$environment',
        });
      }
      for (const range of query.ranges) expect(range).toBe('$__rate_interval');
    },
  );
});

it('a query with an error is caught by the grammar (the check can fail)', () => {
  expect(parseQuery('sum by (kind (rate(x[$__rate_interval]))').errors).not.toEqual([]);
  expect(parseQuery('rate(x{job=~"$job"}[5m])').ranges).toEqual(['5m']);
});
