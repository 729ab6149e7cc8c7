/**
 * CPU time by process, to say what bounds a figure on a machine with few cores: the engine (this
 * process), the emulator (its child) and Postgres (its server's processes) all compete for them.
 * Read from /proc; null where that is not available (another OS, a remote or containerised
 * Postgres).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const TICKS_PER_SECOND = 100;

/** utime + stime + cutime + cstime of every live process in the tree under `rootPid`, in ms. */
export function treeCpuMs(rootPid: number): number | null {
  if (!existsSync('/proc/self/stat')) return null;
  const parentOf = new Map<number, number>();
  const ticksOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command (which may hold spaces) start at state, field 3.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(entry), Number(fields[1]));
      ticksOf.set(
        Number(entry),
        Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]),
      );
    } catch {
      // gone meanwhile
    }
  }
  if (!ticksOf.has(rootPid)) return null;
  let ticks = 0;
  for (const [pid, own] of ticksOf) {
    // A reaped process is in exactly one live ancestor's cutime/cstime: count live ones only.
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parentOf.get(p)) {
      if (p === rootPid) {
        ticks += own;
        break;
      }
    }
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** The postmaster of a cluster whose unix socket directory is `socketDir` (our throwaway one). */
export function postmasterPid(postgresUrl: string): number | null {
  const dir = new URL(postgresUrl).searchParams.get('host');
  if (!dir?.startsWith('/')) return null;
  const file = join(dir, 'data', 'postmaster.pid');
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  return pid > 0 ? pid : null;
}

export interface CpuSample {
  readonly engineMs: number;
  readonly postgresMs: number | null;
  readonly emulatorMs: number | null;
}

/** Starts a CPU meter over the three parties; `stop()` gives what each used since. */
export function cpuMeter(parties: { postgresPid: number | null; emulatorPid: number | null }): {
  stop(): CpuSample;
} {
  const engine = process.cpuUsage();
  const read = (pid: number | null) => (pid === null ? null : treeCpuMs(pid));
  const postgres = read(parties.postgresPid);
  const emulator = read(parties.emulatorPid);
  const since = (now: number | null, before: number | null) =>
    now === null || before === null ? null : now - before;
  return {
    stop() {
      const used = process.cpuUsage(engine);
      return {
        engineMs: (used.user + used.system) / 1000,
        postgresMs: since(read(parties.postgresPid), postgres),
        emulatorMs: since(read(parties.emulatorPid), emulator),
      };
    },
  };
}
