/**
 * What every control endpoint shares: the handler signature, the refusal it throws, and the
 * reading of a raw request into a handler's input (a JSON body, URI-decoded path parameters).
 */
import type { IncomingMessage } from 'node:http';
import type { EnvironmentRegistry } from './environments.ts';
import type { FaultInjector } from './faults.ts';
import type { WorkosModel } from './model.ts';
import type { RouteResult } from './routes.ts';
import type { EmulatorWebhooks } from './webhook-dispatcher.ts';

/** Request bodies larger than this are refused (413). */
const MAX_BODY_BYTES = 1024 * 1024;

/** The environment a control call addresses, and what is the emulator's rather than its own. */
export interface ControlTarget {
  /** The environment's name (`default` for a path without `/environments/<name>`). */
  environment: string;
  model: WorkosModel;
  webhooks: EmulatorWebhooks;
  /** The emulator's one fault queue (every environment's). */
  faults: FaultInjector;
  registry: EnvironmentRegistry;
}

export interface ControlCall {
  target: ControlTarget;
  /** Path parameters, URI-decoded. */
  params: string[];
  body: unknown;
}

/** An answer, and the environment the call was for when it is not the addressed one (a creation). */
export interface ControlResult extends RouteResult {
  environment?: string;
}

export type ControlHandler = (call: ControlCall) => ControlResult | Promise<ControlResult>;

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
