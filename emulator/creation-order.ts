/**
 * Live records kept in creation order, and the cursor paging WorkOS's object listings share (List
 * Connections, List Organizations): `limit`, `order`, and `before`/`after` by id.
 *
 * Records sit in one array sorted by (creation time, insertion sequence) plus an id map, so a page
 * costs a binary search and a short walk even with 50,000 records. A cursor is located by its sort
 * key, which removed records keep: a client paging while the record on its cursor is deleted
 * carries on from the same place instead of failing.
 */
import { InvalidParameterError, UnknownCursorError } from './errors.ts';
import { collect, parseLimit, parseOrder, partitionPoint } from './pagination.ts';

export interface SortKey {
  /** Creation time in ms. */
  createdMs: number;
  /** Insertion sequence: breaks ties between records created in the same millisecond. */
  seq: number;
}

export interface PageParams {
  limit?: number;
  before?: string;
  after?: string;
  order?: string;
}

export interface Page<R> {
  data: R[];
  before: string | null;
  after: string | null;
}

const precedes = (a: SortKey, b: SortKey) =>
  a.createdMs < b.createdMs || (a.createdMs === b.createdMs && a.seq < b.seq);

export class CreationOrderedList<R extends SortKey & { id: string }> {
  private readonly ordered: R[] = [];
  private readonly live = new Map<string, R>();
  private readonly removed = new Map<string, SortKey>();

  /** `kind` names the records in errors, e.g. `Connection`. */
  constructor(private readonly kind: string) {}

  insert(record: R): void {
    if (this.live.has(record.id) || this.removed.has(record.id)) {
      throw new Error(`${this.kind} ${record.id} already exists`);
    }
    const last = this.ordered[this.ordered.length - 1];
    if (!last || precedes(last, record)) this.ordered.push(record);
    else this.ordered.splice(this.indexOf(record), 0, record);
    this.live.set(record.id, record);
  }

  get(id: string): R | undefined {
    return this.live.get(id);
  }

  /** Whether the id was ever inserted (live or removed since): it cannot be inserted again. */
  has(id: string): boolean {
    return this.live.has(id) || this.removed.has(id);
  }

  /** Takes the record out of the listing; its id stays usable as a cursor and cannot be reused. */
  remove(id: string): R {
    const record = this.live.get(id);
    if (!record) throw new Error(`${this.kind} ${id} is not live`);
    this.ordered.splice(this.indexOf(record), 1);
    this.live.delete(id);
    this.removed.set(id, { createdMs: record.createdMs, seq: record.seq });
    return record;
  }

  /** Live records in list order (oldest first); callers must not mutate the array. */
  records(): readonly R[] {
    return this.ordered;
  }

  get size(): number {
    return this.ordered.length;
  }

  /**
   * One page of the records matching `match`. Throws InvalidParameterError (422) for a bad
   * `limit`/`order` or both cursors, UnknownCursorError (400) for a cursor never listed.
   */
  page(params: PageParams, match: (record: R) => boolean): Page<R> {
    const limit = parseLimit(params.limit);
    const order = parseOrder(params.order);
    if (params.before !== undefined && params.after !== undefined) {
      throw new InvalidParameterError(
        'before',
        'Validation failed: before and after are mutually exclusive.',
      );
    }
    // Walk in list order (`step`); asc lists oldest first, desc and normal newest first.
    const step = order === 'asc' ? 1 : -1;
    const n = this.ordered.length;
    const window = (from: number, dir: 1 | -1) => ({ from, step: dir, lo: 0, hi: n });
    if (params.before !== undefined) {
      // The `limit` nearest items preceding the cursor in list order, presented in list order.
      const at = this.cursorIndex('before', params.before);
      const from = step === 1 ? at.firstNotBefore - 1 : at.firstAfter;
      const page = collect(this.ordered, window(from, step === 1 ? -1 : 1), limit, match);
      const data = page.items.reverse();
      return {
        data,
        before: page.more ? (data[0]?.id ?? null) : null,
        after: data[data.length - 1]?.id ?? null,
      };
    }
    const at = params.after === undefined ? undefined : this.cursorIndex('after', params.after);
    const from =
      at === undefined ? (step === 1 ? 0 : n - 1) : step === 1 ? at.firstAfter : at.firstNotBefore - 1;
    const page = collect(this.ordered, window(from, step), limit, match);
    const data = page.items;
    return {
      data,
      before: at === undefined ? null : (data[0]?.id ?? null),
      after: page.more ? (data[data.length - 1]?.id ?? null) : null,
    };
  }

  /** Where a cursor sits in `ordered`: the first index not before it, and the first index after it. */
  private cursorIndex(field: 'before' | 'after', id: string): { firstNotBefore: number; firstAfter: number } {
    const key: SortKey | undefined = this.live.get(id) ?? this.removed.get(id);
    if (!key) throw new UnknownCursorError(field, id);
    const firstNotBefore = partitionPoint(this.ordered, (r) => precedes(r, key));
    const firstAfter = this.live.has(id) ? firstNotBefore + 1 : firstNotBefore;
    return { firstNotBefore, firstAfter };
  }

  private indexOf(key: SortKey): number {
    return partitionPoint(this.ordered, (r) => precedes(r, key));
  }
}
