/**
 * The WorkOS API emulator over real HTTP (node:http), for driving the real `@workos-inc/node` SDK.
 *
 * Request pipeline: record → authenticate (401 `{message:'Unauthorized'}`) → apply the next
 * matching fault → route. Faults come after auth on purpose: a queued fault means "the next
 * authenticated calls misbehave", so a test probing a bad key never consumes one. The control API
 * (`/_emulator/…`, `control-api.ts`) is authenticated the same way but never faulted.
 *
 * Every response, errors included, is JSON with `Content-Type: application/json`: the SDK fails
 * with a TypeError on anything else. Every response also carries a `Date` in the model's clock, not
 * Node's real-time one: a client that reads WorkOS's "now" off it must see the emulated WorkOS's
 * clock, offset included.
 *
 * With a webhook endpoint (`webhook`, `Emulator.webhooks`, `PUT /_emulator/webhooks`), every event
 * the model appends from then on is also POSTed to it, signed as WorkOS signs
 * (`webhook-dispatcher.ts`). Without one, nothing is sent and nothing else changes.
 */
import { createServer, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleControlRequest, isControlPath } from './control-api.ts';
import { FaultInjector, type FaultKind } from './faults.ts';
import { WorkosModel } from './model.ts';
import { type RouteResult, route } from './routes.ts';
import { warmSigningCerts } from './signing-cert-pems.ts';
import type { WebhookDeliveryRecord } from './webhook-delivery-log.ts';
import { type EmulatorWebhooks, WebhookDispatcher } from './webhook-dispatcher.ts';
import type { WebhookEndpointOptions } from './webhook-endpoint.ts';

export interface StartEmulatorOptions {
  model?: WorkosModel;
  /**
   * The clock offset of the model built when `model` is not given (`WorkosModelOptions`). A model
   * passed in carries its own (`new WorkosModel({ clockOffsetMs })`, so its history is written in
   * that clock): giving both throws.
   */
  clockOffsetMs?: number;
  /**
   * Sets how long, in ms of WorkOS's clock, a new event stays out of `GET /events`
   * (`WorkosModel.setVisibilityDelay`), on the model built or the one passed in. Default: the
   * model's own (0 for a model built here).
   */
  visibilityDelayMs?: number;
  /**
   * Deliver every event appended from start-up on to this endpoint as a signed webhook (later:
   * `Emulator.webhooks.configure`, or `PUT /_emulator/webhooks`). Throws WebhookEndpointError
   * for a bad setting. Default: none.
   */
  webhook?: WebhookEndpointOptions;
  /** Told when a webhook delivery reaches its final state (delivered, failed, abandoned, dropped). */
  onWebhookSettled?: (record: WebhookDeliveryRecord) => void;
  /**
   * The one API key accepted, or a test of the bearer token (`workos-sync emulator` accepts any
   * `sk_test_…` key this way).
   */
  apiKey: string | ((key: string) => boolean);
  /** 0 (default): an ephemeral port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /**
   * Cap on `requests` (default 100,000) so a long-running dev emulator does not grow without
   * bound; past it the oldest half is dropped.
   */
  maxRecordedRequests?: number;
  /**
   * Default true: render, in the background, the signing certificates the model holds at start,
   * so the first listing does not pay for them (a PEM costs a few milliseconds). Requests are
   * served meanwhile; certificates set later render on first listing.
   */
  warmCertificates?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** Query parameters; a repeated parameter's values are joined with ','. */
  query: Record<string, string>;
  /** The status answered; 0 while pending or when a `hang` fault never answered. */
  status: number;
  /** The request's User-Agent header, as sent (absent: undefined). */
  userAgent: string | undefined;
  fault?: FaultKind;
}

export interface Emulator {
  url: string;
  host: string;
  port: number;
  model: WorkosModel;
  faults: FaultInjector;
  /** The webhook endpoint and the log of deliveries to it. */
  webhooks: EmulatorWebhooks;
  requests: RecordedRequest[];
  /** Settles when the background rendering of the certificates held at start is done (never rejects). */
  certificatesWarm: Promise<void>;
  close(): Promise<void>;
}

/** A body that starts like a page of events and stops mid-token. */
const MALFORMED_JSON = '{"object":"list","data":[{"object":"event","id":"event_01';

function queryRecord(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of new Set(params.keys())) out[key] = params.getAll(key).join(',');
  return out;
}

