/**
 * What the mirror keeps of a WorkOS payload: all of it, except an organization domain's
 * `verification_token`. That token is what a customer's DNS admin publishes to prove the domain;
 * it is not an API secret, but no query, view or hook of the mirror reads it, and a copy in the
 * application's database (and its backups and replicas) is one more place it could be read from
 * while the verification is pending. So it is dropped before anything is stored: from
 * `events.data`, from `organizations.raw`, and from the payloads hooks see. Whoever needs it
 * asks WorkOS (Get Organization Domain). Only organization payloads carry it.
 */

const TOKEN = 'verification_token';

/** `value` without any `verification_token` key, at any depth; `value` itself when it has none. */
export function withoutVerificationTokens<T>(value: T): T {
  return hasToken(value) ? (strip(value) as T) : value;
}

/** Whether an event's payload may carry a token: organizations' and their domains' events. */
export function mayCarryVerificationToken(eventType: string): boolean {
  return eventType.startsWith('organization');
}

function hasToken(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasToken);
  if (typeof value !== 'object' || value === null) return false;
  return Object.hasOwn(value, TOKEN) || Object.values(value).some(hasToken);
}

function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== TOKEN)
      .map(([key, v]) => [key, strip(v)]),
  );
}
