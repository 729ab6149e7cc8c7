/**
 * The endpoint the emulator delivers webhooks to, and its retry schedule.
 *
 * WorkOS retries a delivery that did not get a 2xx answer "up to 12 times, with exponential
 * backoff over 3 days" (its webhook documentation). The emulator keeps the shape — a first attempt,
 * then retries that each wait twice as long as the one before — at a scale a test can wait for:
 * 4 attempts, 100 ms before the first retry (100, 200, 400 ms). `maxAttempts: 13` with a long
 * `retryDelayMs` comes close to the real count.
 *
 * One set of rules for every way in (`startEmulator`, the control API, the CLI): a refusal names
 * the field and the rule, never the value, since the value may be the secret.
 */

export interface WebhookEndpointOptions {
  /** Where deliveries are POSTed: an absolute `http:` or `https:` URL. */
  url: string;
  /** The webhook secret the signature is keyed with. */
  secret: string;
  /** Attempts per event, the first one included. Default 4; at most 13 (WorkOS: 1 + 12 retries). */
  maxAttempts?: number;
  /** Wait before the first retry, in ms; each later retry waits twice the one before. Default 100. */
  retryDelayMs?: number;
  /** How long one attempt waits for the whole answer, in ms (then it counts as failed). Default 5000. */
  timeoutMs?: number;
}

/** An endpoint as the emulator shows it: its settings, without the secret. */
export interface WebhookEndpoint {
  url: string;
  maxAttempts: number;
  retryDelayMs: number;
  timeoutMs: number;
}

export interface ResolvedWebhookEndpoint extends WebhookEndpoint {
  secret: string;
  target: URL;
}

export const WEBHOOK_DEFAULTS = { maxAttempts: 4, retryDelayMs: 100, timeoutMs: 5_000 } as const;
const LIMITS = { maxAttempts: [1, 13], retryDelayMs: [0, 3_600_000], timeoutMs: [1, 600_000] } as const;

type Field = keyof WebhookEndpointOptions;

/** A refused endpoint setting: which field, and the rule it breaks (never the value). */
export class WebhookEndpointError extends Error {
  override readonly name = 'WebhookEndpointError';
  constructor(
    readonly field: Field,
    readonly rule: string,
  ) {
    super(`webhook endpoint ${field} ${rule}`);
  }
}

function targetOf(url: unknown): URL {
  const rule = 'must be an absolute http:// or https:// URL';
  if (typeof url !== 'string') throw new WebhookEndpointError('url', rule);
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new WebhookEndpointError('url', rule);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:')
    throw new WebhookEndpointError('url', rule);
  return target;
}

function integerSetting(field: keyof typeof LIMITS, value: unknown): number {
  if (value === undefined) return WEBHOOK_DEFAULTS[field];
  const [min, max] = LIMITS[field];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new WebhookEndpointError(field, `must be an integer from ${min} to ${max}`);
  return value;
}

/** The endpoint with its defaults filled in; throws WebhookEndpointError for a bad setting. */
export function resolveWebhookEndpoint(options: WebhookEndpointOptions): ResolvedWebhookEndpoint {
  const target = targetOf(options.url);
  const { secret } = options;
  if (typeof secret !== 'string' || secret.length === 0 || secret.length > 1000)
    throw new WebhookEndpointError('secret', 'must be a non-empty string of at most 1000 characters');
  return {
    url: target.href,
    target,
    secret,
    maxAttempts: integerSetting('maxAttempts', options.maxAttempts),
    retryDelayMs: integerSetting('retryDelayMs', options.retryDelayMs),
    timeoutMs: integerSetting('timeoutMs', options.timeoutMs),
  };
}

/** How long to wait after attempt `made` (1-based) failed before the next one. */
export function retryDelay(endpoint: WebhookEndpoint, made: number): number {
  return endpoint.retryDelayMs * 2 ** (made - 1);
}
