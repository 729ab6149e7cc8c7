/**
 * The pieces of a sync over real HTTP: the emulator on a loopback port, the real WorkOS SDK
 * pointed at it, and a test database.
 */
import type { WorkOS } from '@workos-inc/node';
import { type Emulator, startEmulator, WorkosModel } from '../../emulator/index.ts';
import type { Logger } from '../../src/logger.ts';
import type { PollOnceDeps } from '../../src/sync/events/poll-once.ts';
import { createWorkosClient } from '../../src/workos/client.ts';
import { workosConnectionsSource } from '../../src/workos/connections-source.ts';
import { workosEventsSource } from '../../src/workos/events-source.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { noSecrets, silentLogger } from './logs.ts';

export const API_KEY = 'sk_test_emulator_0123456789abcdef';

export interface SyncHarness {
  readonly emulator: Emulator;
  readonly database: TestDatabase;
  readonly workos: WorkOS;
  deps(log?: Logger): PollOnceDeps;
  close(): Promise<void>;
}

export async function startHarness(
  options: { model?: WorkosModel; maxRetries?: number; timeoutMs?: number; database?: TestDatabase } = {},
): Promise<SyncHarness> {
  const emulator = await startEmulator({
    apiKey: API_KEY,
    model: options.model ?? new WorkosModel({ seed: 1 }),
  });
  // A database handed in is the caller's to reset and close.
  const database = options.database ?? (await createTestDatabase());
  const ownsDatabase = options.database === undefined;
  const workos = createWorkosClient({
    apiKey: API_KEY,
    apiUrl: emulator.url,
    maxRetries: options.maxRetries ?? 0,
    timeoutMs: options.timeoutMs ?? 10_000,
  });
  return {
    emulator,
    database,
    workos,
    deps: (log = silentLogger()) => ({
      db: database.db,
      events: workosEventsSource(workos),
      connections: workosConnectionsSource(workos),
      log,
      scrub: noSecrets,
    }),
    async close() {
      await emulator.close();
      if (ownsDatabase) await database.close();
    },
  };
}

/** A backoff that keeps retry tests fast; the production default starts at 500 ms. */
export const FAST_BACKOFF = { initialMs: 5, maxMs: 50 };
