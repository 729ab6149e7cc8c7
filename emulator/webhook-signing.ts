/**
 * What a WorkOS webhook looks like on the wire: the body WorkOS POSTs for an event, and the
 * `WorkOS-Signature` header that authenticates it.
 *
 * Body: the event's `event`, `id`, `data` and `created_at` (WorkOS's documented webhook bodies;
 * the Events API's `object` and `context` are not part of them), as compact JSON.
 *
 * Header: `t=<ms>, v1=<hex>`, where `<ms>` is the signing time in milliseconds since the epoch and
 * `<hex>` the HMAC-SHA256, keyed with the endpoint's secret, of `<ms>.<body>` — the exact bytes
 * sent. `@workos-inc/node`'s `webhooks.verifyHeader` / `constructEvent` check exactly this, and
 * refuse a `t` older than their tolerance (180 s by default).
 */
import { createHmac } from 'node:crypto';
import type { EventBody } from './event-log.ts';

export const WEBHOOK_SIGNATURE_HEADER = 'WorkOS-Signature';

/** In the order WorkOS's documentation shows them. */
const WEBHOOK_FIELDS = ['event', 'id', 'data', 'created_at'] as const;

/**
 * The webhook body of an event. A raw event (`POST /_emulator/events`) keeps whichever of the four
 * fields it has, whatever their values: a malformed event makes a malformed webhook.
 */
export function webhookBody(event: EventBody): string {
  const fields = event as Record<string, unknown>;
  const body: Record<string, unknown> = {};
  for (const field of WEBHOOK_FIELDS) if (fields[field] !== undefined) body[field] = fields[field];
  return JSON.stringify(body);
}

/** The `WorkOS-Signature` value for `body` signed at `timestampMs` with `secret`. */
export function webhookSignature(secret: string, timestampMs: number, body: string): string {
  const digest = createHmac('sha256', secret).update(`${timestampMs}.${body}`, 'utf8').digest('hex');
  return `t=${timestampMs}, v1=${digest}`;
}
