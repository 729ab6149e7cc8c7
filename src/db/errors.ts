/**
 * Which database failures are worth waiting out: the server is down, restarting or overloaded,
 * or one of our own bounds (session-limits.ts) ended a wait or a session, or gave up on a
 * connection that stopped answering (reply-deadline.ts). Either way the next attempt starts afresh
 * from the stored cursor, after the usual backoff.
 */
import { FatalError, RetryableError } from '../errors.ts';
import { DatabaseWentSilentError } from './reply-deadline.ts';

/** SQLSTATEs, each with what it tells whoever reads the log. */
const TRANSIENT_SQLSTATES: readonly (readonly [RegExp, string])[] = [
  // Our own bounds: the server gave up a wait or ended a session of ours, not the data.
  [/^55P03$/, 'a database lock wait timed out (another session holds what this one needs)'],
  [/^57014$/, 'a database statement was cancelled (statement_timeout)'],
  [/^25P03$/, 'the database ended an idle transaction of this process (was it stopped?)'],
  // The server itself: connection failures, shutting down, too many connections.
  [/^(08|57P0[123]|53300)/, 'database unavailable'],
  // Concurrency the server resolved by failing one side: serialization failure, deadlock.
  [/^(40001|40P01)$/, 'database conflict'],
];
// pg-pool's `timeout exceeded when trying to connect`: no connection within connectionTimeoutMillis
// (a server that accepts and never answers, a blackholed network, every pooled client busy).
const TRANSIENT_NODE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down)/i;

/**
 * PgBouncer answers its own connection failures with 08P01 too, in messages of its own: those
 * are the server being away, as any other class 08.
 */
const POOLER_UNAVAILABLE =
  /pgbouncer|no more connections allowed|server conn crashed|server login|query_wait_timeout/i;

/** What a statement was, for an error that names it: its text's start and its parameter count, never a value. */
export interface StatementShape {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

export function classifyDatabaseError(error: unknown, statement?: StatementShape): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  const code = (error as { code?: unknown }).code;
  // A protocol violation from the server is the statement's fault (in practice, more parameters
  // than the 65,535 a statement can bind): sent again, it fails again. A bug to stop on, saying
  // which statement, not an outage to wait out.
  if (code === '08P01' && !POOLER_UNAVAILABLE.test(error.message))
    return new FatalError(
      `the database refused a statement as a protocol violation (08P01), which no retry fixes${statement ? ` (${shapeOf(statement)})` : ''}: ${error.message}`,
      { cause: error },
    );
  const what = transientReason(error);
  if (what === undefined) return error;
  return new RetryableError(`${what}: ${error.message}`, 'database', { cause: error });
}

function transientReason(error: Error): string | undefined {
  // Our client-side bound: the connection was closed as dead, and the next attempt gets another.
  if (error instanceof DatabaseWentSilentError) return 'the database stopped answering';
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    const known = TRANSIENT_SQLSTATES.find(([pattern]) => pattern.test(code));
    if (known) return known[1];
  }
  return TRANSIENT_NODE.test(`${code ?? ''} ${error.message}`) ? 'database unavailable' : undefined;
}

function shapeOf(statement: StatementShape): string {
  const text = statement.sql.replace(/\s+/g, ' ').trim();
  const start = text.length > 100 ? `${text.slice(0, 100)}…` : text;
  return `"${start}" with ${statement.parameters.length.toLocaleString('en-US')} parameters`;
}
