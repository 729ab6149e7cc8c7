/**
 * Reads a webhook request's body as raw bytes, up to a limit. A body declared larger
 * (`Content-Length`) is refused before a byte of it is read, and before a sender that asked first
 * (`Expect: 100-continue`) is told to send it; past the limit it stops reading at once — the rest
 * is not buffered — so a sender cannot make the receiver hold more than the limit: the caller
 * answers 413 and closes the connection (`sendJsonAndClose`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { continueIfAsked } from '../http-listener.ts';

export type BodyReading =
  | { readonly kind: 'read'; readonly bytes: Buffer }
  | { readonly kind: 'too_large' }
  /** The sender went away before the body was complete: there is no one to answer. */
  | { readonly kind: 'aborted' };

export function readLimitedBody(
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes: number,
): Promise<BodyReading> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.resolve({ kind: 'too_large' });
  continueIfAsked(req, res);

  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (reading: BodyReading) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      resolve(reading);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.pause();
        settle({ kind: 'too_large' });
      } else chunks.push(chunk);
    };
    const onEnd = () => settle({ kind: 'read', bytes: Buffer.concat(chunks, size) });
    const onClose = () => settle({ kind: 'aborted' });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
  });
}
