/**
 * Holds one lease for this replica across ticks: takes it when free, renews it every third of
 * its lifetime while held, and aborts the current `signal` as soon as it cannot be sure it
 * still holds it (renewal refused, or failing for longer than the lease lives), so work stops
 * at the next page boundary. State changes — and only those — are reported.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/tables.ts';
import type { Logger } from '../logger.ts';
import { acquireLease, type LeaseName, releaseLease } from '../sync/lease.ts';

export interface LeaseKeeperDeps {
  readonly db: Kysely<Database>;
  readonly log: Logger;
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

  /** The signal of the lease we hold (taking it if it is free), or undefined if another replica has it. */
  async ensure(): Promise<AbortSignal | undefined> {
    if (this.#held && !this.#held.signal.aborted) return this.#held.signal;
    if (!(await acquireLease(this.deps.db, this.name, this.holder, this.ttlMs))) return undefined;
    this.#held = new AbortController();
    this.#confirmedAt = Date.now();
    this.#timer = setInterval(() => void this.#renew(), Math.max(50, Math.floor(this.ttlMs / 3)));
    this.#timer.unref();
    this.deps.onChange?.(this.name, true);
    return this.#held.signal;
  }

  /** Gives the lease back so a standby takes over at once instead of after it expires. */
  async release(): Promise<void> {
    if (!this.#held || this.#held.signal.aborted) return;
    this.#lose();
    await releaseLease(this.deps.db, this.name, this.holder).catch(() => undefined);
  }

  async #renew(): Promise<void> {
    try {
      if (await acquireLease(this.deps.db, this.name, this.holder, this.ttlMs)) {
        this.#confirmedAt = Date.now();
        return;
      }
      this.deps.log.warn(
        { lease: this.name },
        'lease taken over by another replica; stopping after the page in flight',
      );
    } catch (error) {
      if (Date.now() - this.#confirmedAt < this.ttlMs) return;
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
