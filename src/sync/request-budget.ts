/**
 * The fleet's WorkOS request budget: one token bucket in one row of `request_budget` (name
 * `workos`), shared by every replica and every environment, because WorkOS counts requests per
 * client IP across all of them (docs/request-budget.md). A take is one autocommit statement in
 * database time (the replicas' clocks may disagree), made right before the request it pays for and
 * never inside a transaction of the caller's: no WorkOS request waits while a transaction is open,
 * and on the embedded database (one connection) a take from inside one would wait on itself.
 *
 * A 429 anywhere pauses the whole fleet for its `Retry-After` (`pauseFleet`): `paused_until` only
 * ever moves later, and the bucket restarts empty when the pause ends, so the fleet comes back at
 * its rate rather than in a burst. The rate and the burst are each process's arguments; every
 * replica is expected to be given the same (WORKOS_SYNC_REQUESTS_PER_MINUTE).
 *
 * **Urgent requests go first.** A request is urgent when it looks for an event a webhook announced
 * (workos/client.ts, `urgentWhile`): someone is waiting for that change. A routine take leaves the
 * last `urgentReserve` tokens of the bucket to urgent ones, fleet-wide; and within a process an
 * urgent request waits ahead of every routine one, and takes the turn of a routine one already
 * waiting at the head of the queue. So a budget the fleet's idle polls spend to the last token
 * still has a token for a nudged poll within about a token's time, not after a turn of the whole
 * queue. Routine requests are never starved for long: the reserve is refilled at the rate, and
 * urgent ones are few (a webhook's event, looked for a few times).
 *
 * The arithmetic (refill, verdict, wait) is pure and written once here (`takeVerdict`); the
 * statement computes the same refill in SQL, and the gate (`requestBudgetGate`) spends the same
 * arithmetic on a local bucket while Postgres cannot be asked.
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/tables.ts';
import type { Logger } from '../logger.ts';
import type { RequestGate, RequestPriority } from '../workos/client.ts';
import { TurnQueue } from './turn-queue.ts';

/** The budget's row: one for the fleet, whatever the environments. */
export const BUDGET_NAME = 'workos';

/** The longest pause one 429 can ask of the fleet: the SDK's own cap on `Retry-After`. */
export const MAX_PAUSE_MS = 60_000;

/** How long the gate sleeps at most before asking the budget again. */
export const MAX_WAIT_MS = 1000;

/** The default burst: this many seconds' worth of the rate. */
export const BURST_SECONDS = 2;

/** The share of the burst a routine take leaves to urgent ones. */
export const URGENT_RESERVE_SHARE = 0.2;

/**
 * A token, give or take floating point: a refill computed to the millisecond that makes a whole
 * token may come out a hair short of it (0.9999999999999999), and must not cost one more wait.
 */
const TOKEN_EPSILON = 1e-9;

export interface BucketRate {
  /** Tokens added per millisecond. */
  readonly perMs: number;
  /** The most tokens the bucket holds: the burst. */
  readonly capacity: number;
  /** The tokens a routine take leaves in the bucket for urgent ones (`URGENT_RESERVE_SHARE` of the burst). */
  readonly urgentReserve: number;
}

/** A bucket as it was last counted. */
export interface BucketState {
  /** Tokens as of the last count. */
  readonly tokens: number;
  /**
   * Milliseconds since then. Negative when the count is ahead of now: a pause's end, when the
   * bucket starts refilling again.
   */
  readonly elapsedMs: number;
  /** How much longer a pause asks everyone to wait; zero or less for none. */
  readonly pausedForMs: number;
}

export type Take = { readonly granted: true } | { readonly granted: false; readonly waitMs: number };

/** Tokens there are now: the count refilled by the time elapsed, never past the capacity. */
export function availableTokens(state: Pick<BucketState, 'tokens' | 'elapsedMs'>, rate: BucketRate): number {
  return Math.min(rate.capacity, state.tokens + Math.max(0, state.elapsedMs) * rate.perMs);
}

/** The tokens a take of `priority` needs in the bucket: one, and a routine one the reserve besides. */
export function tokensNeeded(rate: BucketRate, priority: RequestPriority): number {
  return 1 + (priority === 'urgent' ? 0 : rate.urgentReserve) - TOKEN_EPSILON;
}

