/**
 * `sql`: run one query against whichever database is configured (the embedded one included) and
 * print a table, or the rows as JSON. Unqualified names resolve in the configured schema.
 */
import { text as readAll } from 'node:stream/consumers';
import { sql } from 'kysely';
import type { Config } from '../config.ts';
import { liftStatementLimits } from '../db/engine-dialect.ts';
import { ConfigError } from '../errors.ts';
import { openSync } from './open.ts';

export async function sqlCommand(
  config: Config,
  query: string,
  options: { readonly json: boolean; readonly migrate: boolean },
) {
  const text = query === '-' ? await readAll(process.stdin) : query;
  if (text.trim() === '') throw new ConfigError('sql needs a query (or - to read it from stdin)');
  const { sync } = await openSync(config, { migrate: options.migrate });
  try {
    const rows = await (await sync.database()).db.transaction().execute(async (trx) => {
      // The user's query: how long it runs is theirs to decide, not the engine's.
      await liftStatementLimits(trx);
      await sql`select set_config('search_path', ${`${config.database.schema}, public`}, true)`.execute(trx);
      return (await sql.raw<Record<string, unknown>>(text).execute(trx)).rows;
    });
    process.stdout.write(options.json ? `${JSON.stringify(rows, null, 2)}\n` : formatRows(rows));
  } finally {
    await sync.close();
  }
}

export function formatRows(rows: readonly Record<string, unknown>[]): string {
  if (rows.length === 0) return '(0 rows)\n';
  const columns = Object.keys(rows[0]!);
  const cells = rows.map((row) => columns.map((c) => cell(row[c])));
  const widths = columns.map((c, i) => Math.min(60, Math.max(c.length, ...cells.map((r) => r[i]!.length))));
  const line = (values: string[]) =>
    values
      .map((v, i) => truncateTo(v, widths[i]!))
      .join(' | ')
      .trimEnd();
  return `${[line(columns), widths.map((w) => '-'.repeat(w)).join('-+-'), ...cells.map(line)].join('\n')}\n(${rows.length} row${rows.length === 1 ? '' : 's'})\n`;
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function truncateTo(value: string, width: number): string {
  return value.length > width ? `${value.slice(0, width - 1)}…` : value.padEnd(width);
}
