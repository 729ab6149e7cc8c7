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

/** Which connections a listing asks for: all of them (a reconciliation), or one organization's. */
export interface ConnectionsScope {
  readonly organizationId?: string | undefined;
}

export interface ConnectionsSource {
  listConnections(after: string | undefined, scope?: ConnectionsScope): Promise<ConnectionPage>;
}

const connectionListBody = z.object({
  data: z.array(z.unknown()),
  list_metadata: z.object({ after: z.string().nullish() }).loose(),
});

export function workosConnectionsSource(workos: WorkOS): ConnectionsSource {
  return {
    async listConnections(after, scope = {}) {
      // Oldest first, so connections created while we page land on pages still to come.
      const query: Record<string, string | number> = { limit: CONNECTIONS_PAGE_LIMIT, order: 'asc' };
      if (after !== undefined) query.after = after;
      if (scope.organizationId !== undefined) query.organization_id = scope.organizationId;
      let body: unknown;
      let servedAt: Date | null;
      try {
        // Listing every connection is reconciling, whichever operation reconciles; listing one
        // organization's is the refresh a domain event causes.
        const phase = scope.organizationId === undefined ? 'reconcile' : 'refresh';
        ({ body, servedAt } = await getRaw(workos, '/connections', query, phase));
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
