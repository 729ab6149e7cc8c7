/**
 * The WorkOS webhook receiver: `POST /webhooks/workos` on a listener of its own (not the health and
 * metrics server's: that one may be reachable only from inside the cluster, this one from WorkOS).
 * With an environments file (`startEnvironmentsWebhookReceiver`), one listener for the whole
 * process and a path per environment that has a secret, `POST /webhooks/<environment>`, each
 * verified with that environment's secret alone: a delivery signed with another environment's
 * secret does not verify (401 `bad_signature`), and a path of no environment with a secret is 404
 * `not_found`, as any other path.
 *
 * A verified delivery is only a nudge — "WorkOS has a new event, `eventId`" — handed to
 * `onDelivery`; the Events API stays the only source of writes, so the body is never stored,
 * forwarded or logged (only the event's id and type, at debug level), and nothing here touches the
 * database. Every request is answered at once and counted in `workos_sync_webhooks_total{result}`:
 *
 * - 200 `accepted`: the SDK verified the signature over the exact bytes received
 *   (`verify.ts`) and the body names an event id and type;
 * - 401 `missing_signature`, `bad_signature` or `stale` (signed over 180 s ago: a replay);
 * - 400 `bad_body` (not UTF-8 JSON with an `id` and an `event`), 413 `too_large` (from
 *   `Content-Length` before a byte is read — and before a sender that sent `Expect: 100-continue`
 *   is told to send the body — or as soon as a body without one passes the limit), 405
 *   `wrong_method`, 404 `not_found`. These four answer before the body is read: they close the
 *   connection, without resetting it (`sendJsonAndClose`), so the sender reads the answer.
 *
 * The secret only ever reaches the SDK's verification: never a log line, an answer or an error.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type SpanContext, SpanKind } from '@opentelemetry/api';
import { DEFAULT_ENVIRONMENT } from '../../db/environment-scope.ts';
import type { Logger } from '../../logger.ts';
import { startSpan } from '../../tracing.ts';
import { listenHttp, sendJson, sendJsonAndClose } from '../http-listener.ts';
import type { SyncMetrics, WebhookResult } from '../metrics.ts';
import { readLimitedBody } from './receiver-body.ts';
import { type Verdict, verifyWebhook, type WebhookVerifier } from './verify.ts';

const WEBHOOK_PREFIX = '/webhooks';
const WEBHOOK_PATH = `${WEBHOOK_PREFIX}/workos`;
const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

/** What a verified delivery tells the worker. */
export interface WebhookDelivery {
  /** The event's id: the poller keeps looking until the Events API has served it. */
  readonly eventId: string;
  /** The event's type (`event`), e.g. `connection.activated`. */
  readonly event: string;
  readonly receivedAt: Date;
  /** The delivery's span (`workos_sync.webhook`), when traced. */
  readonly span?: SpanContext | undefined;
}

export interface WebhookReceiverDeps {
  /** The SDK's webhook verification, e.g. `createWorkosClient(…).webhooks`. */
  readonly webhooks: WebhookVerifier;
  readonly metrics: Pick<SyncMetrics, 'recordWebhook'>;
  readonly log: Logger;
  /** Called once per verified delivery, after its 200 is sent; its errors are logged, never thrown. */
  readonly onDelivery: (delivery: WebhookDelivery) => void;
  readonly now?: () => Date;
}

export interface WebhookReceiverOptions {
  readonly host: string;
  /** `0` picks a free port (read it back from `port` or `url`). */
  readonly port: number;
  /** The endpoint's webhook secret (WorkOS dashboard). */
  readonly secret: string;
  /** Larger bodies are refused with 413 (default 64 KiB; WorkOS's connection events are a few KiB). */
  readonly maxBodyBytes?: number;
}

