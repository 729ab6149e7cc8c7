/**
 * The library's work that must not run twice at once against one mirror, whichever process
 * started it (its reconciliations, so the CLI's `reconcile`; its prunes), under the lease the
 * worker's own runs hold. Held by another, it is waited for — said once, naming the holder — or,
 * asked not to wait, refused with a `LeaseHeldError`. The lease is renewed while the run lasts
 * and given back when it ends.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/tables.ts';
import { LeaseHeldError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { LeaseName } from '../sync/lease.ts';
import { LeaseKeeper } from '../worker/lease-keeper.ts';

export interface LeaseRunDeps {
  readonly db: Kysely<Database>;
  readonly log: Logger;
  readonly holder: string;
  readonly leaseTtlMs: number;
}

export async function underLease<T>(
  deps: LeaseRunDeps,
  name: LeaseName,
  options: { readonly wait: boolean; readonly signal?: AbortSignal | undefined },
  run: (held: AbortSignal) => Promise<T>,
): Promise<T> {
  const lease = new LeaseKeeper({ db: deps.db, log: deps.log }, name, deps.holder, deps.leaseTtlMs);
  const held = await lease.ensureWaiting(options.wait, options.signal, async () =>
    deps.log.info(
      { holder: await holderOf(deps.db, name) },
      `waiting for the ${name} lease another process holds`,
    ),
  );
  if (!held) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw new LeaseHeldError(name, (await holderOf(deps.db, name)) ?? 'another process');
  }
  try {
    return await run(options.signal ? AbortSignal.any([options.signal, held]) : held);
  } finally {
    await lease.release();
  }
}

async function holderOf(db: Kysely<Database>, name: LeaseName): Promise<string | undefined> {
  const row = await db.selectFrom('leases').select('holder').where('name', '=', name).executeTakeFirst();
  return row?.holder;
}
