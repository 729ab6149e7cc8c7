/**
 * The append-only event log of one WorkOS environment and the List Events query over it.
 *
 * Ordering: WorkOS lists events by creation time, so every appended event gets a `created_at`
 * strictly after the previous one (a clock that stalls or goes back is bumped by 1 ms). Log
 * position is therefore also time order, which lets range and retention bounds be binary searches.
 */
import type { ConnectionEventType, OrganizationEventType, WireEvent } from '../src/workos/wire.ts';
import { InvalidParameterError, UnknownCursorError } from './errors.ts';
import type { IdGenerator } from './ids.ts';
import { collect, parseLimit, parseOrder, partitionPoint } from './pagination.ts';

/** The event types the model emits itself (everything else arrives through `appendRaw`). */
export type EmittedEventType = ConnectionEventType | OrganizationEventType;
export type EmittedEvent<T extends EmittedEventType = EmittedEventType> = Extract<WireEvent, { event: T }>;

/** An event body as the API serves it: one of ours, or anything a test appended verbatim. */
export type RawEvent = Record<string, unknown>;
export type EventBody = EmittedEvent | RawEvent;

export interface EventListBody {
  object: 'list';
  data: EventBody[];
  list_metadata: { after: string | null };
}

export interface ListEventsParams {
  /** Event-type filter. Raw-appended events ignore it (they simulate the API misbehaving). */
  events?: readonly string[];
  after?: string;
  rangeStart?: string;
  rangeEnd?: string;
  limit?: number;
  order?: string;
  organizationId?: string;
}

export interface EventLogOptions {
  clock: () => Date;
  ids: IdGenerator;
  /** Events older than now − retentionMs are invisible, and cursors at them are rejected. */
  retentionMs?: number;
  /**
   * Events younger than this are not listed yet (WorkOS makes them visible after a few seconds).
   * 0 or absent: listed as soon as they are appended. `setVisibilityDelay` changes it.
   */
  visibilityDelayMs?: number;
}

/** A day: WorkOS's delay is a few seconds, and no test needs events hidden for longer. */
export const MAX_VISIBILITY_DELAY_MS = 86_400_000;

/** Why a visibility delay is refused, or undefined when it is usable. */
export function visibilityDelayProblem(ms: number): string | undefined {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_VISIBILITY_DELAY_MS)
    return `must be an integer number of milliseconds from 0 to ${MAX_VISIBILITY_DELAY_MS} (24 hours)`;
  return undefined;
}

interface LogEntry {
  body: EventBody;
  id: string | undefined;
  type: string | undefined;
  organizationId: string | undefined;
  time: number;
  raw: boolean;
}

/** The organisation an event is about, for List Events' `organization_id` filter. */
function organizationOf(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const d = data as {
    object?: unknown;
    id?: unknown;
    organization_id?: unknown;
    connection?: { organization_id?: unknown };
    organization_domain?: { organization_id?: unknown };
  };
  const org =
    d.object === 'organization'
      ? d.id
      : (d.organization_id ?? d.connection?.organization_id ?? d.organization_domain?.organization_id);
  return typeof org === 'string' ? org : undefined;
}

function parseInstant(field: string, value: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new InvalidParameterError(field, `Validation failed: ${field} must be an ISO-8601 date.`);
  return ms;
}

export class EventLog {
  private readonly entries: LogEntry[] = [];
  /** Event id → log position. A re-used id points at its latest occurrence. */
  private readonly positions = new Map<string, number>();
  private lastTime = Number.NEGATIVE_INFINITY;
  private visibilityDelayMs: number | undefined;
  private readonly listeners = new Set<(event: EventBody) => void>();

  constructor(private readonly options: EventLogOptions) {
    this.setVisibilityDelay(options.visibilityDelayMs ?? 0);
  }

  /** 0: every event is listed as soon as it is appended. Throws RangeError past the limits. */
  setVisibilityDelay(ms: number): void {
    const problem = visibilityDelayProblem(ms);
    if (problem !== undefined) throw new RangeError(`visibility delay ${ms} ${problem}`);
    this.visibilityDelayMs = ms === 0 ? undefined : ms;
  }

  get visibilityDelay(): number {
    return this.visibilityDelayMs ?? 0;
  }

