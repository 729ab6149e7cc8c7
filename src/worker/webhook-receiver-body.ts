/**
 * Reads a webhook request's body as raw bytes, up to a limit. Past the limit it stops reading at
 * once — the rest is neither buffered nor drained — so a sender cannot make the receiver hold or
 * even read more than the limit: the caller answers 413 and the connection is closed.
 */
import type { IncomingMessage } from 'node:http';

export type BodyReading =
  | { readonly kind: 'read'; readonly bytes: Buffer }
  | { readonly kind: 'too_large' }
  /** The sender went away before the body was complete: there is no one to answer. */
  | { readonly kind: 'aborted' };

export function readLimitedBody(req: IncomingMessage, maxBytes: number): Promise<BodyReading> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.resolve({ kind: 'too_large' });

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
