/** Pages of raw events from `GET /events`, as the sync engine asks for them. */
import type { WorkOS } from '@workos-inc/node';
import { z } from 'zod';
import { RetryableError } from '../errors.ts';
import { getRaw } from './client.ts';
import { classifyWorkosError } from './errors.ts';
import { CONNECTION_EVENT_TYPES } from './wire.ts';

export const PAGE_LIMIT = 100;

export interface EventsRequest {
  /** The last event id already applied; exclusive with `rangeStart`. */
  readonly after?: string | undefined;
  readonly rangeStart?: Date | undefined;
}

/** Events stay raw (`unknown`): each one is validated on its own so one bad event cannot sink a page. */
export interface EventPage {
  readonly events: readonly unknown[];
  /** `list_metadata.after`: null or a short page means "caught up for now". */
  readonly after: string | null;
  readonly limit: number;
}

export interface EventsSource {
  listEvents(request: EventsRequest): Promise<EventPage>;
}

const eventListBody = z.object({
  data: z.array(z.unknown()),
  list_metadata: z.object({ after: z.string().nullish() }).loose(),
});

export function workosEventsSource(
  workos: WorkOS,
  types: readonly string[] = CONNECTION_EVENT_TYPES,
): EventsSource {
  return {
    async listEvents(request) {
      const query: Record<string, string | number> = {
        // The SDK sends what we give it; WorkOS reads the filter comma-joined.
        events: types.join(','),
        limit: PAGE_LIMIT,
        // WorkOS serves oldest first, but documents `desc` as the default: always say so.
        order: 'asc',
      };
      if (request.after !== undefined) query.after = request.after;
      else if (request.rangeStart !== undefined) query.range_start = request.rangeStart.toISOString();

      let body: unknown;
      try {
        ({ body } = await getRaw(workos, '/events', query));
      } catch (error) {
        throw classifyWorkosError(error, { path: '/events', cursor: request.after });
      }
      const parsed = eventListBody.safeParse(body);
      if (!parsed.success) {
        throw new RetryableError('WorkOS sent an events list without data/list_metadata', 'bad_response', {
          cause: parsed.error,
        });
      }
      return { events: parsed.data.data, after: parsed.data.list_metadata.after ?? null, limit: PAGE_LIMIT };
    },
  };
}
