import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Three tiers, by what a test needs (`npm test` runs them all, as CI does):
 * - `pure`: no database and no child process — the planners, predicates, the hooks' changes,
 *   configuration, schedules, the emulator in process. Seconds: `npm run test:pure`.
 * - `postgres` and `embedded`: the behaviour files on a real Postgres server, and those that can
 *   run on one connection again on the embedded database (PGlite).
 * - `e2e`: the command line, the worker and other programs in child processes (crash, package,
 *   build, demo, cookbook, bench, TLS, promtool), on the server.
 */
const PURE = [
  'test/changes.test.ts',
  'test/config-environments.test.ts',
  'test/config-parsers.test.ts',
  'test/config.test.ts',
  'test/dashboard.test.ts',
  'test/docs.test.ts',
  'test/doctor-verdicts.test.ts',
  'test/emulator-certs.test.ts',
  'test/emulator-clock.test.ts',
  'test/emulator-environments.test.ts',
  'test/emulator-model.test.ts',
  'test/emulator-organizations-http.test.ts',
  'test/emulator-organizations.test.ts',
  'test/emulator-spec.test.ts',
  'test/emulator.test.ts',
  'test/environment-scope.test.ts',
  'test/fleet-webhook-receiver.test.ts',
  'test/grants-sql.test.ts',
  'test/job.test.ts',
  'test/layers.test.ts',
  'test/look-schedule.test.ts',
  'test/mutants-apply.test.ts',
  'test/pacing.test.ts',
  'test/plan-organizations.test.ts',
  'test/plan-page-organizations.test.ts',
  'test/plan-page.test.ts',
  'test/plan-reconciliation.test.ts',
  'test/public-types.test.ts',
  'test/request-budget-arithmetic.test.ts',
  'test/settings-docs.test.ts',
  'test/tcp-proxy.test.ts',
  'test/telemetry-config.test.ts',
];

const E2E = [
  'test/alerts.test.ts',
  'test/bench.test.ts',
  'test/build.test.ts',
  'test/cli.test.ts',
  'test/cookbook.test.ts',
  'test/crash.test.ts',
  'test/dashboard-prometheus.test.ts',
  'test/database-sessions.test.ts',
  'test/demo.test.ts',
  'test/doctor.test.ts',
  'test/deploy-files.test.ts',
  'test/embed.test.ts',
  'test/emulator-command.test.ts',
  'test/emulator-webhooks.test.ts',
  'test/environments-cli.test.ts',
  'test/fleet-webhooks.test.ts',
  'test/environments-commands.test.ts',
  'test/fleet.test.ts',
  'test/grants-upgrade.test.ts',
  'test/grants.test.ts',
  'test/hooks-several-connections.test.ts',
  'test/logger.test.ts',
  'test/organization-refresh-races.test.ts',
  'test/metrics-auth.test.ts',
  'test/network-handoff.test.ts',
  'test/network-worker-postgres.test.ts',
  'test/network-worker-workos.test.ts',
  'test/package.test.ts',
  'test/poll-record.test.ts',
  'test/prune-cli.test.ts',
  'test/postgres-tls.test.ts',
  'test/reconcile-lease.test.ts',
  'test/rolling-upgrade.test.ts',
  'test/scrubbed-everywhere.test.ts',
  'test/session-bounds-everywhere.test.ts',
  'test/tracing-cli.test.ts',
  'test/user-agent.test.ts',
  'test/webhook-receiver.test.ts',
  'test/worker.test.ts',
];

const timeouts = { testTimeout: 30_000, hookTimeout: 60_000, pool: 'forks' as const };
const withPostgres = { ...timeouts, globalSetup: ['test/support/global-setup.ts'] };

export default defineConfig({
  test: {
    // Most of the slow files wait on purpose (a lease to expire, a backoff, a child process):
    // three at a time on two cores, where vitest's default (cores - 1) runs one.
    maxWorkers: 3,
    projects: [
      { test: { ...timeouts, name: 'pure', include: PURE } },
      {
        test: {
          ...withPostgres,
          name: 'postgres',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...PURE, ...E2E],
        },
      },
      {
        test: {
          ...withPostgres,
          name: 'embedded',
          // The behaviour tests, on the embedded database. PGlite has one connection and one
          // process: CLI, worker, crash and *-several-connections tests stay on the server.
          include: [
            'test/documented-events.test.ts',
            'test/invariants.test.ts',
            'test/property.test.ts',
            'test/sync-over-http.test.ts',
            'test/reconcile.test.ts',
            'test/versions.test.ts',
            'test/clock-skew.test.ts',
            'test/backfill.test.ts',
            'test/hooks.test.ts',
            'test/organizations.test.ts',
          ],
          env: { WORKOS_SYNC_TEST_DATABASE: 'embedded' },
        },
      },
      { test: { ...withPostgres, name: 'e2e', include: E2E } },
    ],
  },
});
