/**
 * One renewal for every environment's lease this replica holds (docs/fleet.md#cost): the keepers
 * of one lease name (worker/lease-keeper.ts) join once they hold their lease and leave once they
 * do not, and every third of the lease period all members are renewed together, one statement per
 * LEASE_BATCH_SIZE environments (`renewLeases`, lease-batch.ts), instead of each on a timer of its
 * own: two statements every 10 s for 1,000 environments, where their own timers sent 100 a second.
 *
 * What each keeper decides is unchanged (lease-keeper.ts): each member is told its own answer —
 * renewed when the statement returned its environment, refused when it did not (another replica
 * holds it now, or nobody: the lease is lost and its work stops), failed when the statement
 * failed. A renewal is an update of rows this holder holds, never an insert, so one that reaches
 * the database after a member's release (or after another replica took over) brings nothing back;
 * an answer that arrives after the member released, lost or took its lease again is ignored by it.
 */
import type { Kysely } from 'kysely';
import { statementChunks } from '../../db/statement-chunks.ts';
import type { Database } from '../../db/tables.ts';
import type { LeaseName } from '../../sync/lease.ts';
import type { BatchedLease, RenewalAttempt, RenewalBatch } from '../lease-keeper.ts';
import { compareIds } from './assignment.ts';
import { LEASE_BATCH_SIZE, renewLeases } from './lease-batch.ts';

export interface LeaseRenewalsOptions {
  /** Environments per statement (default LEASE_BATCH_SIZE). */
  readonly chunkSize?: number | undefined;
}

export class LeaseRenewals implements RenewalBatch {
  readonly #members = new Map<BatchedLease, string>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** `db`: the whole database, not an environment's handle (the statement names each environment). */
  constructor(
    private readonly db: Kysely<Database>,
    readonly name: LeaseName,
    readonly holder: string,
    readonly ttlMs: number,
    private readonly options: LeaseRenewalsOptions = {},
  ) {}

  /** How many leases it renews now. */
  get size(): number {
    return this.#members.size;
  }

  join(lease: BatchedLease): void {
    if (lease.name !== this.name || lease.holder !== this.holder || lease.ttlMs !== this.ttlMs)
      throw new Error(
        `a ${lease.name} lease of ${lease.holder} for ${lease.ttlMs} ms cannot join the renewals of ${this.name} leases of ${this.holder} for ${this.ttlMs} ms`,
      );
    if (this.#closed) throw new Error('the lease renewals are closed');
    this.#members.set(lease, lease.environment);
    if (!this.#timer) {
      this.#timer = setInterval(() => void this.renewNow(), Math.max(50, Math.floor(this.ttlMs / 3)));
      this.#timer.unref();
    }
  }

  leave(lease: BatchedLease): void {
    this.#members.delete(lease);
    if (this.#members.size === 0) this.#stopTimer();
  }

  /**
   * Renews every member now (the timer's tick), one statement per chunk of environments, each
   * member told its own answer once its chunk's statement has answered.
   */
  async renewNow(): Promise<void> {
    const attempts = new Map<string, RenewalAttempt>();
    for (const [lease, environment] of this.#members) {
      const attempt = lease.begin();
      if (attempt) attempts.set(environment, attempt);
    }
    const environments = [...attempts.keys()].sort(compareIds);
    for (const chunk of statementChunks(environments, 1, this.options.chunkSize ?? LEASE_BATCH_SIZE)) {
      try {
        const renewed = new Set(await renewLeases(this.db, this.name, this.holder, chunk, this.ttlMs));
        for (const environment of chunk)
          attempts.get(environment)!.end(renewed.has(environment) ? 'renewed' : 'refused');
      } catch (error) {
        for (const environment of chunk) attempts.get(environment)!.end({ failed: error });
      }
    }
  }

  /** No more renewals (the fleet stopped; its keepers have released their leases). */
  close(): void {
    this.#closed = true;
    this.#members.clear();
    this.#stopTimer();
  }

  #stopTimer(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
