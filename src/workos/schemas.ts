/**
 * Runtime schemas of the wire format. They are lenient where WorkOS's own documentation is
 * (examples omit `object`, `status`, `external_key`; timestamps lack a `T` or zone) and strict
 * where the mirror depends on a field. States and connection types are open sets: WorkOS adds
 * values, and a new one must not quarantine an event.
 */
import { z } from 'zod';
import { parseWorkosTimestamp } from '../time.ts';

export const timestamp = z.string().transform((value, ctx) => {
  const date = parseWorkosTimestamp(value);
  if (date === null) {
    ctx.addIssue({ code: 'custom', message: `not a timestamp: "${value}"` });
    return z.NEVER;
  }
  return date;
});

const nonEmpty = z.string().min(1);

export const eventEnvelope = z
  .object({
    id: nonEmpty,
    event: nonEmpty,
    data: z.unknown(),
    created_at: timestamp,
    context: z.record(z.string(), z.unknown()).nullish(),
  })
  .loose();

export const connectionDomain = z.object({ id: nonEmpty, domain: nonEmpty }).loose();

export const connection = z
  .object({
    id: nonEmpty,
    organization_id: z.string().nullish(),
    connection_type: nonEmpty,
    name: z.string(),
    state: nonEmpty,
    created_at: timestamp.nullish(),
    updated_at: timestamp,
    domains: z.array(connectionDomain).optional(),
  })
  .loose();

const certificateOwner = z.object({ id: nonEmpty, organization_id: z.string().nullish() }).loose();

export const certificateRenewed = z
  .object({
    connection: certificateOwner,
    certificate: z.object({ certificate_type: nonEmpty, expiry_date: timestamp }).loose(),
    renewed_at: timestamp,
  })
  .loose();

export const certificateRenewalRequired = z
  .object({
    connection: certificateOwner,
    certificate: z
      .object({ certificate_type: nonEmpty, expiry_date: timestamp, is_expired: z.boolean().optional() })
      .loose(),
    days_until_expiry: z.number().int().nullish(),
  })
  .loose();

export type EventEnvelope = z.infer<typeof eventEnvelope>;
export type ParsedConnection = z.infer<typeof connection>;
export type ParsedCertificateRenewed = z.infer<typeof certificateRenewed>;
export type ParsedCertificateRenewalRequired = z.infer<typeof certificateRenewalRequired>;

/** One readable line from a schema failure: `data.updated_at: not a timestamp: "yesterday"`. */
export function describeIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
      return `${path || '(event)'}: ${issue.message}`;
    })
    .join('; ');
}
