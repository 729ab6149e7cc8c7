import { defineConfig } from 'vitest/config';

const shared = {
  globalSetup: ['test/support/global-setup.ts'],
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    projects: [
      { test: { ...shared, name: 'postgres', include: ['test/**/*.test.ts'] } },
      {
        test: {
          ...shared,
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
    ],
  },
});
