/** A set of ids with O(1) add, remove and uniform random pick (for choosing who acts next). */
import type { Random } from './random.ts';

export class IdPool {
  private readonly ids: string[] = [];
  private readonly index = new Map<string, number>();

  get size(): number {
    return this.ids.length;
  }

  add(id: string): void {
    if (this.index.has(id)) return;
    this.index.set(id, this.ids.length);
    this.ids.push(id);
  }

  /** Swap-remove: order is irrelevant to a random pick. */
  remove(id: string): void {
    const at = this.index.get(id);
    if (at === undefined) return;
    const last = this.ids.pop() as string;
    this.index.delete(id);
    if (last !== id) {
      this.ids[at] = last;
      this.index.set(last, at);
    }
  }

  pick(random: Random): string {
    return random.pick(this.ids);
  }
}
