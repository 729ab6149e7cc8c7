/** What every figure gets from the run: the database server, the sizes, and a progress line. */
import type { BenchPostgres } from './postgres.ts';
import type { Sizes } from './sizes.ts';

export interface BenchContext {
  readonly postgres: BenchPostgres;
  readonly sizes: Sizes;
  readonly latencyMs: number;
  readonly cores: number;
  /** The postmaster's pid when Postgres runs on this machine (its CPU can be counted). */
  readonly postgresPid: number | null;
  progress(message: string): void;
}

export function seconds(ms: number): number {
  return ms / 1000;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}
