/**
 * The process's WorkOS request gate: every request of every environment's client takes its turn
 * from the fleet's budget in Postgres (sync/request-budget.ts), built once the database is open.
 * The embedded database serves one process only: there is no fleet to share a budget with, and
 * its one connection is better left to the sync, so it has no gate.
 */
import type { Config } from '../config.ts';
import type { DatabaseHandle } from '../db/connect.ts';
import type { Logger } from '../logger.ts';
import { requestBudgetGate } from '../sync/request-budget.ts';
import type { RequestGate } from '../workos/client.ts';

export interface RequestGateDeps {
  readonly config: Config;
  readonly database: () => Promise<DatabaseHandle>;
  readonly log: Logger;
  /** Aborted as the library closes: requests waiting for their turn stop waiting. */
  readonly signal: AbortSignal;
}

export function processRequestGate(deps: RequestGateDeps): RequestGate {
  let built: Promise<RequestGate | null> | undefined;
  const gate = (): Promise<RequestGate | null> => {
    built ??= deps.database().then(
      (handle) =>
        handle.kind === 'embedded'
          ? null
          : requestBudgetGate(handle.db, {
              requestsPerMinute: deps.config.workos.requestsPerMinute,
              log: deps.log,
              signal: deps.signal,
            }),
      (error: unknown) => {
        // The database could not be opened: the request fails as the sync's next statement would,
        // and the next request tries again.
        built = undefined;
        throw error;
      },
    );
    return built;
  };
  return {
    async beforeRequest(signal, priority) {
      await (await gate())?.beforeRequest(signal, priority);
    },
    async rateLimited(retryAfterMs) {
      await (await gate())?.rateLimited(retryAfterMs);
    },
  };
}