/**
 * What one take gets from a bucket, and what it leaves there: a token when the bucket is not
 * paused and holds one whole (a routine take: one whole beyond the urgent reserve); otherwise how
 * long until it will (the pause's end, or the time the missing part takes to refill), at least
 * 1 ms, and the bucket as it was.
 */
export function takeVerdict(
  state: BucketState,
  rate: BucketRate,
  priority: RequestPriority = 'routine',
): { readonly take: Take; readonly tokensLeft: number } {
  const available = availableTokens(state, rate);
  const paused = state.pausedForMs > 0;
  const needed = tokensNeeded(rate, priority);
  if (!paused && available >= needed) return { take: { granted: true }, tokensLeft: available - 1 };
  const untilToken = Math.max(0, -state.elapsedMs) + Math.max(0, needed - available) / rate.perMs;
  const waitMs = Math.max(1, Math.ceil(Math.max(paused ? state.pausedForMs : 0, untilToken)));
  return { take: { granted: false, waitMs }, tokensLeft: available };
}

/**
 * A rate and burst from the setting: `capacity` defaults to `BURST_SECONDS`' worth, at least 1;
 * the urgent reserve is `URGENT_RESERVE_SHARE` of it, whole tokens (none for a burst under 5).
 */
export function bucketRate(requestsPerMinute: number, capacity?: number): BucketRate {
  if (!(Number.isFinite(requestsPerMinute) && requestsPerMinute > 0))
    throw new RangeError(`requestsPerMinute must be a positive number, got ${requestsPerMinute}`);
  const burst = capacity ?? Math.max(1, Math.floor((requestsPerMinute / 60) * BURST_SECONDS));
  if (!(Number.isFinite(burst) && burst >= 1))
    throw new RangeError(`the request budget's capacity must be at least 1, got ${capacity}`);
  return {
    perMs: requestsPerMinute / 60_000,
    capacity: burst,
    urgentReserve: Math.floor(burst * URGENT_RESERVE_SHARE),
  };
}

function outsideTransaction(db: Kysely<Database>, what: string): void {
  if (db.isTransaction)
    throw new Error(`${what} runs on its own, never inside a transaction: no WorkOS request waits on one`);
}

/**
 * One take from the fleet's bucket: one statement, atomic under any number of concurrent takers.
 * It locks the row and reads it as the last taker left it (`for update` returns the newest
 * version), refills it by the time since, and takes a token if there is one and no pause — the
 * same arithmetic as `takeVerdict`, which then says how long to wait when nothing was taken. A
 * refused take writes nothing. The first take ever creates the row, full.
 */
export async function takeRequestToken(
  db: Kysely<Database>,
  rate: BucketRate,
  priority: RequestPriority = 'routine',
): Promise<Take> {
  outsideTransaction(db, 'a take from the request budget');
  // Twice at most: the second time, the row is there (made by this take or a concurrent one).
  for (let attempt = 1; ; attempt++) {
    const row = await takeStatement(db, rate, priority).executeTakeFirst();
    if (row) {
      if (row.granted) return { granted: true };
      const { take } = takeVerdict(
        { tokens: row.tokens, elapsedMs: row.elapsed_ms, pausedForMs: row.paused_ms },
        rate,
        priority,
      );
      // Refused by the database at the very edge of a whole token: ask again shortly.
      return take.granted ? { granted: false, waitMs: 1 } : take;
    }
    if (attempt === 2) throw new Error(`the request budget's row (${BUDGET_NAME}) vanished as it was made`);
    await db
      .insertInto('request_budget')
      .values({ name: BUDGET_NAME, tokens: rate.capacity, refilled_at: sql<Date>`now()`, paused_until: null })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
  }
}

