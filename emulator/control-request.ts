/**
 * What every control endpoint shares: the handler signature, the refusal it throws, and the
 * reading of a raw request into a handler's input (a JSON body, URI-decoded path parameters).
 */
import type { IncomingMessage } from 'node:http';
import type { FaultInjector } from './faults.ts';
import type { WorkosModel } from './model.ts';
import type { RouteResult } from './routes.ts';
import type { EmulatorWebhooks } from './webhook-dispatcher.ts';

/** Request bodies larger than this are refused (413). */
const MAX_BODY_BYTES = 1024 * 1024;

export interface ControlTarget {
  model: WorkosModel;
  faults: FaultInjector;
  webhooks: EmulatorWebhooks;
}

export interface ControlCall {
  target: ControlTarget;
  /** Path parameters, URI-decoded. */
  params: string[];
  body: unknown;
}

export type ControlHandler = (call: ControlCall) => RouteResult | Promise<RouteResult>;

/** A request the control API refuses, with the status and message it answers. */
export class ControlRequestError extends Error {
  override readonly name = 'ControlRequestError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The body as JSON; an empty body reads as `{}` so endpoints without one accept a bare POST. */
export async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    else chunks.push(chunk);
  }
  if (tooLarge) throw new ControlRequestError(413, `Request body larger than ${MAX_BODY_BYTES} bytes`);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ControlRequestError(400, `Request body is not valid JSON: ${reason}`);
  }
}

export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ControlRequestError(400, `Malformed path segment: ${segment}`);
  }
}
