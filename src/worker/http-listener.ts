/**
 * What the worker's two plain node:http servers (health and metrics, the webhook receiver) share:
 * listening, answering JSON, and closing without waiting for idle keep-alive sockets. For a server
 * that takes request bodies: `100 Continue` sent only once the body is to be read, and a refusal
 * that closes the connection without resetting it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '../logger.ts';

/**
 * How long a refused sender may go on sending the body it was refused for (read and thrown
 * away) before its connection is cut: enough for a few MB on a slow link, or for a sender that
 * asked first to read the answer and hang up.
 */
const LINGER_MS = 5_000;

/** Requests sent with `Expect: 100-continue` whose sender still waits to be told to send the body. */
const awaitingContinue = new WeakSet<IncomingMessage>();

export interface HttpListener {
  /** `http://host:port`, the host bracketed when it is IPv6. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listens on `host:port` (`0`: a free port) and hands each request to `handle`; a handler that
 * throws is logged with `what` and answered 500 (or its socket destroyed once headers went out).
 *
 * With `deferContinue`, a request sent with `Expect: 100-continue` reaches `handle` before its
 * sender has sent the body: Node no longer answers `100 Continue` by itself once a
 * `checkContinue` listener is attached, so the handler can refuse from the headers alone
 * (`sendJsonAndClose`) and the body is never sent, or say `continueIfAsked` when it reads it.
 */
export async function listenHttp(
  log: Logger,
  what: string,
  address: { readonly host: string; readonly port: number },
  handle: (request: IncomingMessage, response: ServerResponse) => Promise<void>,
  options: { readonly deferContinue?: boolean } = {},
): Promise<HttpListener> {
  const serve = (request: IncomingMessage, response: ServerResponse): void => {
    handle(request, response).catch((error: unknown) => {
      log.error({ err: error, path: request.url }, `${what} handler failed`);
      if (!response.headersSent) sendJson(response, 500, { status: 'error' });
      else response.destroy();
    });
  };
  const server = createServer(serve);
  if (options.deferContinue)
    server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
      awaitingContinue.add(request);
      serve(request, response);
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

/** Tells a sender waiting with `Expect: 100-continue` to send its body now; nothing for one that did not ask. */
export function continueIfAsked(request: IncomingMessage, response: ServerResponse): void {
  if (awaitingContinue.delete(request)) response.writeContinue();
}

/**
 * Answers with JSON and closes the connection: for a refusal sent before the request's body is
 * read, whose rest is never read. Closing at once would reset the connection: Node ends a
 * `Connection: close` answer with `socket.destroySoon()`, which closes the socket as soon as the
 * answer is written, and the body the sender is still sending (it sent it without asking first,
 * or before reading the answer) then reaches a closed socket, which the kernel answers with a
 * reset: the sender's system drops the answer it has not read yet, and the sender sees
 * ECONNRESET or EPIPE instead of the refusal. So the socket is half-closed instead, what still
 * comes is read and thrown away, and it closes once the sender hangs up (it does, having read a
 * `Connection: close` answer), or after LINGER_MS.
 */
export function sendJsonAndClose(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  // Never told to continue, a sender that asked first sends nothing more.
  awaitingContinue.delete(request);
  const socket = request.socket;
  socket.destroySoon = () => lingeringClose(socket);
  request.resume();
  sendJson(response, status, body, { ...headers, connection: 'close' });
}

function lingeringClose(socket: Socket): void {
  socket.end();
  const cut = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  socket.once('close', () => clearTimeout(cut));
}