function takeStatement(db: Kysely<Database>, rate: BucketRate, priority: RequestPriority) {
  const perMs = sql`${rate.perMs}::float8`;
  const capacity = sql`${rate.capacity}::float8`;
  const needed = sql`${tokensNeeded(rate, priority)}::float8`;
  return db
    .with(
      (cte) => cte('old').materialized(),
      (qb) =>
        qb
          .selectFrom('request_budget')
          .select([
            'tokens',
            'refilled_at',
            sql<number>`extract(epoch from now() - refilled_at)::float8 * 1000`.as('elapsed_ms'),
            sql<number>`coalesce(extract(epoch from paused_until - now())::float8 * 1000, 0)`.as('paused_ms'),
          ])
          .where('name', '=', BUDGET_NAME)
          .forUpdate(),
    )
    .with('refilled', (qb) =>
      qb
        .selectFrom('old')
        .select([
          'old.refilled_at',
          'old.paused_ms',
          sql<number>`least(${capacity}, old.tokens + greatest(0, old.elapsed_ms) * ${perMs})`.as(
            'available',
          ),
        ]),
    )
    .with('taken', (qb) =>
      qb
        .updateTable('request_budget')
        .from('refilled')
        .set({
          tokens: sql<number>`refilled.available - 1`,
          refilled_at: sql<Date>`greatest(refilled.refilled_at, now())`,
        })
        .where('request_budget.name', '=', BUDGET_NAME)
        .where(sql<boolean>`refilled.paused_ms <= 0 and refilled.available >= ${needed}`)
        .returning('request_budget.name'),
    )
    .selectFrom('old')
    .select([
      'old.tokens',
      'old.elapsed_ms',
      'old.paused_ms',
      sql<boolean>`exists (select from taken)`.as('granted'),
    ]);
}

/**
 * A 429's `Retry-After` pauses every taker of the fleet: `paused_until` becomes the later of its
 * own value and the database's now plus `retryAfterMs` (capped at `MAX_PAUSE_MS`), so a shorter
 * pause never cuts a longer one short. The bucket is emptied and starts refilling at the pause's
 * end: the fleet comes back at its rate, not with a burst of the whole capacity at once.
 */
export async function pauseFleet(db: Kysely<Database>, retryAfterMs: number): Promise<void> {
  outsideTransaction(db, 'a pause of the request budget');
  const ms = Math.min(MAX_PAUSE_MS, Math.max(0, Number.isFinite(retryAfterMs) ? retryAfterMs : 0));
  const until = sql<Date>`now() + ${ms} * interval '1 millisecond'`;
  await db
    .insertInto('request_budget')
    .values({ name: BUDGET_NAME, tokens: 0, refilled_at: until, paused_until: until })
    .onConflict((oc) =>
      oc.column('name').doUpdateSet({
        tokens: 0,
        paused_until: sql<Date>`greatest(request_budget.paused_until, excluded.paused_until)`,
        refilled_at: sql<Date>`greatest(request_budget.refilled_at, request_budget.paused_until, excluded.paused_until)`,
      }),
    )
    .execute();
}

export interface RequestBudgetOptions {
  /** The fleet's rate (WORKOS_SYNC_REQUESTS_PER_MINUTE); every replica should be given the same. */
  readonly requestsPerMinute: number;
  /** The burst, in requests; default `BURST_SECONDS`' worth of the rate. */
  readonly capacity?: number | undefined;
  readonly log: Logger;
  /** Aborts every wait at once (the process is stopping): `beforeRequest` rejects with its reason. */
  readonly signal?: AbortSignal | undefined;
  /** How long a take or a pause may take before Postgres counts as unavailable (default 2 s). */
  readonly statementTimeoutMs?: number | undefined;
  /** Once Postgres is unavailable, how long the local budget is spent before asking it again (default 5 s). */
  readonly retryDatabaseAfterMs?: number | undefined;
}

/**
 * The gate for `createWorkosClient` built on the fleet's budget. Within this process the waiting
 * requests queue, urgent ones ahead of routine ones and each kind in order, and only the one at
 * the head asks Postgres, so a saturated budget costs about one statement per process per token,
 * not one per waiting request. An urgent request arriving while a routine one waits at the head
 * takes its place there (the routine one stays first of its kind). The head sleeps at most
 * `MAX_WAIT_MS` before asking again (a pause can be extended by another replica's 429, and a
 * budget emptied by hand should be seen).
 *
 * When Postgres cannot be asked (down, unreachable, slower than `statementTimeoutMs`, or failing
 * otherwise), the gate fails open onto a local bucket of the same rate and burst, logging once
 * until Postgres answers again (and asking it again every `retryDatabaseAfterMs`): WorkOS requests
 * neither stop with the database nor go unbounded, and WorkOS's own 429s, which this process
 * honours locally as well, remain the backstop. Each replica then spends the whole rate by itself.
 */
