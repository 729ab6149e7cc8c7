/**
 * Holds one lease for this replica across ticks: takes it when free, renews it every third of
 * its lifetime while held, and aborts the current `signal` as soon as it cannot be sure it
 * still holds it (renewal refused, or failing for longer than the lease lives), so work stops
 * at the next page boundary. State changes — and only those — are logged, each once.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/tables.ts';
import type { Logger } from '../logger.ts';
import { acquireLease, type LeaseName, releaseLease, renewLease } from '../sync/lease.ts';

export interface LeaseKeeperDeps {
  readonly db: Kysely<Database>;
  readonly log: Logger;
  /** Told of every change (for metrics). */
  readonly onChange?: ((name: LeaseName, held: boolean) => void) | undefined;
}

export class LeaseKeeper {
  #held: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #confirmedAt = 0;

  constructor(
    private readonly deps: LeaseKeeperDeps,
    readonly name: LeaseName,
    private readonly holder: string,
    private readonly ttlMs: number,
  ) {}

  /** Whether this replica holds the lease, as far as it knows now (no query). */
  holds(): boolean {
    return this.#held !== undefined && !this.#held.signal.aborted;
  }

  /** The signal of the lease we hold (taking it if it is free), or undefined if another replica has it. */
  async ensure(): Promise<AbortSignal | undefined> {
    if (this.#held && !this.#held.signal.aborted) return this.#held.signal;
    if (!(await acquireLease(this.deps.db, this.name, this.holder, this.ttlMs))) return undefined;
    this.#held = new AbortController();
    this.#confirmedAt = Date.now();
    this.#timer = setInterval(() => void this.#renew(), Math.max(50, Math.floor(this.ttlMs / 3)));
    this.#timer.unref();
    this.deps.onChange?.(this.name, true);
    this.deps.log.info({ lease: this.name, holder: this.holder }, 'lease acquired');
    return this.#held.signal;
  }

  /**
   * Gives the lease back so a standby takes over at once instead of after it expires. A renewal
   * still in flight cannot undo it: renewing only ever extends a lease row we hold.
   */
  async release(): Promise<void> {
    if (!this.#held || this.#held.signal.aborted) return;
    this.#lose();
    await releaseLease(this.deps.db, this.name, this.holder).catch(() => undefined);
    this.deps.log.info({ lease: this.name, holder: this.holder }, 'lease released');
  }

  /**
   * Renews now instead of at the next interval, for a caller with reason to doubt it still holds
   * the lease (the database ended its session: was this process stopped?). A lost lease aborts
   * the signal before this resolves, and is logged once, with `cause`.
   */
  async recheck(cause?: unknown): Promise<void> {
    await this.#renew(cause);
  }

  async #renew(cause?: unknown): Promise<void> {
    const held = this.#held;
    if (!held || held.signal.aborted) return;
    const unconfirmedMs = Date.now() - this.#confirmedAt;
    try {
      const renewed = await renewLease(this.deps.db, this.name, this.holder, this.ttlMs);
      // Released, or found lost by a concurrent renewal, meanwhile: nothing left to report.
      if (held.signal.aborted) return;
      if (renewed) {
        this.#confirmedAt = Date.now();
        return;
      }
      this.deps.log.warn(
        { lease: this.name, unconfirmedMs, err: cause },
        unconfirmedMs > this.ttlMs
          ? 'lease lost: this process went unconfirmed for longer than its lease (stopped or stalled) and another replica holds it now; standing by'
          : 'lease taken over by another replica; stopping after the page in flight',
      );
    } catch (error) {
      if (held.signal.aborted || Date.now() - this.#confirmedAt < this.ttlMs) return;
      this.deps.log.warn(
        { lease: this.name, err: error },
        'cannot renew the lease; stopping after the page in flight',
      );
    }
    this.#lose();
  }

  #lose(): void {
    clearInterval(this.#timer);
    this.#held?.abort();
    this.deps.onChange?.(this.name, false);
  }
}