export interface WebhookReceiver {
  /** The endpoint to register with WorkOS: `http://host:port/webhooks/workos`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const STATUS: Readonly<Record<WebhookResult, readonly [number, string]>> = {
  accepted: [200, 'accepted'],
  missing_signature: [401, 'missing signature'],
  bad_signature: [401, 'bad signature'],
  stale: [401, 'stale signature'],
  bad_body: [400, 'bad body'],
  too_large: [413, 'body too large'],
  wrong_method: [405, 'method not allowed'],
  not_found: [404, 'not found'],
};

export async function startWebhookReceiver(
  deps: WebhookReceiverDeps,
  options: WebhookReceiverOptions,
): Promise<WebhookReceiver> {
  const route: Route = { secret: options.secret, environment: undefined };
  const listener = await listenForWebhooks(
    {
      webhooks: deps.webhooks,
      log: deps.log,
      now: deps.now,
      record: (result) => deps.metrics.recordWebhook(result),
      onDelivery: (delivery) => deps.onDelivery(delivery),
    },
    options,
    (path) => (path === WEBHOOK_PATH ? route : undefined),
  );
  const url = `${listener.url}${WEBHOOK_PATH}`;
  deps.log.child({ component: 'webhooks' }).info({ url }, 'webhook receiver listening');
  return { ...listener, url };
}

/** A delivery to an environment's path: whose it is, verified with that environment's secret. */
export interface EnvironmentWebhookDelivery extends WebhookDelivery {
  readonly environment: string;
}

export interface EnvironmentsWebhookReceiverDeps {
  readonly webhooks: WebhookVerifier;
  /** Every answer, by result, and by environment when the path named one that has a secret. */
  readonly metrics: { recordWebhook(result: WebhookResult, environment: string | undefined): void };
  readonly log: Logger;
  /** Called once per verified delivery, after its 200 is sent; its errors are logged, never thrown. */
  readonly onDelivery: (delivery: EnvironmentWebhookDelivery) => void;
  readonly now?: () => Date;
}

export interface EnvironmentsWebhookReceiverOptions extends Omit<WebhookReceiverOptions, 'secret'> {
  /** The environments whose webhooks are received, each at `/webhooks/<name>`, verified with its own secret. */
  readonly environments: readonly { readonly name: string; readonly secret: string }[];
}

export interface EnvironmentsWebhookReceiver {
  /** `http://host:port/webhooks`: an environment's endpoint is `<url>/<environment>`. */
  readonly url: string;
  readonly port: number;
  /** The paths served, each with its environment: `/webhooks/<name>`, and `/webhooks/workos` for `default`. */
  readonly paths: ReadonlyMap<string, string>;
  close(): Promise<void>;
}

/**
 * One listener, a path per environment. `/webhooks/workos`, the single-environment worker's path,
 * is `default`'s too when `default` has a secret (and no environment is named `workos`), so the
 * endpoint registered before the environments file keeps working after it.
 */
export async function startEnvironmentsWebhookReceiver(
  deps: EnvironmentsWebhookReceiverDeps,
  options: EnvironmentsWebhookReceiverOptions,
): Promise<EnvironmentsWebhookReceiver> {
  const routes = new Map<string, Route>();
  for (const { name, secret } of options.environments)
    routes.set(`${WEBHOOK_PREFIX}/${name}`, { secret, environment: name });
  const fallback = routes.get(`${WEBHOOK_PREFIX}/${DEFAULT_ENVIRONMENT}`);
  if (fallback && !routes.has(WEBHOOK_PATH)) routes.set(WEBHOOK_PATH, fallback);
  const listener = await listenForWebhooks(
    {
      webhooks: deps.webhooks,
      log: deps.log,
      now: deps.now,
      record: (result, route) => deps.metrics.recordWebhook(result, route?.environment),
      onDelivery: (delivery, route) => deps.onDelivery({ ...delivery, environment: route.environment! }),
    },
    options,
    (path) => routes.get(path),
  );
  const url = `${listener.url}${WEBHOOK_PREFIX}`;
  const paths = new Map([...routes].map(([path, route]) => [path, route.environment!]));
  deps.log
    .child({ component: 'webhooks' })
    .info({ url, environments: options.environments.map((e) => e.name) }, 'webhook receiver listening');
  return { ...listener, url, paths };
}

/** A path the receiver serves: the secret it is verified with, and whose it is (none: the single environment's). */
interface Route {
  readonly secret: string;
  readonly environment: string | undefined;
}

interface ListenDeps {
  readonly webhooks: WebhookVerifier;
  readonly log: Logger;
  readonly now?: (() => Date) | undefined;
  readonly record: (result: WebhookResult, route: Route | undefined) => void;
  readonly onDelivery: (delivery: WebhookDelivery, route: Route) => unknown;
}

function listenForWebhooks(
  deps: ListenDeps,
  options: Omit<WebhookReceiverOptions, 'secret'>,
  routeOf: (path: string) => Route | undefined,
) {
  const log = deps.log.child({ component: 'webhooks' });
  return listenHttp(
    log,
    'webhook',
    options,
    (request, response) => receive(deps, options, routeOf, log, request, response),
    { deferContinue: true },
  );
}

async function receive(
  deps: ListenDeps,
  options: Omit<WebhookReceiverOptions, 'secret'>,
  routeOf: (path: string) => Route | undefined,
  log: Logger,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const arrivedAt = new Date();
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  const route = routeOf(path);
  const environment = route?.environment;
  const refused = (result: Exclude<WebhookResult, 'accepted'>) => {
    deps.record(result, route);
    log.debug(environment === undefined ? { result } : { result, environment }, 'webhook refused');
    return [STATUS[result][0], { status: STATUS[result][1] }] as const;
  };
  const refuse = (result: Exclude<WebhookResult, 'accepted'>) => sendJson(response, ...refused(result));
  // Before the body is read: the rest of it is never asked for nor read, so the connection closes.
  const refuseUnread = (result: 'not_found' | 'wrong_method' | 'too_large', headers = {}) =>
    sendJsonAndClose(request, response, ...refused(result), headers);
  if (!route) return refuseUnread('not_found');
  if (request.method !== 'POST') return refuseUnread('wrong_method', { allow: 'POST' });

  const body = await readLimitedBody(request, response, options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
  const receivedAt = deps.now?.() ?? new Date();
  if (body.kind === 'aborted') return;
  if (body.kind === 'too_large') return refuseUnread('too_large');

  const header = request.headers['workos-signature'];
  const sigHeader = Array.isArray(header) ? header.join(', ') : header;
  // This path's secret, and no other: a delivery is never tried against another environment's.
  const verdict = await verifyWebhook(deps.webhooks, route.secret, body.bytes, sigHeader);
  if (verdict.result !== 'accepted') return refuse(verdict.result);
  // Only a verified delivery is traced: a stranger's requests make no spans.
  const span = startSpan(
    'workos_sync.webhook',
    {
      'http.request.method': 'POST',
      'url.path': path,
      'http.response.status_code': 200,
      'workos_sync.event_id': verdict.eventId,
      'workos_sync.event_type': verdict.event.slice(0, 100),
      'workos_sync.environment': environment ?? DEFAULT_ENVIRONMENT,
    },
    { kind: SpanKind.SERVER, startTime: arrivedAt },
  );
  deps.record('accepted', route);
  sendJson(response, 200, { status: 'accepted' });
  deliver(deps, route, log, verdict, receivedAt, span.isRecording() ? span.spanContext() : undefined);
  span.end();
}

/** Hands the nudge on without letting the worker's handler fail the request or the server. */
function deliver(
  deps: ListenDeps,
  route: Route,
  log: Logger,
  verdict: Extract<Verdict, { result: 'accepted' }>,
  receivedAt: Date,
  span: SpanContext | undefined,
): void {
  const { eventId, event } = verdict;
  const environment = route.environment;
  const about = environment === undefined ? { eventId } : { eventId, environment };
  log.debug({ ...about, eventType: event.slice(0, 100) }, 'webhook accepted');
  const failed = (error: unknown) => log.warn({ err: error, ...about }, 'webhook delivery handler failed');
  try {
    const result: unknown = deps.onDelivery({ eventId, event, receivedAt, span }, route);
    if (result instanceof Promise) result.catch(failed);
  } catch (error) {
    failed(error);
  }
}
