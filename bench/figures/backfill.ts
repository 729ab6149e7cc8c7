/**
 * Figure 1 — a local backfill beside fetch-only and write-only (COPY) — and figure 6's local half:
 * the straightforward loop on the same stream.
 */
import { poll } from '../../src/sync/poll.ts';
import { createWorkosClient } from '../../src/workos/client.ts';
import { workosConnectionsSource } from '../../src/workos/connections-source.ts';
import { workosEventsSource } from '../../src/workos/events-source.ts';
import { type BenchContext, count, seconds } from '../context.ts';
import { type CpuSample, cpuMeter } from '../cpu.ts';
import { API_KEY, startEmulatorProcess } from '../emulator-process.ts';
import { fetchAllEvents } from '../fetch-only.ts';
import { noSecrets, silentLog } from '../postgres.ts';
import { FIGURES, type FigureOutput, row } from '../report.ts';
import { straightforwardLoop } from '../straightforward-loop.ts';
import { rewriteWithCopy } from '../write-only.ts';

/** Pages fetched and thrown away first, so neither measurement pays for a cold start. */
const WARM_UP_PAGES = 20;

export async function backfillFigures(ctx: BenchContext): Promise<FigureOutput> {
  const { backfillEvents: events, backfillConnections: connections, straightforwardEvents } = ctx.sizes;
  ctx.progress(`backfill: generating ${count(events)} events over ${count(connections)} connections`);
  const emulator = await startEmulatorProcess({ seed: 1, events, connections });
  const databases = [];
  try {
    const workos = createWorkosClient({ apiKey: API_KEY, apiUrl: emulator.url });
    const source = workosEventsSource(workos);
    const listings = workosConnectionsSource(workos);
    await fetchAllEvents(source, { maxPages: WARM_UP_PAGES });

    ctx.progress('backfill: fetch-only');
    const fetchMeter = cpuMeter({ postgresPid: null, emulatorPid: emulator.pid });
    const fetchOnly = await fetchAllEvents(source);
    const fetchCpu = fetchMeter.stop();

    ctx.progress('backfill: the engine');
    const db = await ctx.postgres.createDatabase();
    databases.push(db);
    const meter = cpuMeter({ postgresPid: ctx.postgresPid, emulatorPid: emulator.pid });
    const started = performance.now();
    const totals = await poll({
      db: db.db,
      events: source,
      connections: listings,
      log: silentLog,
      scrub: noSecrets,
    });
    const backfillMs = performance.now() - started;
    const cpu = meter.stop();
    if (totals.events !== events) throw new Error(`backfill applied ${totals.events} of ${events} events`);

    ctx.progress('backfill: write-only (COPY)');
    const target = await ctx.postgres.createDatabase();
    databases.push(target);
    const writeOnly = await rewriteWithCopy(db, target, { postgresPid: ctx.postgresPid });

    ctx.progress(`backfill: the straightforward loop, first ${count(straightforwardEvents)} events`);
    const loopDb = await ctx.postgres.createDatabase();
    databases.push(loopDb);
    const loop = await straightforwardLoop(loopDb.db, source, { maxEvents: straightforwardEvents });

    const limitMs = Math.max(fetchOnly.ms, writeOnly.ms);
    const rate = (n: number, ms: number) => n / seconds(ms);
    const over = `${count(events)} events, ${count(connections)} connections`;
    return {
      rows: [
        row(FIGURES.backfill, over, seconds(backfillMs), 's', seconds(limitMs), {
          text: '≤ 1.5× max(fetch-only, write-only)',
          met: (_v, ratio) => ratio !== null && ratio <= 1.5,
        }),
        row(FIGURES.backfillRate, over, rate(events, backfillMs), 'events/s'),
        row(FIGURES.fetchOnly, `${count(fetchOnly.pages)} pages, no database`, seconds(fetchOnly.ms), 's'),
        row(FIGURES.writeOnly, `${count(writeOnly.rows)} rows, no fetching`, seconds(writeOnly.ms), 's'),
        row(
          FIGURES.speedupLocal,
          `the loop over the first ${count(loop.events)} events`,
          rate(events, backfillMs),
          'events/s',
          rate(loop.events, loop.ms),
          { text: '≥ 10×', met: (_v, ratio) => ratio !== null && ratio >= 10 },
        ),
      ],
      notes: [
        `Local backfill: ${count(events)} events in ${seconds(backfillMs).toFixed(2)} s over ${count(totals.pages)} pages; fetch-only ${seconds(fetchOnly.ms).toFixed(2)} s, write-only ${seconds(writeOnly.ms).toFixed(2)} s (${(writeOnly.bytes / 2 ** 20).toFixed(0)} MB of COPY text).`,
        cpuNote('the local backfill', cpu, backfillMs, limitMs, ctx.cores, fetchCpu),
        ...(writeOnly.postgresCpuMs === null
          ? []
          : [
              `Write-only used ${seconds(writeOnly.postgresCpuMs).toFixed(1)} s of Postgres CPU for the rows the backfill's statements needed ${cpu.postgresMs === null ? '?' : seconds(cpu.postgresMs).toFixed(1)} s for: COPY is the cheapest way in, and the engine's upserts, version guards, row locks and \`jsonb_to_recordset\` cost more per row than it.`,
            ]),
        `The straightforward loop: ${count(loop.events)} events in ${seconds(loop.ms).toFixed(1)} s (${rate(loop.events, loop.ms).toFixed(0)} events/s), one transaction per event.`,
      ],
    };
  } finally {
    for (const d of databases) await d.close();
    await emulator.close();
  }
}

/**
 * Where a run's time went, in CPU: on a machine with few cores the engine, Postgres and the
 * emulator share them, and their sum ÷ cores is a floor no overlap can beat. `fetching` (the
 * fetch-only or listing-only run's CPU) splits the engine's share into what only fetching costs
 * and the engine's own work, to say which of the three a missed target is bound by.
 */
export function cpuNote(
  what: string,
  cpu: CpuSample,
  wallMs: number,
  limitMs: number,
  cores: number,
  fetching: CpuSample,
): string {
  const s = (ms: number) => `${seconds(ms).toFixed(1)} s`;
  const parts = [`engine ${s(cpu.engineMs)} (fetching alone took ${s(fetching.engineMs)} of engine CPU)`];
  if (cpu.postgresMs !== null) parts.push(`Postgres ${s(cpu.postgresMs)}`);
  if (cpu.emulatorMs !== null) parts.push(`emulator ${s(cpu.emulatorMs)}`);
  const others = (cpu.postgresMs ?? 0) + (cpu.emulatorMs ?? 0);
  const floor = (cpu.engineMs + others) / cores;
  const fetchFloor = (fetching.engineMs + others) / cores;
  const ratio = (ms: number) => `${(ms / limitMs).toFixed(2)}× the limit`;
  return `CPU during ${what}: ${parts.join(', ')} — ${s(cpu.engineMs + others)} in ${s(wallMs)} of wall time. On ${cores} cores that alone needs ≥ ${s(floor)} (${ratio(floor)}) even with perfect overlap; were the engine to do nothing but fetch, the rest would still need ≥ ${s(fetchFloor)} (${ratio(fetchFloor)}). Every process also competes with whatever else the machine runs.`;
}
