/**
 * The WorkOS SDK, pointed at the configured host. Every call to WorkOS goes through it: its raw
 * `get` keeps WorkOS's snake_case bodies (the typed helpers rename and drop fields) while we
 * still get its auth, retries with `Retry-After`, timeouts and typed exceptions.
 *
 * Every request says who sends it and why, for WorkOS support reading their logs:
 * `User-Agent: workos-sync/<version> (<phase>) workos-node/<sdk version>`.
 *
 * With a `gate`, every HTTP attempt (the SDK's own retries included) waits for its turn first, and
 * every 429 is reported to it with its `Retry-After`: that is how a request budget shared by many
 * processes (sync/request-budget.ts) sees all of this process's requests. The gate is an interface
 * of this layer, so the client needs nothing of the layers above it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { WorkOS } from '@workos-inc/node';
import { inSpan } from '../tracing.ts';
import { packageVersion } from '../version.ts';

/**
 * What a request is for, as its User-Agent says: the events pages of a `backfill`, of a `poll`
 * (the one-shot command and the worker's ticks alike); every whole List Connections or List
 * Organizations page, which is always a reconciliation — scheduled, `reconcile`, a new mirror's
 * first one (in `backfill` or `run`), a cursor recovery's; and the listing of one organization's
 * connections that a domain event causes (`refresh`); `doctor`'s one request.
 */
export type WorkosPhase = 'backfill' | 'poll' | 'reconcile' | 'refresh' | 'doctor';

export interface WorkosClientOptions {
  readonly apiKey: string;
  readonly apiUrl: string;
  /** Retries the SDK makes itself before we see the failure. */
  readonly maxRetries?: number;
  readonly timeoutMs?: number;
  /** Every attempt waits for it first; none: requests go at once, as without a budget. */
  readonly gate?: RequestGate | undefined;
}

/**
 * How soon a request is wanted: `urgent` when it looks for an event a webhook announced (someone
 * is waiting for that change: `urgentWhile`), `routine` otherwise. A gate serves urgent ones
 * first, reading a waiting request's priority each time it decides (it may become urgent).
 */
export type RequestPriority = 'urgent' | 'routine';

/**
 * What every HTTP attempt to WorkOS passes through: a request budget, possibly shared with other
 * processes (`requestBudgetGate` in sync/request-budget.ts is the one built on Postgres).
 */
export interface RequestGate {
  /**
   * Resolves when this attempt may be sent (its token is taken); rejects with the signal's reason
   * when `signal` aborts first (the SDK's per-attempt timeout, or the caller giving up).
   */
  beforeRequest(signal?: AbortSignal, priority?: () => RequestPriority): Promise<void>;
  /** WorkOS answered 429 and asked for no request during `retryAfterMs`. Must not throw. */
  rateLimited(retryAfterMs: number): Promise<void> | void;
}

/** How long a 429 without a usable `Retry-After` asks everyone to wait. */
export const DEFAULT_RETRY_AFTER_MS = 1000;

/**
 * A 429's `Retry-After` in milliseconds: whole (or decimal) seconds, or an HTTP date, read against
 * the response's own `Date` (WorkOS's clock, so skew between the hosts does not lengthen or
 * shorten it) or this process's clock without one. Absent or unreadable: the default.
 */
export function retryAfterMs(
  retryAfter: string | null,
  date: string | null = null,
  nowMs: number = Date.now(),
): number {
  const value = retryAfter?.trim();
  if (!value) return DEFAULT_RETRY_AFTER_MS;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  // An HTTP date names its day and month (`Wed, 21 Oct 2026 07:28:00 GMT`); `Date.parse` would
  // also read `-3` as a year.
  const at = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(at)) return DEFAULT_RETRY_AFTER_MS;
  const served = date === null ? Number.NaN : Date.parse(date);
  return Math.max(0, at - (Number.isNaN(served) ? nowMs : served));
}

export function createWorkosClient(options: WorkosClientOptions): WorkOS {
  const url = new URL(options.apiUrl);
  const https = url.protocol === 'https:';
  const workos = new WorkOS(options.apiKey, {
    apiHostname: url.hostname,
    https,
    port: url.port ? Number(url.port) : undefined,
    maxRetries: options.maxRetries ?? 2,
    timeout: options.timeoutMs ?? 30_000,
    fetchFn: fetchThrough(options.gate),
  });
  if (options.gate) gates.set(workos, options.gate);
  return workos;
}

