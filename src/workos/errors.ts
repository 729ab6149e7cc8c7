/**
 * Turns whatever the WorkOS SDK throws into one of our errors, by what the caller should do.
 * The SDK has already retried 408/429/5xx/network failures `maxRetries` times by then.
 */
import {
  BadRequestException,
  GenericServerException,
  NotFoundException,
  OauthException,
  RateLimitExceededException,
  UnauthorizedException,
  UnprocessableEntityException,
} from '@workos-inc/node';
import { FatalError, RetryableError } from '../errors.ts';

export interface RequestContext {
  readonly path: string;
}

export function classifyWorkosError(error: unknown, context: RequestContext): Error {
  const where = `GET ${context.path}`;
  if (error instanceof UnauthorizedException) {
    return new FatalError(`WorkOS rejected the API key (401 on ${where}): check WORKOS_API_KEY`, {
      cause: error,
      kind: 'unauthorized',
    });
  }
  if (error instanceof RateLimitExceededException) {
    const retryAfterMs = Number.isFinite(error.retryAfter) ? (error.retryAfter as number) * 1000 : undefined;
    return new RetryableError(`WorkOS rate limit on ${where}`, 'rate_limited', {
      cause: error,
      retryAfterMs,
    });
  }
  const status = statusOf(error);
  // The SDK reports its own request timeout as a 408 with this body: nothing came back from WorkOS.
  if (status === 408 && (error as { rawData?: { error?: unknown } }).rawData?.error === 'Request timeout') {
    return new RetryableError(`no answer from WorkOS on ${where} within the request timeout`, 'timeout', {
      cause: error,
    });
  }
  if (status !== undefined) {
    if (status === 408 || status >= 500) {
      return new RetryableError(
        `WorkOS answered ${status} on ${where}`,
        status === 408 ? 'timeout' : 'server_error',
        {
          cause: error,
        },
      );
    }
    return new FatalError(`WorkOS answered ${status} on ${where}: ${messageOf(error)}`, {
      cause: error,
      kind: 'refused',
    });
  }
  if (error instanceof Error && error.name === 'ParseError') {
    return new RetryableError(`WorkOS sent a body that is not JSON on ${where}`, 'bad_response', {
      cause: error,
    });
  }
  if (
    error instanceof Error &&
    /fetch failed|ECONNREFUSED|ECONNRESET|socket|terminated|network/i.test(messageOf(error))
  ) {
    return new RetryableError(`cannot reach WorkOS on ${where}: ${rootMessage(error)}`, 'network', {
      cause: error,
    });
  }
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * The status of a refusal that may be about a cursor the request carried (400, 404, 422: what
 * WorkOS answers for an expired one is undocumented) — or about the request itself.
 */
export function refusalStatus(error: unknown): number | undefined {
  const status = statusOf(error);
  return status === 400 || status === 404 || status === 422 ? status : undefined;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function statusOf(error: unknown): number | undefined {
  if (
    error instanceof GenericServerException ||
    error instanceof OauthException ||
    error instanceof NotFoundException ||
    error instanceof BadRequestException ||
    error instanceof UnprocessableEntityException
  ) {
    const status = (error as { status?: unknown }).status;
    return typeof status === 'number' ? status : undefined;
  }
  return undefined;
}

function rootMessage(error: Error): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return messageOf(current);
}
