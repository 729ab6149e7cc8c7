import type { z } from 'zod';
import type { MirrorView, PlannedWrite, RowKeys } from '../../mirror/rows.ts';

/** A validated event as handlers see it: envelope fields plus the type's parsed payload. */
export interface HandledEvent<Data> {
  readonly id: string;
  readonly event: string;
  readonly created_at: Date;
  readonly data: Data;
  /** The payload as WorkOS sent it (`redact.ts` aside), stored as a row's `raw`. */
  readonly rawData: unknown;
}

export type Decision =
  | { readonly outcome: 'applied'; readonly writes: readonly PlannedWrite[] }
  | { readonly outcome: 'stale'; readonly reason: string };

/** The rows of the mirror an event reads; the apply step loads (and locks) them first. */
export type Touches = RowKeys;

/**
 * One event type: its payload schema, which rows it reads, and a pure decision of what to write.
 * `decide` must not mutate `mirror` and must be a function of its arguments alone.
 */
export interface EventHandler<Data> {
  readonly schema: z.ZodType<Data, unknown>;
  touches(data: Data): Touches;
  decide(event: HandledEvent<Data>, mirror: MirrorView): Decision;
  /**
   * The organization whose connections this event may have changed without a `connection.*`
   * event (its domains are theirs): the batch lists them again before it commits
   * (`events/refreshes.ts`). Absent: none.
   */
  refreshes?(data: Data): string;
}

export function defineHandler<Data>(handler: EventHandler<Data>): EventHandler<Data> {
  return handler;
}
