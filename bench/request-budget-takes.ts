/**
 * How many takes a second the request budget's one row sustains (docs/request-budget.md): N
 * takers, each on a connection of its own, take as fast as they can for a few seconds, on a
 * throwaway Postgres got as the benchmark gets it. Not a figure of `npm run bench` (run by hand:
 * `npx tsx bench/request-budget-takes.ts [seconds] [takers...]`); what it printed is in
 * BENCHMARKS.md, "Measured by hand".
 *
 * Two cases per N: every take granted (a rate far above what the takers reach: each take writes
 * the row, the worst case for contention), and the default rate, 3,000 a minute, where nearly
 * every take is refused (locks the row, writes nothing) — what takers that ignore the gate's
 * queue would cost.
 */
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/connect.ts';
import { bucketRate, takeRequestToken } from '../src/sync/request-budget.ts';
import { SCHEMA, silentLog, startBenchPostgres } from './postgres.ts';

const seconds = Number(process.argv[2] ?? 5);
const counts = process.argv.slice(3).map(Number);
const takerCounts = counts.length > 0 ? counts : [1, 8, 32];

const postgres = await startBenchPostgres();
try {
  const database = await postgres.createDatabase();
  const config = loadConfig({ DATABASE_URL: database.url, WORKOS_SYNC_SCHEMA: SCHEMA });
  console.log(`PostgreSQL ${postgres.version}; ${seconds} s per case`);
  for (const takers of takerCounts) {
    for (const [label, rate] of [
      ['all granted', bucketRate(100_000_000, 1_000_000_000)],
      ['3,000/min', bucketRate(3000)],
    ] as const) {
      await database.db.deleteFrom('request_budget').execute();
      // One process each: its own pool of one connection.
      const handles = await Promise.all(
        Array.from({ length: takers }, () => openDatabase(config.database, silentLog, { poolSize: 1 })),
      );
      for (const handle of handles) await takeRequestToken(handle.db, rate); // connected, row made
      const latencies: number[] = [];
      let granted = 0;
      const started = performance.now();
      const deadline = started + seconds * 1000;
      await Promise.all(
        handles.map(async ({ db }) => {
          while (performance.now() < deadline) {
            const at = performance.now();
            if ((await takeRequestToken(db, rate)).granted) granted++;
            latencies.push(performance.now() - at);
          }
        }),
      );
      const elapsed = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
      console.log(
        `${String(takers).padStart(2)} takers, ${label.padEnd(11)}: ${Math.round(latencies.length / elapsed)
          .toLocaleString('en')
          .padStart(6)} takes/s, ${Math.round(granted / elapsed).toLocaleString('en')} granted/s; ` +
          `latency p50 ${at(0.5).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms`,
      );
      for (const handle of handles) await handle.close();
    }
  }
  await database.close();
} finally {
  await postgres.stop();
}
