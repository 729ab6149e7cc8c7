/**
 * Holds one lease for this replica across ticks: takes it when free, renews it every third of
 * its lifetime while held, and aborts the current `signal` as soon as it cannot be sure it
 * still holds it (renewal refused, or failing for longer than the lease lives), so work stops
 * at the next page boundary. State changes — and only those — are logged, each once.
 *
 * The renewal is its own statement on its own timer, or — for a replica holding many
 * environments' leases — one statement of a batch (`RenewalBatch`, fleet/lease-renewals.ts) that
 * renews every member at once. Either way the keeper decides alike from the answer: renewed (it
 * holds the lease until at least when the renewal was sent plus the lease period), refused (lost),
 * or failed (lost once unconfirmed for longer than the lease lives); an answer that arrives after
 * the lease was released or lost, or after it was taken again since, changes nothing.
 */
import type { Kysely } from 'kysely';
import { environmentOf } from '../db/environment-scope.ts';
import type { Database } from '../db/tables.ts';
import type { Logger } from '../logger.ts';
import { acquireLease, type LeaseName, releaseLease, renewLease } from '../sync/lease.ts';
import { sleep } from '../time.ts';

export interface LeaseKeeperDeps {
  readonly db: Kysely<Database>;
  readonly log: Logger;
  /** Told of every change (for metrics). */
  readonly onChange?: ((name: LeaseName, held: boolean) => void) | undefined;
  /** Renews this lease with others in one statement instead of on a timer of its own. */
  readonly renewals?: RenewalBatch | undefined;
}

/** One renewal of a held lease, sent: what its answer was. */
export type RenewalOutcome = 'renewed' | 'refused' | { readonly failed: unknown };

export interface RenewalAttempt {
  /** The answer to the renewal `begin()` started (a batch's, or the keeper's own). */
  end(outcome: RenewalOutcome): void;
}

/** A keeper as a batch sees it: its lease's identity, and a renewal to start. */
export interface BatchedLease {
  /** The environment whose lease it is. */
  readonly environment: string;
  readonly name: LeaseName;
  readonly holder: string;
  readonly ttlMs: number;
  /** The lease about to be renewed, as held now; undefined when it is not held any more. */
  begin(): RenewalAttempt | undefined;
}

/**
 * Renews the leases of its members together, at least every third of their lifetime, until they
 * leave (fleet/lease-renewals.ts): the keeper joins once it holds its lease and leaves once it
 * does not.
 */
export interface RenewalBatch {
  join(lease: BatchedLease): void;
  leave(lease: BatchedLease): void;
}

export class LeaseKeeper implements BatchedLease {
  #held: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #confirmedAt = 0;

  constructor(
    private readonly deps: LeaseKeeperDeps,
    readonly name: LeaseName,
    readonly holder: string,
    readonly ttlMs: number,
  ) {}

  /** The environment its handle is confined to (db/environment-scope.ts). */
  get environment(): string {
    return environmentOf(this.deps.db);
  }

  /** Whether this replica holds the lease, as far as it knows now (no query). */
  holds(): boolean {
    return this.#held !== undefined && !this.#held.signal.aborted;
  }

  /** The signal of the lease we hold (taking it if it is free), or undefined if another replica has it. */
  async ensure(): Promise<AbortSignal | undefined> {
    if (this.#held && !this.#held.signal.aborted) return this.#held.signal;
    const sentAt = Date.now();
    if (!(await acquireLease(this.deps.db, this.name, this.holder, this.ttlMs))) return undefined;
    if (this.deps.renewals) {
      try {
        this.deps.renewals.join(this);
      } catch (error) {
        // No renewal would keep it (the batch is closed: the fleet is stopping): not held.
        await releaseLease(this.deps.db, this.name, this.holder).catch(() => undefined);
        throw error;
      }
    }
    this.#held = new AbortController();
    this.#confirmedAt = sentAt;
    if (!this.deps.renewals) {
      this.#timer = setInterval(() => void this.#renew(), Math.max(50, Math.floor(this.ttlMs / 3)));
      this.#timer.unref();
    }
    this.deps.onChange?.(this.name, true);
    this.deps.log.info({ lease: this.name, holder: this.holder }, 'lease acquired');
    return this.#held.signal;
  }

  /**
   * The signal of the lease once this replica holds it. Held by another: undefined at once, or
   * with `wait`, asked for again every third of a lease period (`onWait` told once, before the
   * first wait) until it is ours — undefined if `signal` aborts first.
   */
  async ensureWaiting(
    wait: boolean,
    signal: AbortSignal | undefined,
    onWait: () => Promise<void> | void,
  ): Promise<AbortSignal | undefined> {
    let held = await this.ensure();
    if (!held && wait) await onWait();
    while (!held && wait && !signal?.aborted) {
      await sleep(Math.max(50, this.ttlMs / 3), signal);
      if (!signal?.aborted) held = await this.ensure();
    }
    return held;
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

  begin(cause?: unknown): RenewalAttempt | undefined {
    const held = this.#held;
    if (!held || held.signal.aborted) return undefined;
    const sentAt = Date.now();
    const unconfirmedMs = sentAt - this.#confirmedAt;
    return { end: (outcome) => this.#settle(held, sentAt, unconfirmedMs, outcome, cause) };
  }

  async #renew(cause?: unknown): Promise<void> {
    const attempt = this.begin(cause);
    if (!attempt) return;
    let outcome: RenewalOutcome;
    try {
      outcome = (await renewLease(this.deps.db, this.name, this.holder, this.ttlMs)) ? 'renewed' : 'refused';
    } catch (error) {
      outcome = { failed: error };
    }
    attempt.end(outcome);
  }

  #settle(
    held: AbortController,
    sentAt: number,
    unconfirmedMs: number,
    outcome: RenewalOutcome,
    cause: unknown,
  ): void {
    // Released, lost (found so by another renewal) or taken again since it was sent: this answer
    // is about a holding that is over, and there is nothing left to report.
    if (held !== this.#held || held.signal.aborted) return;
    if (outcome === 'renewed') {
      // Held until at least the renewal's own time plus the lease period: it ran after it was sent.
      this.#confirmedAt = Math.max(this.#confirmedAt, sentAt);
      return;
    }
    if (outcome === 'refused') {
      this.deps.log.warn(
        { lease: this.name, unconfirmedMs, err: cause },
        unconfirmedMs > this.ttlMs
          ? 'lease lost: this process went unconfirmed for longer than its lease (stopped or stalled) and another replica holds it now; standing by'
          : 'lease taken over by another replica; stopping after the page in flight',
      );
    } else {
      if (Date.now() - this.#confirmedAt < this.ttlMs) return;
      this.deps.log.warn(
        { lease: this.name, err: outcome.failed },
        'cannot renew the lease; stopping after the page in flight',
      );
    }
    this.#lose();
  }

  #lose(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.deps.renewals?.leave(this);
    this.#held?.abort();
    this.deps.onChange?.(this.name, false);
  }
}
