/** Pages of raw organizations, with their domains, from `GET /organizations` (List Organizations), for reconciliation. */
import type { WorkOS } from '@workos-inc/node';
import { z } from 'zod';
import { RetryableError } from '../errors.ts';
import { getRaw } from './client.ts';
import { classifyWorkosError } from './errors.ts';

export const ORGANIZATIONS_PAGE_LIMIT = 100;

export interface OrganizationPage {
  readonly organizations: readonly unknown[];
  /** The id to ask for the next page after; null at the end of the list. */
  readonly after: string | null;
  /** WorkOS's clock when it served the page (its `Date` header), when it said. */
  readonly servedAt: Date | null;
}

export interface OrganizationsSource {
  listOrganizations(after: string | undefined): Promise<OrganizationPage>;
}

const organizationListBody = z.object({
  data: z.array(z.unknown()),
  list_metadata: z.object({ after: z.string().nullish() }).loose(),
});

export function workosOrganizationsSource(workos: WorkOS): OrganizationsSource {
  return {
    async listOrganizations(after) {
      // Oldest first, so organizations created while we page land on pages still to come.
      const query: Record<string, string | number> = { limit: ORGANIZATIONS_PAGE_LIMIT, order: 'asc' };
      if (after !== undefined) query.after = after;
      let body: unknown;
      let servedAt: Date | null;
      try {
        ({ body, servedAt } = await getRaw(workos, '/organizations', query, 'reconcile'));
      } catch (error) {
        throw classifyWorkosError(error, { path: '/organizations' });
      }
      const parsed = organizationListBody.safeParse(body);
      if (!parsed.success) {
        throw new RetryableError(
          'WorkOS sent an organizations list without data/list_metadata',
          'bad_response',
          {
            cause: parsed.error,
          },
        );
      }
      return { organizations: parsed.data.data, after: parsed.data.list_metadata.after ?? null, servedAt };
    },
  };
}
