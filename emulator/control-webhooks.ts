/**
 * The webhook endpoint over the control API (`/_emulator/webhooks`): read it with the delivery log,
 * set it, remove it. The JSON form is snake_case like the rest of the API; the secret goes in and
 * never comes back out.
 */
import { z } from 'zod';
import { noBody, parse } from './control-bodies.ts';
import { type ControlHandler, ControlRequestError } from './control-request.ts';
import type { WebhookDeliveryRecord } from './webhook-delivery-log.ts';
import type { EmulatorWebhooks } from './webhook-dispatcher.ts';
import { type WebhookEndpoint, WebhookEndpointError } from './webhook-endpoint.ts';

const required = (kind: string) => ({
  error: (issue: { input: unknown }) => (issue.input === undefined ? 'is required' : `must be ${kind}`),
});

// Types here; ranges and URL rules in resolveWebhookEndpoint, shared with startEmulator and the CLI.
const endpointBody = z.strictObject({
  url: z.string(required('a string')),
  secret: z.string(required('a string')),
  max_attempts: z.number({ error: 'must be a number' }).optional(),
  retry_delay_ms: z.number({ error: 'must be a number' }).optional(),
  timeout_ms: z.number({ error: 'must be a number' }).optional(),
});

const FIELD_NAMES: Readonly<Record<WebhookEndpointError['field'], string>> = {
  url: 'url',
  secret: 'secret',
  maxAttempts: 'max_attempts',
  retryDelayMs: 'retry_delay_ms',
  timeoutMs: 'timeout_ms',
};

function endpointJson(endpoint: WebhookEndpoint | undefined): Record<string, unknown> | null {
  if (endpoint === undefined) return null;
  return {
    url: endpoint.url,
    max_attempts: endpoint.maxAttempts,
    retry_delay_ms: endpoint.retryDelayMs,
    timeout_ms: endpoint.timeoutMs,
  };
}

function deliveryJson(record: WebhookDeliveryRecord): Record<string, unknown> {
  return {
    object: 'emulator_webhook_delivery',
    id: record.id,
    event_id: record.eventId,
    event_type: record.eventType,
    url: record.url,
    state: record.state,
    attempts: record.attempts.map((a) => ({
      at: a.at.toISOString(),
      status: a.status,
      error: a.error,
      duration_ms: a.durationMs,
    })),
  };
}

function webhooksJson(webhooks: EmulatorWebhooks): Record<string, unknown> {
  return {
    object: 'emulator_webhooks',
    endpoint: endpointJson(webhooks.endpoint()),
    deliveries: webhooks.deliveries().map(deliveryJson),
  };
}

export const readWebhooks: ControlHandler = ({ target: { webhooks } }) => ({
  status: 200,
  body: webhooksJson(webhooks),
});

export const setWebhooks: ControlHandler = ({ target: { webhooks }, body }) => {
  const input = parse(endpointBody, body);
  try {
    webhooks.configure({
      url: input.url,
      secret: input.secret,
      maxAttempts: input.max_attempts,
      retryDelayMs: input.retry_delay_ms,
      timeoutMs: input.timeout_ms,
    });
  } catch (error) {
    if (error instanceof WebhookEndpointError)
      throw new ControlRequestError(400, `Invalid request body: ${FIELD_NAMES[error.field]}: ${error.rule}`);
    throw error;
  }
  return { status: 200, body: webhooksJson(webhooks) };
};

export const removeWebhooks: ControlHandler = ({ target: { webhooks }, body }) => {
  parse(noBody, body);
  return { status: 200, body: webhooks.remove() };
};
