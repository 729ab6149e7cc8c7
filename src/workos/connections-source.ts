/** Pages of raw connections from `GET /connections` (List Connections), for reconciliation. */
import type { WorkOS } from '@workos-inc/node';
import { z } from 'zod';
import { RetryableError } from '../errors.ts';
import { getRaw } from './client.ts';
import { classifyWorkosError } from './errors.ts';

export const CONNECTIONS_PAGE_LIMIT = 100;

export interface ConnectionPage {
  readonly connections: readonly unknown[];
  /** The id to ask for the next page after; null at the end of the list. */
  readonly after: string | null;
  /** WorkOS's clock when it served the page (its `Date` header), when it said. */
  readonly servedAt: Date | null;
}

export interface ConnectionsSource {
  listConnections(after: string | undefined): Promise<ConnectionPage>;
}

const connectionListBody = z.object({
  data: z.array(z.unknown()),
  list_metadata: z.object({ after: z.string().nullish() }).loose(),
});

export function workosConnectionsSource(workos: WorkOS): ConnectionsSource {
  return {
    async listConnections(after) {
      // Oldest first, so connections created while we page land on pages still to come.
      const query: Record<string, string | number> = { limit: CONNECTIONS_PAGE_LIMIT, order: 'asc' };
      if (after !== undefined) query.after = after;
      let body: unknown;
      let servedAt: Date | null;
      try {
        // Listing connections is reconciling, whichever operation reconciles.
        ({ body, servedAt } = await getRaw(workos, '/connections', query, 'reconcile'));
      } catch (error) {
        throw classifyWorkosError(error, { path: '/connections' });
      }
      const parsed = connectionListBody.safeParse(body);
      if (!parsed.success) {
        throw new RetryableError(
          'WorkOS sent a connections list without data/list_metadata',
          'bad_response',
          {
            cause: parsed.error,
          },
        );
      }
      return { connections: parsed.data.data, after: parsed.data.list_metadata.after ?? null, servedAt };
    },
  };
}
