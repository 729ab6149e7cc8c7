/**
 * A dashboard query as Prometheus will read it, through Prometheus's own grammar
 * (`@prometheus-io/lezer-promql`, the parser of its web UI): Grafana's variables substituted,
 * then the selectors, their label matchers and the range windows it holds, and whether it parses.
 */
import { parser } from '@prometheus-io/lezer-promql';

export interface Selector {
  readonly metric: string;
  readonly matchers: readonly { readonly label: string; readonly op: string; readonly value: string }[];
}

export interface ParsedQuery {
  /** The text of each part the grammar could not read; empty when the query parses. */
  readonly errors: readonly string[];
  readonly selectors: readonly Selector[];
  /** The window of every range selector, as written (before substitution). */
  readonly ranges: readonly string[];
}

/** Grafana's variables as a dashboard in use would give them. */
export function substitute(expr: string, values: Readonly<Record<string, string>>): string {
  return expr.replace(/\$(__rate_interval|[a-z_]+)\b/g, (whole, name: string) => values[name] ?? whole);
}

/**
 * A query as the dashboard holds it. `$__rate_interval` is no duration to the grammar: it is read
 * as written, from the text, and a minute is parsed in its place; the other variables sit inside
 * label values, which the grammar reads as they are (so a matcher's value is its variable).
 */
export function parseQuery(expr: string): ParsedQuery {
  const ranges = [...expr.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]!);
  const text = substitute(expr, { __rate_interval: '1m' });
  const errors: string[] = [];
  const selectors: Selector[] = [];
  let current: { metric: string; matchers: Selector['matchers'][number][] } | null = null;
  let matcher: { label?: string; op?: string } = {};
  parser.parse(text).iterate({
    enter(node) {
      const at = text.slice(node.from, node.to);
      if (node.type.isError) errors.push(`"${at}" at ${node.from}`);
      else if (node.name === 'VectorSelector') {
        current = { metric: '', matchers: [] };
        selectors.push(current);
      } else if (node.name === 'Identifier' && current && current.metric === '') current.metric = at;
      else if (node.name === 'LabelName' && current && node.node.parent?.name === 'UnquotedLabelMatcher')
        matcher = { label: at };
      else if (node.name === 'MatchOp' && current) matcher.op = at;
      else if (node.name === 'StringLiteral' && current && matcher.label && matcher.op) {
        current.matchers.push({ label: matcher.label, op: matcher.op, value: JSON.parse(at) as string });
        matcher = {};
      }
    },
    leave(node) {
      if (node.name === 'VectorSelector') current = null;
    },
  });
  return { errors, selectors, ranges };
}
