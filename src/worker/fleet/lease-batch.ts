/**
 * The leases of many environments at once, for a replica that holds hundreds (docs/fleet.md#cost):
 * the same rules as sync/lease.ts — a row per (environment, name) with a holder and an expiry in
 * database time; taken when free or expired, renewed and released only by its holder — but one
 * statement per chunk of environments instead of one per environment, the list sent as a single
 * array parameter.
 *
 * Rows are locked in one order, the environment's in the "C" collation, by every statement here
 * (the renewal and release through a `for update` sub-select in that order, the take by inserting
 * in that order), so two replicas taking, renewing and releasing overlapping sets wait for each
 * other instead of deadlocking.
 *
 * Many environments with a lease of the same name need the keys led by the environment: the
 * contract migration (0007_environment_keys) applied. Before it, `leases` is keyed by name alone
 * and holds one environment's leases only.
 */
import { type Kysely, sql } from 'kysely';
import { statementChunks } from '../../db/statement-chunks.ts';
import type { Database } from '../../db/tables.ts';
import type { LeaseName } from '../../sync/lease.ts';
import { compareIds } from './assignment.ts';

/** Environments per statement: a bound on one statement's locks and time, not on its parameters. */
export const LEASE_BATCH_SIZE = 500;

export interface LeaseBatchOptions {
  /** Environments per statement (default LEASE_BATCH_SIZE). */
  readonly chunkSize?: number | undefined;
}

const expiresIn = (ttlMs: number) => sql<Date>`now() + ${ttlMs} * interval '1 millisecond'`;
const inList = (environments: readonly string[]) => sql<boolean>`environment = any(${environments}::text[])`;
const inLockOrder = sql`environment collate "C"`;

function chunks(environments: readonly string[], options: LeaseBatchOptions): string[][] {
  const unique = [...new Set(environments)].sort(compareIds);
  return statementChunks(unique, 1, options.chunkSize ?? LEASE_BATCH_SIZE);
}

async function eachChunk(
  environments: readonly string[],
  options: LeaseBatchOptions,
  run: (chunk: string[]) => Promise<readonly { environment: string }[]>,
): Promise<string[]> {
  const done: string[] = [];
  for (const chunk of chunks(environments, options))
    done.push(...(await run(chunk)).map((r) => r.environment));
  return done.sort(compareIds);
}

/**
 * Takes the lease `name` of each of `environments` that is free or expired, and renews those this
 * holder already holds (keeping when it first took them). Returns the environments it holds now.
 */
export async function acquireLeases(
  db: Kysely<Database>,
  name: LeaseName,
  holder: string,
  environments: readonly string[],
  ttlMs: number,
  options: LeaseBatchOptions = {},
): Promise<string[]> {
  return eachChunk(environments, options, (chunk) =>
    db
      .insertInto('leases')
      .columns(['environment', 'name', 'holder', 'acquired_at', 'expires_at'])
      .expression(
        sql`select e, ${name}::text, ${holder}::text, now(), ${expiresIn(ttlMs)} from unnest(${chunk}::text[]) as t(e) order by e collate "C"`,
      )
      .onConflict((oc) =>
        oc
          .columns(['environment', 'name'])
          .doUpdateSet((eb) => ({
            holder: eb.ref('excluded.holder'),
            expires_at: eb.ref('excluded.expires_at'),
            acquired_at: sql<Date>`case when leases.holder = excluded.holder then leases.acquired_at else excluded.acquired_at end`,
          }))
          .where((eb) =>
            eb.or([
              eb('leases.holder', '=', eb.ref('excluded.holder')),
              eb('leases.expires_at', '<', sql<Date>`now()`),
            ]),
          ),
      )
      .returning('environment')
      .execute(),
  );
}

/**
 * Extends the lease `name` of each of `environments` that this holder still holds: an update,
 * never an insert, so a renewal that arrives after this holder's own release, or after another
 * replica took over, changes nothing. Returns the environments it still holds; one missing from
 * the answer is lost, and its work must stop.
 */
export async function renewLeases(
  db: Kysely<Database>,
  name: LeaseName,
  holder: string,
  environments: readonly string[],
  ttlMs: number,
  options: LeaseBatchOptions = {},
): Promise<string[]> {
  return eachChunk(environments, options, (chunk) =>
    db
      .with('mine', (qb) =>
        qb
          .selectFrom('leases')
          .select('environment')
          .where('name', '=', name)
          .where('holder', '=', holder)
          .where(inList(chunk))
          .orderBy(inLockOrder)
          .forUpdate(),
      )
      .updateTable('leases')
      .set({ expires_at: expiresIn(ttlMs) })
      .from('mine')
      .whereRef('leases.environment', '=', 'mine.environment')
      .where('leases.name', '=', name)
      .where('leases.holder', '=', holder)
      .returning('leases.environment')
      .execute(),
  );
}

/** Gives back the lease `name` of each of `environments` this holder holds. Returns those released. */
export async function releaseLeases(
  db: Kysely<Database>,
  name: LeaseName,
  holder: string,
  environments: readonly string[],
  options: LeaseBatchOptions = {},
): Promise<string[]> {
  return eachChunk(environments, options, (chunk) =>
    db
      .with('mine', (qb) =>
        qb
          .selectFrom('leases')
          .select('environment')
          .where('name', '=', name)
          .where('holder', '=', holder)
          .where(inList(chunk))
          .orderBy(inLockOrder)
          .forUpdate(),
      )
      .deleteFrom('leases')
      .using('mine')
      .whereRef('leases.environment', '=', 'mine.environment')
      .where('leases.name', '=', name)
      .where('leases.holder', '=', holder)
      .returning('leases.environment')
      .execute(),
  );
}

/**
 * Of `environments`, those whose lease `name` another holder holds now (unexpired, by the
 * database's clock): a read, which takes nothing. The rest are free, expired or this holder's.
 */
export async function heldByOthers(
  db: Kysely<Database>,
  name: LeaseName,
  holder: string,
  environments: readonly string[],
  options: LeaseBatchOptions = {},
): Promise<Set<string>> {
  if (environments.length === 0) return new Set();
  const held = await eachChunk(environments, options, (chunk) =>
    db
      .selectFrom('leases')
      .select('environment')
      .where('name', '=', name)
      .where('holder', '<>', holder)
      .where('expires_at', '>', sql<Date>`now()`)
      .where(inList(chunk))
      .execute(),
  );
  return new Set(held);
}
