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
import { startEmulator, WorkosModel } from '../../emulator/index.ts';
import { loadScenario } from '../../emulator/scenarios.ts';
import { type Config, secretsOf } from '../config.ts';
import { createLogger } from '../logger.ts';
import { sleep } from '../time.ts';
import { createWorkosSync } from '../workos-sync.ts';
import { startLiveChanges } from './demo-live.ts';
import { count, duration } from './format.ts';
import { formatReport } from './reconcile.ts';
import { formatRows } from './sql.ts';
import { formatStatus } from './status.ts';

const DEMO_API_KEY = 'sk_test_workos_sync_demo';
const DEMO_WEBHOOK_SECRET = 'whsec_workos_sync_demo';

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
  const log = createLogger({
    level: config.logLevel === 'info' ? 'warn' : config.logLevel,
    secrets: secretsOf(config),
  });

  const model = new WorkosModel({ seed: options.seed });
  const scenario = loadScenario(model, 'demo', { seed: options.seed });
  const emulator = await startEmulator({ apiKey: DEMO_API_KEY, model });
  const target = config.database.target;
  const dataDir = target.kind === 'url' ? undefined : await mkdtemp(join(tmpdir(), 'workos-sync-demo-'));
  // The demo is a user of the library, like an application embedding it.
  const sync = createWorkosSync({
    apiKey: DEMO_API_KEY,
    apiUrl: emulator.url,
    database: target.kind === 'url' ? { url: target.url, sslCa: target.tls.caFile } : { dataDir: dataDir! },
    schema: config.database.schema,
    // A slow schedule: what brings each change over is the webhook WorkOS sends for it.
    pollCron: '*/30 * * * * *',
    reconcileCron: '0 0 1 1 *',
    leaseSeconds: 10,
    webhooks: { secret: DEMO_WEBHOOK_SECRET, host: '127.0.0.1', port: 0, lookSeconds: 10 },
    logger: log,
  });
  try {
    step('A simulated WorkOS environment (the bundled emulator, no account needed)');
    say(
      `  ${emulator.url}: ${scenario.organizations} organisations, ${scenario.liveConnections} live connections, ${count(scenario.events)} events in the last 25 days`,
    );
    const { db, description } = await sync.database();
    step(`A Postgres for the mirror: ${description}`);
    await sync.migrate();

    step('Backfill: reconcile against List Connections, then apply every retained event');
    const { reconciliation, totals } = await sync.backfill({
      onPage: (t) => process.stdout.isTTY && process.stdout.write(`\r  events: ${count(t.events)}`),
    });
    if (process.stdout.isTTY) process.stdout.write('\r');
    if (reconciliation)
      say(
        `  listing: ${count(reconciliation.counts.seen)} connections (drafts included, which no event mentions), ${count(reconciliation.counts.certificatesUpdated)} SAML certificates read from it`,
      );
    say(
      `  events: ${count(totals.events)} applied in order (${count(totals.applied)} changed the mirror, ${count(totals.stale)} were older than the listing)`,
    );

    step(
      `Live for ${options.liveSeconds} s: the worker polls every 30 s, and each change's webhook makes it poll at once`,
    );
    const worker = sync.start({
      holder: 'demo',
      http: options.keep ? { host: '127.0.0.1', port: 'ephemeral' } : false,
    });
    const { url, webhookUrl } = await worker.ready;
    emulator.webhooks.configure({ url: webhookUrl!, secret: DEMO_WEBHOOK_SECRET });
    const live = startLiveChanges({ db, model, say });
    await sleep(options.liveSeconds * 1000);
    await live.stop();

    step('Reconciliation: what events could not say (a rename happened without an event)');
    say(
      formatReport(await sync.reconcile())
        .replace(/^/gm, '  ')
        .trimEnd(),
    );

    step('Status');
    say(
      formatStatus(await sync.status(), description)
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

    step(
      'Which connection serves a domain (the domain_routes view: domain → organization → its connections)',
    );
    const domains = await db
      .selectFrom('domain_routes')
      .select(['domain', 'domain_state', 'organization_name', 'connection_id', 'connection_state'])
      .orderBy('domain')
      .limit(5)
      .execute();
    say(formatRows(domains).replace(/^/gm, '  ').trimEnd());

    step('SAML certificates expiring within 30 days (workos-sync certs --expiring-within 30d)');
    const expiring = await sync.certificates({ within: '30d' });
    say(
      formatRows(
        expiring
          .slice(0, 10)
          .map(({ connection_name, certificate_type, expiry_date, days_left, is_expired }) => ({
            connection_name,
            certificate_type,
            expiry_date,
            days_left,
            is_expired,
          })),
      )
        .replace(/^/gm, '  ')
        .trimEnd(),
    );

    if (options.keep) {
      step('Still running (--keep). Ctrl-C to stop.');
      say(`  emulator: ${emulator.url} (WORKOS_API_KEY=${DEMO_API_KEY}); metrics: ${url}/metrics`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
    }
    await worker.stop();

    step(`Done in ${duration(performance.now() - started)}. To mirror your own WorkOS environment:`);
    say('  export WORKOS_API_KEY=sk_live_…  DATABASE_URL=postgres://…   # unset DATABASE_URL: embedded');
    say('  npx workos-sync backfill && npx workos-sync run                # where workos-sync is installed');
    say('  npm run workos-sync -- backfill && npm run workos-sync -- run  # from a clone');
  } finally {
    await sync.close();
    await emulator.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
}
