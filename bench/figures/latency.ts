/**
 * Figure 2 — a backfill with a modelled WorkOS round trip beside requests × round trip — and
 * figure 6's other half: the straightforward loop on the same stream with the same round trip.
 */
import { poll } from '../../src/sync/poll.ts';
import { createWorkosClient } from '../../src/workos/client.ts';
import { workosConnectionsSource } from '../../src/workos/connections-source.ts';
import { workosEventsSource } from '../../src/workos/events-source.ts';
import { type BenchContext, count, seconds } from '../context.ts';
import { cpuMeter } from '../cpu.ts';
import { mirrorDigest } from '../digest.ts';
import { API_KEY, startEmulatorProcess } from '../emulator-process.ts';
import { noSecrets, silentLog } from '../postgres.ts';
import { FIGURES, type FigureOutput, row } from '../report.ts';
import { straightforwardLoop } from '../straightforward-loop.ts';

export async function latencyFigures(ctx: BenchContext): Promise<FigureOutput> {
  const events = ctx.sizes.latencyEvents;
  const rtt = ctx.latencyMs;
  ctx.progress(`round trip: generating ${count(events)} events`);
  const emulator = await startEmulatorProcess({ seed: 2, events, connections: Math.ceil(events / 40) });
  const databases = [];
  try {
    const workos = createWorkosClient({ apiKey: API_KEY, apiUrl: emulator.url });
    const source = workosEventsSource(workos);
    const connections = workosConnectionsSource(workos);
    await emulator.setLatency(rtt);

    ctx.progress(`round trip: the engine, ${rtt} ms a request`);
    const db = await ctx.postgres.createDatabase();
    databases.push(db);
    const before = await emulator.requestCount('/events');
    const meter = cpuMeter({ postgresPid: ctx.postgresPid, emulatorPid: emulator.pid });
    const started = performance.now();
    const totals = await poll({ db: db.db, events: source, connections, log: silentLog, scrub: noSecrets });
    const ms = performance.now() - started;
    const cpu = meter.stop();
    const requests = (await emulator.requestCount('/events')) - before;
    if (totals.events !== events) throw new Error(`backfill applied ${totals.events} of ${events} events`);

    ctx.progress('round trip: the straightforward loop');
    const loopDb = await ctx.postgres.createDatabase();
    databases.push(loopDb);
    const loop = await straightforwardLoop(loopDb.db, source);
    const same = (await mirrorDigest(db.db)) === (await mirrorDigest(loopDb.db));

    const waitMs = requests * rtt;
    const over = `${count(events)} events, ${count(requests)} requests × ${rtt} ms`;
    return {
      rows: [
        row(FIGURES.latency, over, seconds(ms), 's', seconds(waitMs), {
          text: '≤ 1.1× requests × round trip',
          met: (_v, ratio) => ratio !== null && ratio <= 1.1,
        }),
        row(
          FIGURES.speedupLatency,
          `${count(loop.events)} events, ${rtt} ms round trip`,
          events / seconds(ms),
          'events/s',
          loop.events / seconds(loop.ms),
          { text: '≥ 2×', met: (_v, ratio) => ratio !== null && ratio >= 2 },
        ),
      ],
      notes: [
        `With a round trip of ${rtt} ms: ${count(events)} events in ${seconds(ms).toFixed(2)} s over ${count(requests)} requests (${seconds(waitMs).toFixed(2)} s of pure waiting); engine CPU ${seconds(cpu.engineMs).toFixed(1)} s — applying a page takes less than the next page's round trip, so the database time hides behind it. The straightforward loop took ${seconds(loop.ms).toFixed(1)} s: the same waiting plus one transaction per event after it.`,
        `The straightforward loop and the engine left ${same ? 'identical' : '**different**'} tables (connections, domains, certificates, events and their outcomes) on this stream.`,
      ],
    };
  } finally {
    for (const d of databases) await d.close();
    await emulator.close();
  }
}
