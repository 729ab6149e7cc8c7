/**
 * Runtime schemas of the wire format. They are lenient where WorkOS's own documentation is
 * (examples omit `object`, `status`, `external_key`; timestamps lack a `T` or zone) and strict
 * where the mirror depends on a field. States and connection types are open sets: WorkOS adds
 * values, and a new one must not quarantine an event.
 *
 * Unknown fields are accepted and left out of the parsed value (zod's default) rather than
 * copied into it (`.loose()`): what WorkOS sent is kept whole as the raw payload anyway, and
 * copying every field of every listed connection cost a third of the validation time.
 */
import { z } from 'zod';
import { parseWorkosTimestamp } from '../time.ts';

/** What WorkOS sends in practice; `Date` reads it as is, without the lenient parser's rewriting. */
const CANONICAL_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * `parseWorkosTimestamp`, with a fast path for the canonical form: every event carries three or
 * four timestamps, and this halves what they cost a backfill. Same result either way.
 */
export function parseTimestamp(value: string): Date | null {
  if (CANONICAL_TIMESTAMP.test(value)) {
    const date = new Date(value);
    if (!Number.isNaN(date.getTime())) return date;
  }
  return parseWorkosTimestamp(value);
}

export const timestamp = z.string().transform((value, ctx) => {
  const date = parseTimestamp(value);
  if (date === null) {
    ctx.addIssue({ code: 'custom', message: `not a timestamp: "${value}"` });
    return z.NEVER;
  }
  return date;
});

const nonEmpty = z.string().min(1);

export const eventEnvelope = z.object({
  id: nonEmpty,
  event: nonEmpty,
  data: z.unknown(),
  created_at: timestamp,
  context: z.record(z.string(), z.unknown()).nullish(),
});

export const connectionDomain = z.object({ id: nonEmpty, domain: nonEmpty });

export const connection = z.object({
  id: nonEmpty,
  organization_id: z.string().nullish(),
  connection_type: nonEmpty,
  name: z.string(),
  state: nonEmpty,
  created_at: timestamp.nullish(),
  updated_at: timestamp,
  domains: z.array(connectionDomain).optional(),
});

const certificateOwner = z.object({ id: nonEmpty, organization_id: z.string().nullish() });

export const certificateRenewed = z.object({
  connection: certificateOwner,
  certificate: z.object({ certificate_type: nonEmpty, expiry_date: timestamp }),
  renewed_at: timestamp,
});

export const certificateRenewalRequired = z.object({
  connection: certificateOwner,
  certificate: z.object({
    certificate_type: nonEmpty,
    expiry_date: timestamp,
    is_expired: z.boolean().optional(),
  }),
  days_until_expiry: z.number().int().nullish(),
});

/**
 * An organization domain, as `organization_domain.*` events and an Organization's `domains` carry
 * it. `state` and `verification_strategy` are optional in WorkOS's spec, and open sets here.
 * `verification_token` and `verification_prefix` are not read (see `redact.ts`).
 */
export const organizationDomain = z.object({
  id: nonEmpty,
  organization_id: nonEmpty,
  domain: nonEmpty,
  state: z.string().nullish(),
  verification_strategy: z.string().nullish(),
  created_at: timestamp.nullish(),
  updated_at: timestamp,
});

export const organization = z.object({
  id: nonEmpty,
  name: z.string(),
  external_id: z.string().nullish(),
  created_at: timestamp.nullish(),
  updated_at: timestamp,
  // Each domain names its organization in the spec; the organization it sits in is what counts.
  domains: z.array(organizationDomain.extend({ organization_id: z.string().nullish() })).optional(),
});

/** `organization_domain.verification_failed` alone wraps the domain, beside why it failed. */
export const domainVerificationFailed = z.object({
  reason: z.string().nullish(),
  organization_domain: organizationDomain,
});

export type EventEnvelope = z.infer<typeof eventEnvelope>;
export type ParsedConnection = z.infer<typeof connection>;
export type ParsedCertificateRenewed = z.infer<typeof certificateRenewed>;
export type ParsedCertificateRenewalRequired = z.infer<typeof certificateRenewalRequired>;
export type ParsedOrganization = z.infer<typeof organization>;
export type ParsedOrganizationDomain = z.infer<typeof organizationDomain>;
export type ParsedDomainVerificationFailed = z.infer<typeof domainVerificationFailed>;

/** One readable line from a schema failure: `data.updated_at: not a timestamp: "yesterday"`. */
export function describeIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
      return `${path || '(event)'}: ${issue.message}`;
    })
    .join('; ');
}
