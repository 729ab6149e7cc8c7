/**
 * How far V8 lets the heap grow past what is live before collecting again. A sync process keeps
 * ~20 MB live, but pages it holds for a few hundred milliseconds (read ahead, then applied) get
 * promoted and die in the old generation; with V8's default growth (up to 4× the live size on a
 * machine with memory to spare) that garbage took a `backfill` to ~235 MB resident. Growing by
 * half instead keeps it near 160 MB at the same speed (measured in BENCHMARKS.md); it is a
 * collection policy, not a limit, so a large reconciliation still gets all the heap it needs.
 *
 * The CLI applies it before parsing its arguments. Someone who starts Node with
 * `--heap-growing-percent` themselves keeps their value (0 is V8's own policy); Node refuses the
 * flag in NODE_OPTIONS, so the command line is the only place to look.
 */
import { setFlagsFromString } from 'node:v8';

const FLAG = '--heap-growing-percent';
export const HEAP_GROWING_PERCENT = 50;

export function applyHeapPolicy(execArgv: readonly string[]): void {
  if (!execArgv.some((arg) => arg.startsWith(FLAG))) setFlagsFromString(`${FLAG}=${HEAP_GROWING_PERCENT}`);
}