export function requestBudgetGate(db: Kysely<Database>, options: RequestBudgetOptions): RequestGate {
  outsideTransaction(db, 'the request budget');
  const rate = bucketRate(options.requestsPerMinute, options.capacity);
  const { log } = options;
  const statementTimeoutMs = options.statementTimeoutMs ?? 2000;
  const retryDatabaseAfterMs = options.retryDatabaseAfterMs ?? 5000;
  const clock = () => performance.now();

  // This process's own view: a pause it was told of (also applied while Postgres is up: it saves
  // the statements), and the bucket it spends while Postgres is unavailable.
  let pausedUntil = 0;
  let local = { tokens: rate.capacity, countedAt: clock() };
  let askDatabaseAt = 0;
  let unavailable = false;

  const databaseFailed = (error: unknown, what: string) => {
    askDatabaseAt = clock() + retryDatabaseAfterMs;
    if (unavailable) return;
    unavailable = true;
    log.warn(
      { err: error },
      `the WorkOS request budget in Postgres cannot be ${what}: spending a local budget of the same rate until it can`,
    );
  };
  const databaseAnswered = () => {
    if (!unavailable) return;
    unavailable = false;
    log.info('the WorkOS request budget in Postgres answers again');
  };

  const takeLocally = (priority: RequestPriority): Take => {
    const now = clock();
    const { take, tokensLeft } = takeVerdict(
      { tokens: local.tokens, elapsedMs: now - local.countedAt, pausedForMs: 0 },
      rate,
      priority,
    );
    if (take.granted) local = { tokens: tokensLeft, countedAt: Math.max(now, local.countedAt) };
    return take;
  };

  const take = async (priority: RequestPriority): Promise<Take> => {
    if (clock() < askDatabaseAt) return takeLocally(priority);
    try {
      const verdict = await within(takeRequestToken(db, rate, priority), statementTimeoutMs);
      databaseAnswered();
      return verdict;
    } catch (error) {
      databaseFailed(error, 'read');
      return takeLocally(priority);
    }
  };

  const queue = new TurnQueue(async (priority, stop, nap, outranked) => {
    for (;;) {
      stop.throwIfAborted();
      if (outranked()) return false;
      const paused = pausedUntil - clock();
      const verdict: Take =
        paused > 0 ? { granted: false, waitMs: Math.ceil(paused) } : await take(priority());
      if (verdict.granted) return true;
      // An urgent waiter may have come while this one asked: it goes first, without this nap.
      if (outranked()) return false;
      await nap(Math.min(verdict.waitMs, MAX_WAIT_MS));
    }
  });

  return {
    async beforeRequest(signal, priority = ROUTINE) {
      await queue.wait(priority, anyOf(signal, options.signal));
    },
    async rateLimited(retryAfterMs) {
      const ms = Math.min(MAX_PAUSE_MS, Math.max(0, Number.isFinite(retryAfterMs) ? retryAfterMs : 0));
      const until = clock() + ms;
      pausedUntil = Math.max(pausedUntil, until);
      local = { tokens: 0, countedAt: Math.max(local.countedAt, pausedUntil) };
      if (clock() < askDatabaseAt) return;
      try {
        await within(pauseFleet(db, ms), statementTimeoutMs);
        databaseAnswered();
      } catch (error) {
        databaseFailed(error, 'paused');
      }
    },
  };
}

const ROUTINE = (): RequestPriority => 'routine';

/** `work`, or a rejection once `ms` have passed (the work goes on; its result is dropped). */
function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Postgres within ${ms} ms`)), ms);
  });
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function anyOf(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const given = signals.filter((s): s is AbortSignal => s !== undefined);
  return given.length <= 1 ? given[0] : AbortSignal.any(given);
}
