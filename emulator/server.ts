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
 *
 * It serves several WorkOS environments (`environments.ts`): the bearer key picks one, and the
 * request is answered from that environment's model. `default` is `model` and `apiKey`; an
 * emulator given no other environment is the single-world emulator it always was.
 */
import { createServer, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleControlRequest, isControlPath } from './control-api.ts';
import { type EmulatorEnvironment, EnvironmentRegistry } from './environments.ts';
import { FaultInjector } from './faults.ts';
import { WorkosModel } from './model.ts';
import { type RouteResult, route } from './routes.ts';
import type { Emulator, RecordedRequest, StartEmulatorOptions } from './server-api.ts';
import { warmSigningCerts } from './signing-cert-pems.ts';

export type { Emulator, RecordedRequest, StartEmulatorOptions } from './server-api.ts';

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
  const registry = new EnvironmentRegistry(
    model,
    { defaultKey: options.apiKey, onWebhookSettled: options.onWebhookSettled },
    options.webhook,
  );
  // Deliveries are subscribed from here on: a start that fails must stop them (`abandon`).
  const abandon = async (error: unknown): Promise<never> => {
    await registry.close();
    throw error;
  };
  try {
    for (const { name, ...environment } of options.environments ?? []) registry.add(name, environment);
  } catch (error) {
    await abandon(error);
  }
  const faults = new FaultInjector();
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
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

    // The Date header is in the clock of the environment answered (default's until one is picked).
    let answering = registry.default;
    const headersFor = (length: number, extra: Record<string, string> = {}) => ({
      'Content-Type': 'application/json',
      'Content-Length': String(length),
      'X-Request-ID': requestId,
      // Node sends its own real-time Date only when none is set.
      Date: answering.model.clock().toUTCString(),
      ...extra,
    });
    const reply = (status: number, body: unknown, extra?: Record<string, string>) => {
      const text = JSON.stringify(body);
      record.status = status;
      res.writeHead(status, headersFor(Buffer.byteLength(text), extra));
      res.end(text);
    };

    const handle = async () => {
      const environment = registry.forAuthorization(req.headers.authorization);
      if (!environment) return reply(401, { message: 'Unauthorized' });
      if (isControlPath(url.pathname)) {
        const result = await handleControlRequest({ registry, faults }, req, record.method, url.pathname);
        record.environment = result.environment;
        answering = registry.get(result.environment ?? '') ?? answering;
        return reply(result.status, result.body);
      }
      record.environment = environment.name;
      answering = environment;
      const fault = faults.take(url.pathname, environment.name);
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
      const result = await route(environment.model, record.method, url.pathname, url.searchParams);
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
  }).catch(abandon);
  const { port } = server.address() as AddressInfo;
  const certificatesWarm =
    options.warmCertificates === false ? Promise.resolve() : warmCertificates(registry.list());

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve, reject) => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const delivered = registry.close();
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
    webhooks: registry.default.webhooks,
    environment: (name) => registry.get(name),
    environments: () => registry.list(),
    addEnvironment: (name, environment) => registry.add(name, environment),
    requests,
    certificatesWarm,
    close,
  };
}

/** One environment after another, each model's certificates read as its turn comes. */
async function warmCertificates(environments: readonly EmulatorEnvironment[]): Promise<void> {
  for (const { model } of environments)
    await warmSigningCerts(model.signingCertificates().values(), model.clock());
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
