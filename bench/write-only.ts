/**
 * The limit on the database side: the rows a backfill left behind, written again into a fresh,
 * migrated database (same tables, same indexes) with `COPY ... FROM STDIN` — the fastest way into
 * Postgres — with no fetching, parsing or planning. The rows are read out first (`COPY ... TO
 * STDOUT`, not timed), so the write is byte for byte the same data.
 */
import { copyIn, copyOut } from './copy.ts';
import { treeCpuMs } from './cpu.ts';
import { type BenchDatabase, SCHEMA } from './postgres.ts';

const TABLES = ['events', 'connections', 'connection_domains', 'connection_certificates'] as const;

export interface WriteOnly {
  readonly ms: number;
  readonly rows: number;
  readonly bytes: number;
  /** Postgres CPU the COPY took, when the server is local. */
  readonly postgresCpuMs: number | null;
}

export async function rewriteWithCopy(
  from: BenchDatabase,
  to: BenchDatabase,
  options: { readonly postgresPid: number | null },
): Promise<WriteOnly> {
  const source = await from.client();
  const dumps = new Map<string, Buffer[]>();
  try {
    for (const table of TABLES) dumps.set(table, await copyOut(source, `${SCHEMA}.${table}`));
  } finally {
    await source.end();
  }
  const target = await to.client();
  try {
    const cpuBefore = options.postgresPid === null ? null : treeCpuMs(options.postgresPid);
    const started = performance.now();
    let rows = 0;
    await target.query('begin');
    for (const table of TABLES) rows += await copyIn(target, `${SCHEMA}.${table}`, dumps.get(table)!);
    await target.query('commit');
    const ms = performance.now() - started;
    const cpuAfter = options.postgresPid === null ? null : treeCpuMs(options.postgresPid);
    const bytes = [...dumps.values()].flat().reduce((n, b) => n + b.length, 0);
    const postgresCpuMs = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
    return { ms, rows, bytes, postgresCpuMs };
  } finally {
    await target.end();
  }
}
