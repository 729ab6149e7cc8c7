/**
 * Server-side bounds on the engine's transactions, derived from the lease period, so that a
 * process that stops without dying (a VM freeze, SIGSTOP, a debugger, a long GC pause) inside a
 * page transaction cannot keep the cursor row locked and stall every other replica: Postgres ends
 * what it abandoned, and every wait of ours gives up and is retried with backoff.
 *
 * They are set with `SET LOCAL` at the start of every transaction (engine-dialect.ts), not on
 * the session: that works through a transaction-pooling PgBouncer (which refuses these startup
 * parameters, and would hand a session `SET` to other clients), and it leaves statements outside
 * transactions (status, metrics, the `sql` command) unbounded. The embedded database has one
 * connection and no other session to stall: the limits apply to a Postgres server only.
 *
 * One bound is the client's own, for the connection the server can no longer reach (half-open,
 * cut off): `replyDeadlineMs`, below.
 */

export interface SessionLimits {
  /** `idle_in_transaction_session_timeout`: Postgres ends a session whose transaction idles this long. */
  readonly idleInTransactionMs: number;
  /** `lock_timeout`: one wait for one lock gives up after this long (SQLSTATE 55P03). */
  readonly lockTimeoutMs: number;
  /** `statement_timeout`: one statement, its lock waits included, gives up after this long (57014). */
  readonly statementTimeoutMs: number;
}

export function sessionLimitsFor(leaseTtlMs: number): SessionLimits {
  return {
    // One lease period. Inside our transactions the client never waits on anything but its own
    // statements (no HTTP, no other connection; reconciliation lists and plans before its
    // transaction opens), so the gap between two statements is JS work of milliseconds — a page
    // of at most 400 events planned, the next 1000 rows of a chunk serialised — plus GC pauses,
    // far below any lease that holds at all. A transaction idle for a whole lease period belongs
    // to a process that stopped: the same stall cost it its lease (renewals run every third of it
    // on the same event loop), so another replica may already be entitled to write, and ending
    // the session costs the stopped one at most a page it fetches again. Any longer only lengthens
    // the others' wait; with this value a stopped holder delays takeover no more than a dead one.
    idleInTransactionMs: leaseTtlMs,
    // One renewal period. Our own locks are held for milliseconds, or by a stopped process until
    // the idle timeout ends it; a foreign session (an operator's psql, an application locking
    // mirror rows) may hold one forever. A wait that outlasts a renewal period gives up: the error
    // is transient, so the writer backs off, finds out whether it still holds its lease and whether
    // shutdown began, and tries again. No wait then outlasts a lost lease or a shutdown signal by
    // more than a third of a lease period (10 s with the default 30 s lease: inside the 15 s
    // shutdown deadline). Giving up costs only a retry: a page is fetched and applied again, a
    // reconciliation fails whole and runs again at its next tick.
    lockTimeoutMs: Math.max(1, Math.round(leaseTtlMs / 3)),
    // One lease period: the bound on a statement's total, which lock_timeout is not (a statement
    // can wait on many locks in turn). Our longest statements are a reconciliation's chunk of
    // 1000 rows and a page's batched writes: the benchmark's first reconciliation inserts 50,000
    // connections — listing, planning and all 50 chunks of each table — in 18 s, so one chunk
    // takes a fraction of a second, far below any lease. With it, a process stopped in the middle
    // of a statement holds its locks for at most this plus the idle timeout: the others apply
    // again within two lease periods of the stop, whatever instant it came at. Migrations and the
    // `sql` command lift it (engine-dialect.ts): their statements may rightly run long.
    statementTimeoutMs: leaseTtlMs,
  };
}

/**
 * The client's own bound (reply-deadline.ts): how long the engine waits for the reply to one
 * statement before it calls the connection dead, closes it and treats the failure as transient.
 *
 * The statement bound plus one lease period. Inside our transactions the server answers every
 * statement within `statement_timeout` (one lease period), with its result or with the error that
 * cancelled it, so a reply later than that never comes: the connection is half-open or cut off, and
 * nothing on the server side can tell us (Postgres ends its session unheard; a proxy keeping the
 * socket up answers TCP keepalive). The second lease period is slack for a slow network and a busy
 * event loop, and keeps the worst case of a dead connection where a paused process already puts it:
 * two lease periods from its last reply to a fresh connection's retry (its abandoned transaction is
 * ended by the idle timeout within the first). Outside our transactions the engine's statements are
 * single-row lease writes and short reads, of milliseconds: the same bound, which no server-side
 * setting gives them. Migrations and the `sql` command lift it with the statement bound
 * (engine-dialect.ts): their statements may rightly run long. Never under a second: a lease that
 * short exists in tests only, and a timer can fire before a reply already in the socket is read.
 */
export function replyDeadlineMs(limits: SessionLimits): number {
  return Math.max(1_000, limits.statementTimeoutMs + limits.idleInTransactionMs);
}
