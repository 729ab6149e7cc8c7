/**
 * Reads the event stream ahead of the apply step. Each request asks for the page after the last
 * one received, so requests follow one another by nature; what this adds is that they never wait
 * for the database. While pages are being applied the next ones are already being fetched, up to
 * `capacity` pages held, so a backfill goes at the pace of the slower of WorkOS and Postgres
 * instead of the sum of both, and memory stays bounded however long the history is.
 *
 * Each page is parsed and validated (pure, see `parse-event.ts`) as it arrives, so that work too
 * happens while the apply step waits for Postgres rather than on its critical path.
 *
 * A failed request ends the reading: the pages fetched before it are still handed out, then
 * `take` throws its error. Nothing here touches the database or the stored cursor.
 */
import type { EventPage, EventsRequest, EventsSource } from '../../workos/events-source.ts';
import { type ParsedItem, parseEvent } from './parse-event.ts';

export interface ReadPage {
  readonly items: readonly ParsedItem[];
  /** The cursor once this page is applied (null only while nothing has ever been received). */
  readonly next: string | null;
  /** False when this page ends the stream for now: short, `after: null`, or no progress. */
  readonly more: boolean;
}

export interface PageReaderOptions {
  /** Pages fetched but not yet taken, at most. */
  readonly capacity: number;
  /** Stops requesting (the request in flight still lands); `take` then drains what is held. */
  readonly signal?: AbortSignal | undefined;
  /** Requests at most this many pages. */
  readonly maxPages?: number | undefined;
}

export class PageReader {
  readonly #queue: ReadPage[] = [];
  #failure: { readonly error: unknown } | undefined;
  #finished = false;
  #stopped = false;
  #pageArrived: (() => void) | undefined;
  #roomMade: (() => void) | undefined;

  constructor(source: EventsSource, first: EventsRequest, cursor: string | null, options: PageReaderOptions) {
    void this.#read(source, first, cursor, options);
  }

  /**
   * Waits for a page, then returns every page held (up to `max`), oldest first. Empty once the
   * reader has stopped with nothing left; throws the request's error once the pages before it
   * have been taken.
   */
  async take(max: number): Promise<ReadPage[]> {
    while (this.#queue.length === 0) {
      if (this.#failure) throw this.#failure.error;
      if (this.#finished) return [];
      await new Promise<void>((resolve) => {
        this.#pageArrived = resolve;
      });
    }
    const pages = this.#queue.splice(0, max);
    this.#roomMade?.();
    return pages;
  }

  /** No further requests; what is in flight is abandoned. */
  stop(): void {
    this.#stopped = true;
    this.#roomMade?.();
  }

  async #read(
    source: EventsSource,
    first: EventsRequest,
    cursor: string | null,
    options: PageReaderOptions,
  ): Promise<void> {
    let request = first;
    try {
      for (let read = 0; !this.#stopped && read < (options.maxPages ?? Number.POSITIVE_INFINITY); read++) {
        const page = await source.listEvents(request);
        if (this.#stopped) return;
        const next = nextCursor(page, cursor);
        const more = page.events.length >= page.limit && page.after !== null && next !== cursor;
        this.#queue.push({ items: page.events.map(parseEvent), next, more });
        this.#pageArrived?.();
        if (!more || next === null || options.signal?.aborted) return;
        cursor = next;
        request = { after: next };
        while (this.#queue.length >= options.capacity && !this.#stopped) {
          await new Promise<void>((resolve) => {
            this.#roomMade = resolve;
          });
        }
      }
    } catch (error) {
      this.#failure = { error };
    } finally {
      this.#finished = true;
      this.#pageArrived?.();
    }
  }
}

/**
 * The id to resume after: the last event's own id (always one the API returned), or the list's
 * `after` when that event is too broken to carry one.
 */
function nextCursor(page: EventPage, current: string | null): string | null {
  const last = page.events.at(-1);
  const id = typeof last === 'object' && last !== null ? (last as { id?: unknown }).id : undefined;
  if (typeof id === 'string' && id !== '') return id;
  return page.after ?? current;
}
