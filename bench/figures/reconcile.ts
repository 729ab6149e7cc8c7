/** Figure 3 — a reconciliation of a large listing with a little drift, beside listing-only. */
import { fetchListing } from '../../src/sync/reconcile/listing.ts';
import { reconcile } from '../../src/sync/reconcile/reconcile.ts';
import { createWorkosClient } from '../../src/workos/client.ts';
import { workosConnectionsSource } from '../../src/workos/connections-source.ts';
import { type BenchContext, count, seconds } from '../context.ts';
import { cpuMeter } from '../cpu.ts';
import { API_KEY, startEmulatorProcess } from '../emulator-process.ts';
import { fetchAllConnections } from '../fetch-only.ts';
import { noSecrets, silentLog } from '../postgres.ts';
import { FIGURES, type FigureOutput, row } from '../report.ts';
import { cpuNote } from './backfill.ts';

export async function reconcileFigures(ctx: BenchContext): Promise<FigureOutput> {
  const { reconcileConnections: connections, driftFraction } = ctx.sizes;
  ctx.progress(`reconciliation: generating ${count(connections)} connections`);
  const emulator = await startEmulatorProcess({ seed: 3, events: 0, connections });
  const db = await ctx.postgres.createDatabase();
  try {
    const source = workosConnectionsSource(createWorkosClient({ apiKey: API_KEY, apiUrl: emulator.url }));
    const deps = { db: db.db, connections: source, log: silentLog, scrub: noSecrets };
    ctx.progress('reconciliation: the first one (fills the mirror)');
    const first = await reconcile(deps);
    const drift = await emulator.drift(driftFraction);

    ctx.progress('reconciliation: listing-only');
    const listingMeter = cpuMeter({ postgresPid: null, emulatorPid: emulator.pid });
    const listing = await fetchAllConnections(source);
    const listingCpu = listingMeter.stop();
    // The first half of a reconciliation alone: where the rest of its time goes is then plain.
    const validatingStarted = performance.now();
    await fetchListing(source);
    const validatingMs = performance.now() - validatingStarted;

    ctx.progress(`reconciliation: after ${(driftFraction * 100).toFixed(0)}% drift`);
    const meter = cpuMeter({ postgresPid: ctx.postgresPid, emulatorPid: emulator.pid });
    const started = performance.now();
    const report = await reconcile(deps);
    const ms = performance.now() - started;
    const cpu = meter.stop();
    const c = report.counts;
    const expected = drift.renamed + drift.created + drift.deleted;
    const found = c.inserted + c.updated + c.deleted;
    if (found !== expected) throw new Error(`reconciliation found ${found} changes, ${expected} were made`);

    return {
      rows: [
        row(
          FIGURES.reconcile,
          `${count(c.seen)} listed, ${count(found)} changed, ${count(listing.pages)} pages`,
          seconds(ms),
          's',
          seconds(listing.ms),
          { text: '≤ 1.5× listing-only', met: (_v, ratio) => ratio !== null && ratio <= 1.5 },
        ),
      ],
      notes: [
        `Reconciliation: ${count(c.seen)} connections listed, drift found as made (${c.inserted} inserted, ${c.updated} updated, ${c.deleted} deleted) in ${seconds(ms).toFixed(2)} s; listing-only ${seconds(listing.ms).toFixed(2)} s. The first reconciliation, which inserted all ${count(first.counts.inserted)}, took ${seconds(first.durationMs).toFixed(2)} s.`,
        `Of those ${seconds(ms).toFixed(2)} s, fetching and validating the listing (\`fetchListing\` alone, no database) takes ${seconds(validatingMs).toFixed(2)} s; loading the mirror, planning and writing, in one transaction once the listing is complete, the other ${seconds(Math.max(0, ms - validatingMs)).toFixed(2)} s.`,
        cpuNote('the reconciliation', cpu, ms, listing.ms, ctx.cores, listingCpu),
      ],
    };
  } finally {
    await db.close();
    await emulator.close();
  }
}
