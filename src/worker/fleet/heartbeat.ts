/**
 * The fleet's membership: one `workers` row per replica (migrations/0006), its `heartbeat_at`
 * written by the replica every tick and read by all. A replica whose heartbeat is younger than the
 * heartbeat TTL is live, and the environments are spread over the live ones (assignment.ts). Every
 * time is the database's (`now()`), never a replica's clock: replicas' clocks may disagree, and
 * they must agree on who is live.
 *
 * A replica that stops cleanly deletes its row (`leaveFleet`), so the others rebalance at their
 * next tick; the row of one that died stays until whoever heartbeats deletes it, a while after it
 * stopped counting (PRUNE_AFTER_TTLS): a bounded number per heartbeat, rows locked by another
 * replica's heartbeat skipped.
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/tables.ts';
import { compareIds } from './assignment.ts';

/** A replica is live while its last heartbeat is younger than this (docs/fleet.md#timings). */
export const DEFAULT_HEARTBEAT_TTL_MS = 15_000;
/**
 * A dead replica's row is deleted once its heartbeat is this many TTLs old: long after it stopped
 * counting, and after any lease it held has expired (the lease TTL is shorter), so `migrate
 * --finalize` never finds a live lease of a holder that is not a registered worker.
 */
export const PRUNE_AFTER_TTLS = 10;
/** At most this many dead rows deleted by one heartbeat. */
export const PRUNE_LIMIT = 100;

export interface WorkerHeartbeat {
  /** This replica's id: the holder it names in `leases`. */
  readonly id: string;
  /** Its package version (status shows a fleet of mixed releases during a rolling upgrade). */
  readonly release: string;
  /** How many environments it holds the lease of, now. */
  readonly environments: number;
}

export interface HeartbeatOptions {
  /** The fleet's heartbeat TTL: dead rows older than PRUNE_AFTER_TTLS of it are deleted. */
  readonly ttlMs?: number | undefined;
  /** At most this many deleted (default PRUNE_LIMIT). */
  readonly pruneLimit?: number | undefined;
}

const interval = (ms: number) => sql<Date>`now() - ${ms} * interval '1 millisecond'`;

/**
 * Says this replica is live: upserts its row with `heartbeat_at = now()` (keeping `started_at`),
 * and in the same statement deletes up to `pruneLimit` rows of replicas dead for PRUNE_AFTER_TTLS
 * TTLs. One statement, one round trip. Returns how many dead rows it deleted.
 */
export async function heartbeat(
  db: Kysely<Database>,
  worker: WorkerHeartbeat,
  options: HeartbeatOptions = {},
): Promise<{ pruned: number }> {
  const deadSince = interval((options.ttlMs ?? DEFAULT_HEARTBEAT_TTL_MS) * PRUNE_AFTER_TTLS);
  const limit = options.pruneLimit ?? PRUNE_LIMIT;
  const row = await db
    .with('pruned', (qb) =>
      qb
        .deleteFrom('workers')
        .where('heartbeat_at', '<', deadSince)
        .where('id', '<>', worker.id)
        .where('id', 'in', (eb) =>
          eb
            .selectFrom('workers')
            .select('id')
            .where('heartbeat_at', '<', deadSince)
            .where('id', '<>', worker.id)
            .orderBy('heartbeat_at')
            .limit(limit)
            .forUpdate()
            .skipLocked(),
        )
        .returning('id'),
    )
    .insertInto('workers')
    .values({
      id: worker.id,
      release: worker.release,
      environments: worker.environments,
      heartbeat_at: sql<Date>`now()`,
    })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet((eb) => ({
        release: eb.ref('excluded.release'),
        environments: eb.ref('excluded.environments'),
        heartbeat_at: sql<Date>`now()`,
      })),
    )
    .returning(sql<number>`(select count(*)::int from pruned)`.as('pruned'))
    .executeTakeFirstOrThrow();
  return { pruned: Number(row.pruned) };
}

/**
 * The ids of the live replicas, those whose heartbeat is younger than `ttlMs` by the database's
 * clock, in code-unit order (the order assignment.ts uses, whatever the database's collation).
 */
export async function liveWorkers(db: Kysely<Database>, ttlMs: number): Promise<string[]> {
  const rows = await db
    .selectFrom('workers')
    .select('id')
    .where('heartbeat_at', '>', interval(ttlMs))
    .execute();
  return rows.map((r) => r.id).sort(compareIds);
}

/** A clean stop: the row goes at once, so the others take this replica's environments at their next tick. */
export async function leaveFleet(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('workers').where('id', '=', id).execute();
}