  /**
   * Calls `listener` with each event appended from now on, synchronously and in log order, once its
   * body is complete. Returns the function that stops it.
   */
  onAppend(listener: (event: EventBody) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Appends one of the model's events. `build` receives the final event time, because payloads
   * depend on it (`updated_at`, `days_until_expiry`). `silent`: the body is built at the time it
   * would have had, but neither appended nor passed to listeners (a change WorkOS made without an
   * event reaching anyone); it does not hold back the times of later events either.
   */
  emit<T extends EmittedEventType>(
    type: T,
    at: Date | undefined,
    build: (createdAt: Date) => EmittedEvent<T>['data'],
    options: { silent?: boolean } = {},
  ): EmittedEvent<T> {
    const time = this.timeAfterLast(at);
    if (!options.silent) this.lastTime = time;
    const createdAt = new Date(time);
    const data = build(createdAt);
    const body = {
      object: 'event',
      id: this.options.ids.next('event', createdAt),
      event: type,
      data,
      created_at: createdAt.toISOString(),
      context: {},
    } as EmittedEvent<T>;
    if (!options.silent) this.push(body, time, false);
    return body;
  }

  /** Appends any body as is, filling in `id` and `created_at` only when absent. */
  appendRaw(event: RawEvent): RawEvent {
    const stated = typeof event.created_at === 'string' ? Date.parse(event.created_at) : Number.NaN;
    const time = this.nextTime(Number.isNaN(stated) ? undefined : new Date(stated));
    const body: RawEvent = { ...event };
    if (!('id' in body)) body.id = this.options.ids.next('event', new Date(time));
    if (!('created_at' in body)) body.created_at = new Date(time).toISOString();
    this.push(body, time, true);
    return body;
  }

  all(): EventBody[] {
    return this.entries.map((e) => e.body);
  }

  get size(): number {
    return this.entries.length;
  }

  list(params: ListEventsParams): EventListBody {
    const limit = parseLimit(params.limit);
    const order = parseOrder(params.order);
    if (params.after !== undefined && params.rangeStart !== undefined) {
      throw new InvalidParameterError(
        'range_start',
        'Validation failed: range_start and after are mutually exclusive.',
      );
    }
    let { lo, hi } = this.visibleWindow();
    const cursor = params.after === undefined ? undefined : this.cursorPosition(params.after, lo);
    if (params.rangeStart !== undefined) {
      const start = parseInstant('range_start', params.rangeStart);
      lo = Math.max(
        lo,
        partitionPoint(this.entries, (e) => e.time < start),
      );
    }
    if (params.rangeEnd !== undefined) {
      const end = parseInstant('range_end', params.rangeEnd);
      hi = Math.min(
        hi,
        partitionPoint(this.entries, (e) => e.time < end),
      );
    }
    const types = params.events && params.events.length > 0 ? new Set(params.events) : undefined;
    const org = params.organizationId;
    const match = (e: LogEntry) =>
      e.raw || ((!types || types.has(e.type ?? '')) && (!org || e.organizationId === org));

    let page: LogEntry[];
    if (order === 'asc') {
      const from = cursor === undefined ? lo : Math.max(cursor + 1, lo);
      page = collect(this.entries, { from, step: 1, lo, hi }, limit, match).items;
    } else if (order === 'normal' && cursor !== undefined) {
      // `normal`: newest first, but `after` reaches for newer events (the nearest ones).
      const from = Math.max(cursor + 1, lo);
      page = collect(this.entries, { from, step: 1, lo, hi }, limit, match).items.reverse();
    } else {
      const from = cursor === undefined ? hi - 1 : Math.min(cursor - 1, hi - 1);
      page = collect(this.entries, { from, step: -1, lo, hi }, limit, match).items;
    }
    const last = page[page.length - 1];
    return {
      object: 'list',
      data: page.map((e) => e.body),
      list_metadata: { after: last?.id ?? null },
    };
  }

  private nextTime(at: Date | undefined): number {
    const time = this.timeAfterLast(at);
    this.lastTime = time;
    return time;
  }

  /** `at` (default: now), or 1 ms after the last event if that is later. */
  private timeAfterLast(at: Date | undefined): number {
    const wanted = (at ?? this.options.clock()).getTime();
    return wanted > this.lastTime ? wanted : this.lastTime + 1;
  }

  private push(body: EventBody, time: number, raw: boolean): void {
    const id = typeof body.id === 'string' ? body.id : undefined;
    const type = typeof body.event === 'string' ? body.event : undefined;
    if (id !== undefined) this.positions.set(id, this.entries.length);
    this.entries.push({ body, id, type, organizationId: organizationOf(body.data), time, raw });
    for (const listener of this.listeners) listener(body);
  }

  /** [lo, hi): the positions a list request may see right now. */
  private visibleWindow(): { lo: number; hi: number } {
    const now = this.options.clock().getTime();
    const { retentionMs } = this.options;
    const { visibilityDelayMs } = this;
    const lo =
      retentionMs === undefined ? 0 : partitionPoint(this.entries, (e) => e.time < now - retentionMs);
    const hi =
      visibilityDelayMs === undefined
        ? this.entries.length
        : partitionPoint(this.entries, (e) => e.time <= now - visibilityDelayMs);
    return { lo, hi };
  }

  private cursorPosition(after: string, retainedFrom: number): number {
    const position = this.positions.get(after);
    if (position === undefined || position < retainedFrom) throw new UnknownCursorError('after', after);
    return position;
  }
}
