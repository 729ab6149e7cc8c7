/**
 * The library's reconciliation (and so the CLI's `reconcile`) under the `reconcile` lease, as the
 * worker's: two never run at once against one mirror, whichever process started them. Held by
 * another, it is waited for — said once, naming the holder — or, asked not to wait, refused with
 * a `LeaseHeldError`. Once held, the runs a killed process left `running` are ended as abandoned
 * (only the lease's holder can know no other run is under way). The lease is renewed while the
 * run lasts and given back when it ends; a dry run writes nothing and takes no lease.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/tables.ts';
import { LeaseHeldError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { LeaseKeeper } from '../worker/lease-keeper.ts';
import { sweepAbandoned } from '../worker/reconcile-job.ts';

export interface ReconcileLeaseDeps {
  readonly db: Kysely<Database>;
  readonly log: Logger;
  readonly holder: string;
  readonly leaseTtlMs: number;
}

export async function underReconcileLease<T>(
  deps: ReconcileLeaseDeps,
  options: { readonly wait: boolean; readonly signal?: AbortSignal | undefined },
  run: (held: AbortSignal) => Promise<T>,
): Promise<T> {
  const lease = new LeaseKeeper({ db: deps.db, log: deps.log }, 'reconcile', deps.holder, deps.leaseTtlMs);
  const held = await lease.ensureWaiting(options.wait, options.signal, async () =>
    deps.log.info(
      { holder: await holderOf(deps.db) },
      'waiting for the reconcile lease another process holds',
    ),
  );
  if (!held) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw new LeaseHeldError('reconcile', (await holderOf(deps.db)) ?? 'another process');
  }
  try {
    await sweepAbandoned(deps);
    return await run(options.signal ? AbortSignal.any([options.signal, held]) : held);
  } finally {
    await lease.release();
  }
}

async function holderOf(db: Kysely<Database>): Promise<string | undefined> {
  const row = await db
    .selectFrom('leases')
    .select('holder')
    .where('name', '=', 'reconcile')
    .executeTakeFirst();
  return row?.holder;
}
