/**
 * Preloaded (`node --expose-gc --import`) into a process whose memory the benchmark reports:
 * when it exits, it writes its peak resident set size, and the heap still live after a full
 * collection (what it retains, as opposed to garbage not yet collected), to BENCH_PEAK_RSS_FILE.
 *
 * The peak is VmHWM from /proc: `process.resourceUsage().maxRSS` can report the parent's peak
 * instead, carried over from before the exec when the parent was the larger of the two. The
 * benchmark reads the same line of a child that will not exit on its own (a replica it SIGKILLs)
 * with `highWaterMarkKb(pid)`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const file = process.env.BENCH_PEAK_RSS_FILE;
if (file) {
  process.on('exit', () => {
    const peakKb = highWaterMarkKb() ?? process.resourceUsage().maxRSS;
    (globalThis as { gc?: () => void }).gc?.();
    writeFileSync(file, JSON.stringify({ peakKb, liveHeapBytes: process.memoryUsage().heapUsed }));
  });
}

/** A process's peak resident set (VmHWM), in kB; null where there is no /proc (or no such process). */
export function highWaterMarkKb(pid: number | 'self' = 'self'): number | null {
  const status = `/proc/${pid}/status`;
  if (!existsSync(status)) return null;
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(status, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null; // it exited between the two reads
  }
}
