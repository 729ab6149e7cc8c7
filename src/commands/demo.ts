/**
 * `demo`: the zero-setup tour. A simulated WorkOS (the emulator, seeded `demo` scenario), an
 * embedded Postgres in a fresh folder, a backfill, a short live run of the worker while WorkOS
 * keeps changing, a reconciliation, then status and the certificate report. Offline, no account,
 * nothing left running afterwards (unless --keep).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { type Config, secretsOf } from '../config.ts';
import { openDatabase } from '../db/connect.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { startEmulator, WorkosModel } from '../emulator/index.ts';
import { loadScenario } from '../emulator/scenarios.ts';
import { createLogger, secretScrubber } from '../logger.ts';
import { backfill } from '../sync/backfill.ts';
import { reconcile } from '../sync/reconcile/reconcile.ts';
import { readStatus } from '../sync/status.ts';
import { sleep } from '../time.ts';
import { databaseCheck, startHttpServer } from '../worker/http-server.ts';
import { createMetrics } from '../worker/metrics.ts';
import { startWorker } from '../worker/worker.ts';
import { createWorkosClient } from '../workos/client.ts';
import { workosConnectionsSource } from '../workos/connections-source.ts';
import { workosEventsSource } from '../workos/events-source.ts';
import { startLiveChanges } from './demo-live.ts';
import { count, duration } from './format.ts';
import { formatReport } from './reconcile.ts';
import { formatRows } from './sql.ts';
import { formatStatus } from './status.ts';

const DEMO_API_KEY = 'sk_test_workos_sync_demo';

export interface DemoOptions {
  /** Seconds the worker runs live while WorkOS changes. */
  readonly liveSeconds: number;
  /** Leave the emulator and the worker running (with health and metrics) until Ctrl-C. */
  readonly keep: boolean;
  readonly seed: number;
}

export async function demoCommand(config: Config, options: DemoOptions): Promise<void> {
  const started = performance.now();
  const say = (line = '') => process.stdout.write(`${line}\n`);
  const step = (title: string) => say(`\n▸ ${title}`);
  const secrets = secretsOf(config);
  const log = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, secrets });
  const scrub = secretScrubber(secrets);

  const model = new WorkosModel({ seed: options.seed });
  const scenario = loadScenario(model, 'demo', { seed: options.seed });
  const emulator = await startEmulator({ apiKey: DEMO_API_KEY, model });
  const dataDir = config.database.url ? undefined : await mkdtemp(join(tmpdir(), 'workos-sync-demo-'));
  const database = await openDatabase(
    { ...config.database, dataDir: dataDir ?? config.database.dataDir },
    log,
  );
  const db = database.db;
  try {
    step('A simulated WorkOS environment (the bundled emulator, no account needed)');
    say(
      `  ${emulator.url}: ${scenario.organizations} organisations, ${scenario.liveConnections} live connections, ${count(scenario.events)} events in the last 25 days`,
    );
    step(`A Postgres for the mirror: ${database.description}`);
    await migrateToLatest(db, config.database.schema);

    const workos = createWorkosClient({ apiKey: DEMO_API_KEY, apiUrl: emulator.url, maxRetries: 2 });
    const events = workosEventsSource(workos);
    const connections = workosConnectionsSource(workos);

    step('Backfill: reconcile against List Connections, then apply every retained event');
    const { reconciliation, totals } = await backfill(
      { db, events, connections, log, scrub },
      { onPage: (t) => process.stdout.isTTY && process.stdout.write(`\r  events: ${count(t.events)}`) },
    );
    if (reconciliation)
      say(
        `  listing: ${count(reconciliation.counts.seen)} connections (drafts included, which no event mentions), ${count(reconciliation.counts.certificatesUpdated)} SAML certificates read from it`,
      );
    if (process.stdout.isTTY) process.stdout.write('\r');
    say(
      `  events: ${count(totals.events)} applied in order (${count(totals.applied)} changed the mirror, ${count(totals.stale)} were older than the listing)`,
    );

    step(`Live: the worker polls every second for ${options.liveSeconds} s while WorkOS keeps changing`);
    const metrics = createMetrics({ db, log });
    const worker = startWorker(
      { db, events, connections, log, scrub, metrics },
      {
        pollCron: '* * * * * *',
        reconcileCron: '0 0 1 1 *',
        holder: 'demo',
        leaseTtlMs: 10_000,
        onFatal: () => {},
      },
    );
    const live = startLiveChanges({ db, model, say });
    await sleep(options.liveSeconds * 1000);
    await live.stop();

    step('Reconciliation: what events could not say (a rename happened without an event)');
    say(
      formatReport(await reconcile({ db, source: connections, log, scrub }))
        .replace(/^/gm, '  ')
        .trimEnd(),
    );

    step('Status');
    say(
      formatStatus(await readStatus(db), database.description)
        .replace(/^/gm, '  ')
        .trimEnd(),
    );

    step('Connections by state');
    const byState = await db
      .selectFrom('live_connections')
      .select(['state', sql<number>`count(*)::int`.as('connections')])
      .groupBy('state')
      .orderBy('connections', 'desc')
      .execute();
    say(formatRows(byState).replace(/^/gm, '  ').trimEnd());

    step('Domains served (a sample)');
    const domains = await db
      .selectFrom('live_connection_domains')
      .select(['domain', 'connection_id', 'state'])
      .orderBy('domain')
      .limit(5)
      .execute();
    say(formatRows(domains).replace(/^/gm, '  ').trimEnd());

    step('SAML certificates expiring within 30 days (workos-sync certs --expiring-within 30d)');
    const expiring = await db
      .selectFrom('expiring_certificates')
      .select(['connection_name', 'certificate_type', 'expiry_date', 'days_left', 'is_expired'])
      .where('days_left', '<', 30)
      .orderBy('expiry_date')
      .limit(10)
      .execute();
    say(formatRows(expiring).replace(/^/gm, '  ').trimEnd());

    if (options.keep) {
      const server = await startHttpServer(
        {
          metrics,
          log,
          health: {
            startedAt: new Date(),
            pollPeriodMs: 1000,
            lastSuccessfulTickAt: () => worker.lastSuccessfulTickAt(),
            checkDatabase: databaseCheck(db),
          },
        },
        { host: '127.0.0.1', port: 'ephemeral' },
      );
      step('Still running (--keep). Ctrl-C to stop.');
      say(`  emulator: ${emulator.url} (WORKOS_API_KEY=${DEMO_API_KEY}); metrics: ${server?.url}/metrics`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await server?.close();
    }
    await worker.stop();

    step(`Done in ${duration(performance.now() - started)}. To mirror your own WorkOS environment:`);
    say('  WORKOS_API_KEY=sk_live_…  DATABASE_URL=postgres://…  workos-sync backfill && workos-sync run');
    say('  (leave DATABASE_URL unset to keep using the embedded database)');
  } finally {
    await database.close();
    await emulator.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
}
