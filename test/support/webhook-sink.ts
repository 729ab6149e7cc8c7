/**
 * A webhook endpoint for tests of the sending side: records every request exactly as it arrived
 * (raw body text, headers, arrival time) and answers each with the status a test scripts — or
 * never, to hold the request open the way a hung receiver does.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The body as received, byte for byte (UTF-8). */
  readonly body: string;
  /** `performance.now()` when the whole body had arrived. */
  readonly arrivedAt: number;
}

export type SinkAnswer = number | 'hang';

export interface WebhookSink {
  readonly url: string;
  readonly received: ReceivedWebhook[];
  /** Requests held open right now (answered `'hang'`, their connection still up). */
  held(): number;
  /** Held requests whose connection the sender closed. */
  abandoned(): number;
  close(): Promise<void>;
}

/** `answer` is asked once per request, with the request and its 0-based position. Default: 200. */
export async function startWebhookSink(
  answer: (request: ReceivedWebhook, index: number) => SinkAnswer = () => 200,
): Promise<WebhookSink> {
  const received: ReceivedWebhook[] = [];
  let held = 0;
  let abandoned = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: ReceivedWebhook = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        arrivedAt: performance.now(),
      };
      received.push(request);
      const status = answer(request, received.length - 1);
      if (status === 'hang') {
        held += 1;
        res.on('close', () => {
          held -= 1;
          abandoned += 1;
        });
        return;
      }
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/workos`,
    received,
    held: () => held,
    abandoned: () => abandoned,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
