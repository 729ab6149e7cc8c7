/**
 * What the worker's two plain node:http servers (health and metrics, the webhook receiver) share:
 * listening, answering JSON, and closing without waiting for idle keep-alive sockets.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.ts';

export interface HttpListener {
  /** `http://host:port`, the host bracketed when it is IPv6. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listens on `host:port` (`0`: a free port) and hands each request to `handle`; a handler that
 * throws is logged with `what` and answered 500 (or its socket destroyed once headers went out).
 */
export async function listenHttp(
  log: Logger,
  what: string,
  address: { readonly host: string; readonly port: number },
  handle: (request: IncomingMessage, response: ServerResponse) => Promise<void>,
): Promise<HttpListener> {
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      log.error({ err: error, path: request.url }, `${what} handler failed`);
      if (!response.headersSent) sendJson(response, 500, { status: 'error' });
      else response.destroy();
    });
  });
  // A client that stalls mid-request must not hold a socket forever.
  server.requestTimeout = 15_000;
  server.headersTimeout = 10_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => log.error({ err: error }, `${what} server error`));

  const { port } = server.address() as AddressInfo;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // server.close() alone waits for keep-alive sockets (a scraper's) to time out; shutdown
        // should not. A request still being answered is cut too: its sender will retry.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  response.end(`${JSON.stringify(body)}\n`);
}
