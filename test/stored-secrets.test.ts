/**
 * Secrets stay out of the database too: an error whose text carries the API key or the database
 * password is scrubbed, with the same scrubber as the log, before it is stored in
 * `sync_state.last_poll_error` or `reconciliation_runs.error` (which `status` prints).
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { RetryableError } from '../src/errors.ts';
import { secretScrubber } from '../src/logger.ts';
import { poll } from '../src/sync/poll.ts';
import { reconcile } from '../src/sync/reconcile/reconcile.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { silentLogger } from './support/logs.ts';
import { FAST_BACKOFF } from './support/sync.ts';

const KEY = 'sk_test_stored_secret_0451';
const PASSWORD = 'pw_stored_secret_0452';
const scrub = secretScrubber([KEY, PASSWORD]);
const failure = () =>
  new RetryableError(`connect failed for postgres://sync:${PASSWORD}@db with key ${KEY}`, 'network');

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());
beforeEach(() => t.reset());

it('a poll failure is stored scrubbed', async () => {
  let calls = 0;
  const stop = new AbortController();
  await poll(
    {
      db: t.db,
      log: silentLogger(),
      scrub,
      events: {
        async listEvents() {
          calls++;
          // Fails once, and stops the loop from its second wait on.
          if (calls > 1) stop.abort();
          throw failure();
        },
      },
      connections: {
        listConnections: () => Promise.reject(new Error('no page is ever applied: nothing is refreshed')),
      },
    },
    { backoff: FAST_BACKOFF, signal: stop.signal },
  );
  const state = await t.db
    .selectFrom('sync_state')
    .select('last_poll_error')
    .where('stream', '=', 'events')
    .executeTakeFirstOrThrow();
  expect(state.last_poll_error).toBe('connect failed for postgres://sync:[redacted]@db with key [redacted]');
});

it('a failed reconciliation is stored scrubbed', async () => {
  await expect(
    reconcile({
      db: t.db,
      log: silentLogger(),
      scrub,
      connections: {
        async listConnections() {
          throw failure();
        },
      },
    }),
  ).rejects.toThrow(PASSWORD);
  const run = await t.db
    .selectFrom('reconciliation_runs')
    .select(['status', 'error'])
    .executeTakeFirstOrThrow();
  expect(run).toEqual({
    status: 'failed',
    error: 'connect failed for postgres://sync:[redacted]@db with key [redacted]',
  });
});
