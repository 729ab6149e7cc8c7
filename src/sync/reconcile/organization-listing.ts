/** The whole of List Organizations, each with its domains, validated item by item (`read-listing.ts`). */
import type { OrganizationsSource } from '../../workos/organizations-source.ts';
import { organization } from '../../workos/schemas.ts';
import { withoutVerificationTokens } from '../mirror/redact.ts';
import type { ListedOrganization, OrganizationListing } from './plan-organizations.ts';
import { readListing } from './read-listing.ts';

export interface FetchedOrganizationListing extends OrganizationListing {
  /** WorkOS's clock when it served the first page; null when it did not say. */
  readonly listedAt: Date | null;
  readonly pages: number;
}

export async function fetchOrganizationListing(
  source: OrganizationsSource,
  options: { readonly signal?: AbortSignal | undefined } = {},
): Promise<FetchedOrganizationListing> {
  const { items, ...read } = await readListing<ListedOrganization>(
    'List Organizations',
    async (after) => {
      const page = await source.listOrganizations(after);
      return { items: page.organizations, after: page.after, servedAt: page.servedAt };
    },
    (raw) => {
      const parsed = organization.safeParse(raw);
      if (!parsed.success) return null;
      return {
        item: { organization: parsed.data, raw: withoutVerificationTokens(raw) },
        updatedAt: parsed.data.updated_at,
      };
    },
    options,
  );
  return { organizations: items, ...read };
}
