/**
 * One delivery attempt: a POST of a signed webhook body, and what came of it — the status, or why
 * there was none.
 *
 * Each attempt opens a connection of its own (`agent: false`, no keep-alive pool) and settles only
 * once that connection is done with: when the answer has been read to its end, on an error, on the
 * timeout, or when the dispatcher abandons it (the emulator closing). So nothing of an attempt —
 * socket or timer — outlives its promise.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface WebhookPostOutcome {
  /** The answer's status; null when none came (network error, timeout, abandoned). */
  status: number | null;
  /** Why the attempt failed without a status (`ECONNREFUSED`, `timeout after 5000 ms`, …); else null. */
  error: string | null;
}

function errorText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.message : String(error);
}

export function postWebhook(
  target: URL,
  headers: Readonly<Record<string, string>>,
  body: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<WebhookPostOutcome> {
  return new Promise((resolve) => {
    let status: number | null = null;
    let settled = false;
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(target, {
      method: 'POST',
      agent: false,
      headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
    });
    const finish = (error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      req.destroy();
      resolve({ status, error: status === null ? (error ?? 'no answer') : null });
    };
    // A whole-attempt deadline: a receiver that trickles its answer must not hold a slot forever.
    const timer = setTimeout(() => finish(`timeout after ${timeoutMs} ms`), timeoutMs);
    const onAbort = () => finish('abandoned');
    signal.addEventListener('abort', onAbort, { once: true });

    req.on('response', (res: IncomingMessage) => {
      status = res.statusCode ?? null;
      res.on('end', () => finish(null));
      res.on('error', (error) => finish(errorText(error)));
      res.on('close', () => finish('connection closed'));
      res.resume();
    });
    req.on('error', (error) => finish(errorText(error)));
    req.end(body);
    if (signal.aborted) onAbort();
  });
}
