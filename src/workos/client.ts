/**
 * The WorkOS SDK, pointed at the configured host. Every call to WorkOS goes through it: its raw
 * `get` keeps WorkOS's snake_case bodies (the typed helpers rename and drop fields) while we
 * still get its auth, retries with `Retry-After`, timeouts and typed exceptions.
 */
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
  });
}

/** GET a raw JSON body; the SDK throws its typed exceptions on failure. */
export async function getRaw(
  workos: WorkOS,
  path: string,
  query: Record<string, string | number>,
): Promise<unknown> {
  const { data } = await workos.get<unknown>(path, { query });
  return data;
}
