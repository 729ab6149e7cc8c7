/**
 * The whole of List Connections, validated item by item. Nothing is written until every page is
 * in: a listing that could not be fetched completely must not delete anything.
 */
import { z } from 'zod';
import type { ConnectionsSource } from '../../workos/connections-source.ts';
import { connection } from '../../workos/schemas.ts';
import type { ListedConnection, Listing } from './plan.ts';
import { parseSigningCertificate } from './signing-cert.ts';

const listedConnection = connection.extend({ options: z.unknown().optional() });

export async function fetchListing(
  source: ConnectionsSource,
  options: { readonly signal?: AbortSignal | undefined } = {},
): Promise<Listing & { pages: number }> {
  const connections: ListedConnection[] = [];
  const invalidIds = new Set<string>();
  let invalid = 0;
  let pages = 0;
  let after: string | undefined;
  do {
    if (options.signal?.aborted) throw new Error('reconciliation interrupted');
    const page = await source.listConnections(after);
    pages++;
    for (const raw of page.connections) {
      const parsed = listedConnection.safeParse(raw);
      if (parsed.success) {
        connections.push({
          connection: parsed.data,
          raw,
          certificate: parseSigningCertificate(parsed.data.options),
        });
      } else {
        invalid++;
        const id = (raw as { id?: unknown } | null)?.id;
        if (typeof id === 'string') invalidIds.add(id);
      }
    }
    const next = page.after ?? undefined;
    // A list that hands back the cursor it was given would page forever.
    if (next !== undefined && next === after) throw new Error(`List Connections repeated the cursor ${next}`);
    after = page.connections.length > 0 ? next : undefined;
  } while (after !== undefined);
  return { connections, invalidIds, invalid, pages };
}