export async function startEmulator(options: StartEmulatorOptions): Promise<Emulator> {
  if (!options.apiKey) throw new Error('startEmulator: apiKey is required');
  if (options.model && options.clockOffsetMs !== undefined)
    throw new Error(
      'startEmulator: give clockOffsetMs to the model passed in (new WorkosModel({ clockOffsetMs })), not to startEmulator',
    );
  const model = options.model ?? new WorkosModel({ clockOffsetMs: options.clockOffsetMs });
  if (options.visibilityDelayMs !== undefined) model.setVisibilityDelay(options.visibilityDelayMs);
  const webhooks = new WebhookDispatcher({ clock: model.clock, onSettled: options.onWebhookSettled });
  if (options.webhook) webhooks.configure(options.webhook);
  const faults = new FaultInjector();
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const { apiKey } = options;
  const authorized =
    typeof apiKey === 'string'
      ? (header: string | undefined) => header === `Bearer ${apiKey}`
      : (header: string | undefined) => header?.startsWith('Bearer ') === true && apiKey(header.slice(7));
  const maxRecorded = options.maxRecordedRequests ?? 100_000;
  let requestCount = 0;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const server = createServer((req, res) => {
    requestCount += 1;
    const requestId = `req_emulator_${requestCount}`;
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: queryRecord(url.searchParams),
      status: 0,
      userAgent: req.headers['user-agent'],
    };
    if (requests.length >= maxRecorded) requests.splice(0, Math.ceil(requests.length / 2));
    requests.push(record);

    const headersFor = (length: number, extra: Record<string, string> = {}) => ({
      'Content-Type': 'application/json',
      'Content-Length': String(length),
      'X-Request-ID': requestId,
      // Node sends its own real-time Date only when none is set.
      Date: model.clock().toUTCString(),
      ...extra,
    });
    const reply = (status: number, body: unknown, extra?: Record<string, string>) => {
      const text = JSON.stringify(body);
      record.status = status;
      res.writeHead(status, headersFor(Buffer.byteLength(text), extra));
      res.end(text);
    };

    const handle = async () => {
      if (!authorized(req.headers.authorization)) return reply(401, { message: 'Unauthorized' });
      if (isControlPath(url.pathname)) {
        const target = { model, faults, webhooks };
        const result = await handleControlRequest(target, req, record.method, url.pathname);
        return reply(result.status, result.body);
      }
      const fault = faults.take(url.pathname);
      if (fault) record.fault = fault.kind;
      switch (fault?.kind) {
        case 'status': {
          const retryAfter =
            fault.retryAfter === undefined ? undefined : { 'Retry-After': String(fault.retryAfter) };
          return reply(
            fault.status,
            fault.body ?? { message: STATUS_CODES[fault.status] ?? 'Error' },
            retryAfter,
          );
        }
        case 'hang':
          return;
        case 'malformed-json':
          record.status = 200;
          res.writeHead(200, headersFor(Buffer.byteLength(MALFORMED_JSON)));
          return void res.end(MALFORMED_JSON);
        case 'delay':
          await sleep(fault.ms);
          break;
      }
      const result = await route(model, record.method, url.pathname, url.searchParams);
      if (fault?.kind === 'truncate') return truncate(res, result, headersFor, record);
      reply(result.status, result.body);
    };

    handle().catch(() => {
      if (res.headersSent) res.destroy();
      else reply(500, { message: 'Internal emulator error' });
    });
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Subscribed once listening: a start that fails leaves no listener on a model passed in.
  const stopDelivering = model.onEvent((event) => webhooks.enqueue(event));
  const { port } = server.address() as AddressInfo;
  const certificatesWarm =
    options.warmCertificates === false
      ? Promise.resolve()
      : warmSigningCerts(model.signingCertificates().values(), model.clock());

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve, reject) => {
      stopDelivering();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const delivered = webhooks.close();
      server.close((error) => (error ? reject(error) : delivered.then(() => resolve(), reject)));
      // Hanging and keep-alive sockets would otherwise hold close() (and the test run) open.
      server.closeAllConnections();
    });
    return closing;
  };

  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    model,
    faults,
    webhooks,
    requests,
    certificatesWarm,
    close,
  };
}

/** Sends the headers (with the full Content-Length) and half the body, then drops the socket. */
function truncate(
  res: ServerResponse,
  result: RouteResult,
  headersFor: (length: number) => Record<string, string>,
  record: RecordedRequest,
): void {
  const body = Buffer.from(JSON.stringify(result.body));
  record.status = result.status;
  res.writeHead(result.status, headersFor(body.length));
  res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
}
