/** Which database failures are worth waiting out (the server is down, restarting, overloaded). */
import { RetryableError } from '../errors.ts';

const TRANSIENT_SQLSTATE = /^(08|57P0[123]|53300|40001|40P01)/;
const TRANSIENT_NODE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|Connection terminated|connection timeout|Client has encountered a connection error|the database system is (starting up|shutting down)/i;

export function classifyDatabaseError(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  const code = (error as { code?: unknown }).code;
  if (
    (typeof code === 'string' && TRANSIENT_SQLSTATE.test(code)) ||
    TRANSIENT_NODE.test(`${code ?? ''} ${error.message}`)
  ) {
    return new RetryableError(`database unavailable: ${error.message}`, 'database', { cause: error });
  }
  return error;
}
