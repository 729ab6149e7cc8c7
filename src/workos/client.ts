/**
 * The WorkOS SDK, pointed at the configured host. Every call to WorkOS goes through it: its raw
 * `get` keeps WorkOS's snake_case bodies (the typed helpers rename and drop fields) while we
 * still get its auth, retries with `Retry-After`, timeouts and typed exceptions.
 *
 * Every request says who sends it and why, for WorkOS support reading their logs:
 * `User-Agent: workos-sync/<version> (<phase>) workos-node/<sdk version>`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { WorkOS } from '@workos-inc/node';
import { packageVersion } from '../version.ts';

/**
 * What a request is for, as its User-Agent says: the events pages of a `backfill`, of a `poll`
 * (the one-shot command and the worker's ticks alike); every whole List Connections or List
 * Organizations page, which is always a reconciliation — scheduled, `reconcile`, a new mirror's
 * first one (in `backfill` or `run`), a cursor recovery's; and the listing of one organization's
 * connections that a domain event causes (`refresh`).
 */
export type WorkosPhase = 'backfill' | 'poll' | 'reconcile' | 'refresh';

export interface WorkosClientOptions {
  readonly apiKey: string;
  readonly apiUrl: string;
  /** Retries the SDK makes itself before we see the failure. */
  readonly maxRetries?: number;
  readonly timeoutMs?: number;
}

export function createWorkosClient(options: WorkosClientOptions): WorkOS {
  const url = new URL(options.apiUrl);
  const https = url.protocol === 'https:';
  return new WorkOS(options.apiKey, {
    apiHostname: url.hostname,
    https,
    port: url.port ? Number(url.port) : undefined,
    maxRetries: options.maxRetries ?? 2,
    timeout: options.timeoutMs ?? 30_000,
    fetchFn: fetchInContext,
  });
}

export interface RawResponse {
  readonly body: unknown;
  /**
   * WorkOS's own clock when it answered: the response's `Date` header (whole seconds). Null when
   * the response had none, or the client was not made by `createWorkosClient`.
   */
  readonly servedAt: Date | null;
}

/** GET a raw JSON body; the SDK throws its typed exceptions on failure. */
export async function getRaw(
  workos: WorkOS,
  path: string,
  query: Record<string, string | number>,
  phase?: WorkosPhase,
): Promise<RawResponse> {
  const call: CallContext = { phase, date: null };
  const { data } = await calls.run(call, () => workos.get<unknown>(path, { query }));
  const servedAt = call.date === null ? null : new Date(call.date);
  return { body: data, servedAt: servedAt && !Number.isNaN(servedAt.getTime()) ? servedAt : null };
}

/**
 * The SDK takes a path and hands back the body only, and it sets its own User-Agent on every
 * request (over any header given in its config). Its fetch runs inside the `getRaw` call that
 * made the request (its retries included), so the call's phase reaches the request, and the
 * response's `Date` the call, through the async context; the last attempt's date is kept.
 */
interface CallContext {
  readonly phase: WorkosPhase | undefined;
  date: string | null;
}
const calls = new AsyncLocalStorage<CallContext>();

const fetchInContext: typeof fetch = async (input, init) => {
  const call = calls.getStore();
  const headers = new Headers(init?.headers);
  const sdk = headers.get('user-agent');
  const ours = `workos-sync/${packageVersion()}${call?.phase ? ` (${call.phase})` : ''}`;
  headers.set('user-agent', sdk ? `${ours} ${sdk}` : ours);
  const response = await fetch(input, { ...init, headers });
  if (call) call.date = response.headers.get('date');
  return response;
};
