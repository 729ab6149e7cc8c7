/**
 * The shipped Prometheus alert rules and their promtool tests, read as data, and the metric
 * selectors in a PromQL expression — enough to hold the rules against what the worker exposes.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const RULES_DIR = fileURLToPath(new URL('../../deploy/prometheus/', import.meta.url));
export const RULES_FILE = join(RULES_DIR, 'alerts.yml');
export const RULES_TEST_FILE = join(RULES_DIR, 'alerts.test.yml');

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export function readRuleGroups(): { name: string; rules: AlertRule[] }[] {
  return parse(readFileSync(RULES_FILE, 'utf8')).groups;
}

/** Every alert name the promtool tests evaluate, split by whether a case expects it to fire. */
export function testedAlerts(): { firing: Set<string>; quiet: Set<string> } {
  const tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[] = parse(
    readFileSync(RULES_TEST_FILE, 'utf8'),
  ).tests;
  const firing = new Set<string>();
  const quiet = new Set<string>();
  for (const test of tests) {
    for (const check of test.alert_rule_test ?? []) {
      ((check.exp_alerts ?? []).length > 0 ? firing : quiet).add(check.alertname);
    }
  }
  return { firing, quiet };
}

export interface Matcher {
  readonly label: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

/** The `workos_sync_*` metric selectors of an expression, with their label matchers. */
export function selectors(expr: string): { metric: string; matchers: Matcher[] }[] {
  const found: { metric: string; matchers: Matcher[] }[] = [];
  for (const [, metric, body] of expr.matchAll(/\b(workos_sync_[a-zA-Z0-9_]+)(?:\{([^}]*)\})?/g)) {
    const matchers: Matcher[] = [];
    for (const [, label, op, value] of (body ?? '').matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
      matchers.push({ label: label!, op: op as Matcher['op'], value: value! });
    }
    found.push({ metric: metric!, matchers });
  }
  return found;
}

export interface PromtoolRun {
  readonly code: number;
  readonly output: string;
}

export const PROMTOOL_MISSING =
  'promtool is not on PATH: install it (Debian/Ubuntu: `apt-get install prometheus`; .ci/run does) to test the alert rules';

/** promtool as a child process; a missing binary is an error saying how to install it. */
export function promtool(args: readonly string[]): Promise<PromtoolRun> {
  return new Promise((resolve, reject) => {
    execFile('promtool', args, { cwd: RULES_DIR, timeout: 60_000 }, (error, stdout, stderr) => {
      if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
        reject(new Error(PROMTOOL_MISSING));
        return;
      }
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}
