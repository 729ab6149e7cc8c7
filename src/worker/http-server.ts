/**
 * The worker's health and metrics endpoints, on plain node:http (three routes do not need a
 * framework):
 *
 * - `GET /healthz`: liveness — the process is up and its event loop answers.
 * - `GET /readyz`: readiness — the database answers and polling is not stuck. A replica that is
 *   not the lease holder still ticks (it tries for the lease), so it stays ready.
 * - `GET /metrics`: Prometheus text format; with credentials configured, only for a request that
 *   gives them (HTTP basic auth, compared in constant time), for a server bound beyond loopback.
 *   The probes stay open: they say only whether the process is up and ready, and a kubelet would
 *   need the password in the manifest.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Kysely, sql } from 'kysely';
import type { Registry } from 'prom-client';
import type { Database } from '../db/tables.ts';
import type { Logger } from '../logger.ts';
import { type HttpListener, listenHttp, sendJson } from './http-listener.ts';

export interface HealthSource {
  /** When the poll schedule last completed a tick without error; null before the first. */
  lastSuccessfulTickAt(): Date | null;
  /** When the worker started: before the first tick, readiness counts from here. */
  readonly startedAt: Date;
  /** The poll schedule's period (see `schedulePeriodMs`). */
  readonly pollPeriodMs: number;
  /** Resolves when the database answers (e.g. `databaseCheck(db)`); rejects otherwise. */
  checkDatabase(): Promise<void>;
}

/** What `/metrics` serves: one environment's registry, or a fleet's aggregate of them. */
export type MetricsPage = Pick<Registry, 'metrics' | 'contentType'>;

export interface HttpServerDeps {
  readonly metrics: { readonly registry: MetricsPage };
  readonly health: HealthSource;
  readonly log: Logger;
  readonly now?: () => Date;
  /**
   * Applied to every error text a response carries (e.g. `secretScrubber(config secrets)`): a
   * driver's message could quote a connection string, and these bodies leave the process.
   */
  readonly scrub?: (text: string) => string;
}

export interface HttpServerOptions {
  readonly host: string;
  /**
   * `0` disables the server (the contract: `WORKOS_SYNC_HTTP_PORT=0`), and `startHttpServer`
   * returns undefined. `'ephemeral'` listens on a free port the OS picks (tests; read it back from
   * the returned `port`).
   */
  readonly port: number | 'ephemeral';
  /** How long readiness waits for `checkDatabase` (default 2 s: probes have short timeouts). */
  readonly databaseCheckTimeoutMs?: number;
  /** Readiness fails after this many poll periods without a successful tick (default 3). */
  readonly pollPeriodsAllowed?: number;
  /** What `/metrics` asks for; none: it is open. */
  readonly basicAuth?: BasicAuth | null | undefined;
}

export type HttpServer = HttpListener;

/** The credentials `/metrics` asks for (`WORKOS_SYNC_HTTP_BASIC_AUTH`). */
export interface BasicAuth {
  readonly username: string;
  readonly password: string;
}

/** The readiness database check most callers want: one `select 1`. */
export function databaseCheck(db: Kysely<Database>): () => Promise<void> {
  return async () => {
    await sql`select 1`.execute(db);
  };
}

export async function startHttpServer(
  deps: HttpServerDeps,
  options: HttpServerOptions,
): Promise<HttpServer | undefined> {
  if (options.port === 0) return undefined;
  const readiness = readinessCheck(deps, options);
  const authorized = options.basicAuth ? basicAuthCheck(options.basicAuth) : null;
  const log = deps.log.child({ component: 'http' });

  const listener = await listenHttp(
    log,
    'http',
    { host: options.host, port: options.port === 'ephemeral' ? 0 : options.port },
    (request, response) => handle(deps, readiness, authorized, request, response),
  );
  log.info({ url: listener.url }, 'health and metrics server listening');
  return listener;
}

type Readiness = () => Promise<{ ready: boolean; checks: { database: string; poll: string } }>;

async function handle(
  deps: HttpServerDeps,
  readiness: Readiness,
  authorized: ((header: string | undefined) => boolean) | null,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  const known = path === '/healthz' || path === '/readyz' || path === '/metrics';
  if (!known) return sendJson(response, 404, { status: 'not found' });
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    return sendJson(response, 405, { status: 'method not allowed' });
  }

  if (path === '/healthz') return sendJson(response, 200, { status: 'ok' });

  if (path === '/readyz') {
    const { ready, checks } = await readiness();
    return sendJson(response, ready ? 200 : 503, { status: ready ? 'ok' : 'unready', checks });
  }

  if (authorized && !authorized(request.headers.authorization)) {
    response.setHeader('www-authenticate', 'Basic realm="workos-sync metrics", charset="UTF-8"');
    return sendJson(response, 401, { status: 'unauthorized' });
  }
  const { registry } = deps.metrics;
  const body = await registry.metrics();
  response.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
  response.end(body);
}

function readinessCheck(deps: HttpServerDeps, options: HttpServerOptions): Readiness {
  const now = deps.now ?? (() => new Date());
  const scrub = deps.scrub ?? ((text: string) => text);
  const timeoutMs = options.databaseCheckTimeoutMs ?? 2_000;
  const periods = options.pollPeriodsAllowed ?? 3;
  const log = deps.log.child({ component: 'readiness' });
  let wasReady: boolean | undefined;

  const database = async (): Promise<string> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        deps.health.checkDatabase(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return 'ok';
    } catch (error) {
      return `error: ${scrub(oneLine(error))}`;
    } finally {
      clearTimeout(timer);
    }
  };

  const poll = (): string => {
    const { health } = deps;
    const last = health.lastSuccessfulTickAt();
    const limitMs = periods * health.pollPeriodMs;
    const ageMs = now().getTime() - (last ?? health.startedAt).getTime();
    if (ageMs <= limitMs) return 'ok';
    return last
      ? `last successful poll ${seconds(ageMs)} ago (limit ${seconds(limitMs)})`
      : `no successful poll since start ${seconds(ageMs)} ago (limit ${seconds(limitMs)})`;
  };

  return async () => {
    const checks = { database: await database(), poll: poll() };
    const ready = checks.database === 'ok' && checks.poll === 'ok';
    // Probes come every few seconds: log changes, not every answer.
    if (ready !== wasReady) {
      if (ready) log.info('ready');
      else log.warn({ checks }, 'not ready');
      wasReady = ready;
    }
    return { ready, checks };
  };
}

/** An error as one short line: enough to say what failed, never a stack. */
function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.split('\n', 1)[0]!.trim() || (error instanceof Error ? error.name : 'unknown error');
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

function seconds(ms: number): string {
  const s = ms / 1000;
  return `${s >= 10 ? Math.round(s) : Math.round(s * 100) / 100} s`;
}

/**
 * Whether an `Authorization` header gives these credentials. Both sides are hashed first, so the
 * comparison takes the same time whatever was sent and however long it is.
 */
function basicAuthCheck(credentials: BasicAuth): (header: string | undefined) => boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  const expected = digest(
    `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`,
  );
  return (header) => header !== undefined && timingSafeEqual(digest(header.trim()), expected);
}