const urgency = new AsyncLocalStorage<() => boolean>();
/**
 * Runs `work` with every WorkOS request it makes (through any client, retries included) urgent whenever `isUrgent()` says so, asked again
 * while the request waits at the gate: the worker's polls, urgent while a webhook's event is
 * looked for (worker/worker.ts) — including a poll that was already waiting when the webhook came.
 */
export function urgentWhile<T>(isUrgent: () => boolean, work: () => Promise<T>): Promise<T> {
  return urgency.run(isUrgent, work);
}

/** The priority of a WorkOS request made now, as the gate will read it while the request waits. */
export function requestPriority(): () => RequestPriority {
  const isUrgent = urgency.getStore();
  return () => (isUrgent?.() ? 'urgent' : 'routine');
}

/** The gate of each client made by `createWorkosClient` with one. */
const gates = new WeakMap<WorkOS, RequestGate>();

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
  const call: CallContext = { phase, date: null, tokenTaken: false, attempts: 0 };
  // The first attempt's turn is waited for here, before the SDK starts that attempt's timeout:
  // a wait for the budget (a fleet-wide pause can last a minute) is not the request hanging.
  const gate = gates.get(workos);
  if (gate) {
    await gate.beforeRequest(undefined, requestPriority());
    call.tokenTaken = true;
  }
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
  /** The call's first attempt already waited for its turn at the gate (in `getRaw`). */
  tokenTaken: boolean;
  /** Attempts sent so far (the SDK's retries are the ones after the first). */
  attempts: number;
}
const calls = new AsyncLocalStorage<CallContext>();

/**
 * The SDK's fetch: every attempt, retries included. Through a gate, an attempt waits for its turn
 * (a retry's wait counts against its own timeout: the SDK aborts it as a timeout, then retries or
 * gives up as for any other), and a 429 tells the gate before the SDK sleeps its `Retry-After`.
 */
function fetchThrough(gate: RequestGate | undefined): typeof fetch {
  return async (input, init) => {
    const call = calls.getStore();
    if (gate) {
      if (call?.tokenTaken) call.tokenTaken = false;
      else await gate.beforeRequest(init?.signal ?? undefined, requestPriority());
    }
    const headers = new Headers(init?.headers);
    const sdk = headers.get('user-agent');
    const ours = `workos-sync/${packageVersion()}${call?.phase ? ` (${call.phase})` : ''}`;
    headers.set('user-agent', sdk ? `${ours} ${sdk}` : ours);
    const resends = call ? call.attempts++ : 0;
    const response = await attemptInSpan(input, init, resends, () => fetch(input, { ...init, headers }));
    if (call) call.date = response.headers.get('date');
    if (gate && response.status === 429) {
      const wait = retryAfterMs(response.headers.get('retry-after'), response.headers.get('date'));
      await Promise.resolve()
        .then(() => gate.rateLimited(wait))
        .catch(() => undefined);
    }
    return response;
  };
}

/**
 * One attempt as an HTTP client span, by the stable semantic conventions: `GET /events`. Our paths
 * name no ids (ids go in the query), so the path is the route template. The span's context is
 * not sent to WorkOS (no `traceparent`): WorkOS takes no part in our traces.
 */
function attemptInSpan(
  input: Parameters<typeof fetch>[0],
  init: RequestInit | undefined,
  resends: number,
  send: () => Promise<Response>,
): Promise<Response> {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const method = (init?.method ?? 'GET').toUpperCase();
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const attributes = {
    'http.request.method': method,
    'url.full': url.href,
    'url.template': url.pathname,
    'server.address': url.hostname,
    'server.port': port,
    ...(resends > 0 ? { 'http.request.resend_count': resends } : {}),
  };
  return inSpan(
    `${method} ${url.pathname}`,
    attributes,
    async (span) => {
      const response = await send();
      span.setAttribute('http.response.status_code', response.status);
      if (response.status >= 400) {
        span.setAttribute('error.type', String(response.status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      return response;
    },
    { kind: SpanKind.CLIENT },
  );
}
