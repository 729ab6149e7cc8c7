/**
 * A client-side bound on the wait for a statement's reply, for the connection that will never
 * give one: half-open through a proxy or load balancer that keeps its socket up, or cut off by a
 * partition that drops packets without a reset. No server-side bound can help there (Postgres
 * ends its own session, and nobody tells the client), nor can TCP keepalive (the middlebox answers
 * the probes, and a socket with bytes in flight does not probe). Without it, the statement waits
 * forever, and with it the poll, while the lease goes on being renewed on the pool's other
 * connections: the mirror stops, and no replica may take over.
 *
 * The engine's driver (engine-dialect.ts) says which statements are bounded and by how much
 * (`withReplyDeadline`, session-limits.ts for the value); the pool's clients (`boundedReplies`)
 * enforce it: a reply that has not come in time fails the statement with
 * `DatabaseWentSilentError` and the connection is ended at once, so the pool drops it instead of
 * handing a dead socket to the next caller. The two meet through the async context, because the
 * driver reaches the client only through Kysely's own Postgres driver.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { PostgresPoolClient } from 'kysely';
import type pg from 'pg';

/** A statement got no reply within its bound: the connection is presumed dead, and was closed. */
export class DatabaseWentSilentError extends Error {
  constructor(readonly afterMs: number) {
    super(
      `no reply from the database within ${afterMs} ms: the connection is presumed dead (half-open, or cut off) and was closed`,
    );
    this.name = 'DatabaseWentSilentError';
  }
}

const deadline = new AsyncLocalStorage<number | null>();

/** Runs `work` with every statement it sends bounded by `ms` (null: unbounded, e.g. a migration's). */
export function withReplyDeadline<T>(ms: number | null, work: () => Promise<T>): Promise<T> {
  return deadline.run(ms, work);
}

const bounded = new WeakMap<pg.PoolClient, PostgresPoolClient>();

/**
 * The pool client as Kysely's driver uses it (`query`, `release`, `processID`), each query bounded
 * by the deadline of the context it is sent in. The same client always gets the same wrapper, as
 * Kysely keys its connections by client.
 */
export function boundedReplies(client: pg.PoolClient): PostgresPoolClient {
  let wrapper = bounded.get(client);
  if (!wrapper) {
    const query = (text: unknown, parameters?: readonly unknown[]): unknown => {
      const ms = deadline.getStore();
      // A cursor (Kysely's streaming) is not a reply to wait for: passed through as it is.
      if (typeof text !== 'string') return client.query(text as pg.Submittable);
      const reply = client.query(text, parameters as unknown[]);
      return ms ? bound(client, reply, ms) : reply;
    };
    wrapper = {
      // Undocumented in pg's types, read by Kysely to cancel a query by the backend's pid.
      get processID() {
        return (client as { processID?: number }).processID;
      },
      release: (destroy?: boolean) => client.release(destroy),
      query: query as PostgresPoolClient['query'],
    };
    bounded.set(client, wrapper);
  }
  return wrapper;
}

function bound<T>(client: pg.PoolClient, reply: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new DatabaseWentSilentError(ms));
      // With its query still active, pg destroys the socket rather than say goodbye on it; an
      // ended client goes out of the pool when it is released, whatever the caller says then.
      client.end().catch(() => undefined);
    }, ms);
    reply.then(
      (result) => {
        clearTimeout(timer);
        resolve(result);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
