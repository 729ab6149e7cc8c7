/** Pages of raw events from `GET /events`, as the sync engine asks for them. */
import type { WorkOS } from '@workos-inc/node';
import { z } from 'zod';
import { CursorRejectedError, FatalError, RetryableError } from '../errors.ts';
import { getRaw, type WorkosPhase } from './client.ts';
import { classifyWorkosError, messageOf, refusalStatus } from './errors.ts';
import { SYNCED_EVENT_TYPES } from './wire.ts';

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

export interface EventsSourceOptions {
  /** What the pages are fetched for, as each request's User-Agent says (client.ts). */
  readonly phase?: Extract<WorkosPhase, 'backfill' | 'poll'> | undefined;
  readonly types?: readonly string[] | undefined;
}

export function workosEventsSource(workos: WorkOS, options: EventsSourceOptions = {}): EventsSource {
  const { phase, types = SYNCED_EVENT_TYPES } = options;
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
        ({ body } = await getRaw(workos, '/events', query, phase));
      } catch (error) {
        if (request.after !== undefined && refusalStatus(error) !== undefined)
          throw await confirmCursorRejected(workos, query, request.after, error, phase);
        throw classifyWorkosError(error, { path: '/events' });
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

/**
 * A refusal of a request that carried `after` may be about the cursor (expired past retention;
 * what WorkOS answers then is undocumented) or about the request itself (a bad filter, a wrong
 * path). The same request without `after` tells them apart: answered, it was the cursor; refused
 * too, it is the request, and recovering — a reconciliation and a restart from the oldest
 * retained events — would only throw the cursor away to fail the same way. Failing otherwise
 * (WorkOS unavailable meanwhile), it is classified as what it is, and the next attempt asks again.
 */
async function confirmCursorRejected(
  workos: WorkOS,
  query: Record<string, string | number>,
  cursor: string,
  refusal: unknown,
  phase: WorkosPhase | undefined,
): Promise<Error> {
  const { after: _, ...withoutCursor } = query;
  try {
    await getRaw(workos, '/events', withoutCursor, phase);
  } catch (error) {
    const status = refusalStatus(error);
    if (status === undefined) return classifyWorkosError(error, { path: '/events' });
    return new FatalError(
      `WorkOS refused GET /events (${refusalStatus(refusal)}: ${messageOf(refusal)}) and refuses it without the cursor too (${status}: ${messageOf(error)}): the request is wrong, not the cursor`,
      { cause: refusal, kind: 'refused' },
    );
  }
  return new CursorRejectedError(cursor, { cause: refusal });
}
