/**
 * The WorkOS SDK, pointed at the configured host. Every call to WorkOS goes through it: its raw
 * `get` keeps WorkOS's snake_case bodies (the typed helpers rename and drop fields) while we
 * still get its auth, retries with `Retry-After`, timeouts and typed exceptions.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { WorkOS } from '@workos-inc/node';

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
    fetchFn: fetchNotingServerTime,
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
): Promise<RawResponse> {
  const answer: { date: string | null } = { date: null };
  const { data } = await responses.run(answer, () => workos.get<unknown>(path, { query }));
  const servedAt = answer.date === null ? null : new Date(answer.date);
  return { body: data, servedAt: servedAt && !Number.isNaN(servedAt.getTime()) ? servedAt : null };
}

/**
 * The SDK hands back the body only. Its fetch runs inside the `getRaw` call that made the request
 * (its retries included), so the response's `Date` reaches that call through the async context;
 * the last attempt's is the one kept.
 */
const responses = new AsyncLocalStorage<{ date: string | null }>();

const fetchNotingServerTime: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  const answer = responses.getStore();
  if (answer) answer.date = response.headers.get('date');
  return response;
};
