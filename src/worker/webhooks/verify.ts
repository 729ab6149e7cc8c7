/**
 * Whether a webhook body really comes from WorkOS, decided by the SDK's own verification
 * (`workos.webhooks.verifyHeader`, the check `constructEvent` runs first: the HMAC-SHA256 of
 * `<t>.<body>` keyed with the secret, compared in constant time, and `t` no older than the SDK's
 * default tolerance of 180 s).
 *
 * Byte-exact: the SDK HMACs `payload` as it gets it — a string as is, a parsed object re-serialised
 * with JSON.stringify (not the bytes WorkOS signed), a Buffer decoded leniently (invalid bytes
 * become U+FFFD, so different bytes could verify alike). So the raw bytes are decoded strictly
 * here — a body that is not valid UTF-8 is refused — and the SDK gets that string, whose UTF-8
 * encoding, the bytes it HMACs, is exactly the bytes received.
 *
 * `constructEvent` itself is not used: after verifying, it deserialises the body into the SDK's
 * typed event and throws a TypeError on a shape it does not expect, and a nudge needs only the id
 * and the type; the poller validates what the Events API serves.
 */
import { SignatureVerificationException, type WorkOS } from '@workos-inc/node';
import type { WebhookResult } from '../metrics.ts';

export type WebhookVerifier = Pick<WorkOS['webhooks'], 'verifyHeader'>;

export type Verdict =
  | { readonly result: 'accepted'; readonly eventId: string; readonly event: string }
  | { readonly result: Exclude<WebhookResult, 'accepted'> };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decode(bytes: Buffer): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The SDK says which check failed only in its message; an old `t` is a replay or a slow retry. */
function refusal(error: unknown): Verdict {
  const stale = error instanceof SignatureVerificationException && /tolerance/i.test(error.message);
  return { result: stale ? 'stale' : 'bad_signature' };
}

function identify(text: string): Verdict {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { result: 'bad_body' };
  }
  const { id, event } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof id !== 'string' || id === '' || typeof event !== 'string' || event === '')
    return { result: 'bad_body' };
  return { result: 'accepted', eventId: id, event };
}

export async function verifyWebhook(
  verifier: WebhookVerifier,
  secret: string,
  bytes: Buffer,
  sigHeader: string | undefined,
): Promise<Verdict> {
  if (sigHeader === undefined || sigHeader.trim() === '') return { result: 'missing_signature' };
  const payload = decode(bytes);
  if (payload === undefined) return { result: 'bad_body' };
  try {
    if ((await verifier.verifyHeader({ payload, sigHeader, secret })) !== true)
      return { result: 'bad_signature' };
  } catch (error) {
    return refusal(error);
  }
  return identify(payload);
}
