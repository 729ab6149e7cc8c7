/**
 * Cursor paging over an array kept in ascending creation order. Both lists (events, connections)
 * page the same way: walk from a position in the requested direction, keep the matches, and look
 * one item further to learn whether another page exists. Work per page is proportional to what is
 * scanned, never to the size of the whole list.
 */
import { InvalidParameterError } from './errors.ts';

export type ListOrder = 'asc' | 'desc' | 'normal';

/** Validates `limit` as WorkOS does: an integer in 1..100, 10 when absent. */
export function parseLimit(limit: number | undefined): number {
  if (limit === undefined) return 10;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw new InvalidParameterError(
      'limit',
      'Validation failed: limit must be an integer between 1 and 100.',
    );
  }
  return limit;
}

/** Validates `order`; absent means `desc`, the documented default. */
export function parseOrder(order: string | undefined): ListOrder {
  if (order === undefined) return 'desc';
  if (order === 'asc' || order === 'desc' || order === 'normal') return order;
  throw new InvalidParameterError(
    'order',
    "Validation failed: order must be one of 'asc', 'desc', 'normal'.",
  );
}

export interface Collected<T> {
  items: T[];
  /** Another match exists beyond the last collected item in the walking direction. */
  more: boolean;
}

/**
 * Collects up to `limit` items matching `match`, starting at index `from` and stepping by `step`,
 * never leaving the window [lo, hi).
 */
export function collect<T>(
  items: readonly T[],
  window: { from: number; step: 1 | -1; lo: number; hi: number },
  limit: number,
  match: (item: T) => boolean,
): Collected<T> {
  const out: T[] = [];
  const { step, lo, hi } = window;
  for (let i = window.from; i >= lo && i < hi; i += step) {
    const item = items[i] as T;
    if (!match(item)) continue;
    if (out.length === limit) return { items: out, more: true };
    out.push(item);
  }
  return { items: out, more: false };
}

/** First index of a sorted array at which `isBefore` turns false (binary search). */
export function partitionPoint<T>(items: readonly T[], isBefore: (item: T) => boolean): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (isBefore(items[mid] as T)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
