/**
 * The control API's request bodies for connections and raw events, and `parse`, which every
 * endpoint uses to validate one. Bodies are strict: an unknown field is a 400 naming it, so a typo
 * in a curl command fails loudly instead of being ignored.
 */
import { z } from 'zod';
import type { ConnectionState } from '../src/workos/wire.ts';
import { ControlRequestError } from './control-request.ts';

const CONNECTION_STATES = [
  'requires_type',
  'draft',
  'active',
  'validating',
  'inactive',
  'deleting',
] as const satisfies readonly ConnectionState[];

const isoDate = z
  .string({ error: 'must be an ISO 8601 date-time string, e.g. "2027-01-31T00:00:00Z"' })
  .refine((value) => Number.isFinite(Date.parse(value)), {
    error: 'must be an ISO 8601 date-time string, e.g. "2027-01-31T00:00:00Z"',
  })
  .transform((value) => new Date(Date.parse(value)));

const DOMAIN =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i;

const DOMAIN_RULE = 'must be a domain name such as "foo-corp.com"';

/** One domain name, required (organisation domains). */
export const domainName = z.string({ error: DOMAIN_RULE }).regex(DOMAIN, { error: DOMAIN_RULE });

const domainsField = z
  .array(z.string().regex(DOMAIN, { error: DOMAIN_RULE }), {
    error: 'must be an array of domain names',
  })
  .max(100)
  .refine((list) => new Set(list.map((d) => d.toLowerCase())).size === list.length, {
    error: 'must not list a domain twice',
  });

export const nameField = z
  .string({ error: 'must be a string' })
  .trim()
  .min(1, { error: 'must not be empty' })
  .max(500);
const stateField = z.enum(CONNECTION_STATES, { error: `must be one of ${CONNECTION_STATES.join(', ')}` });

export const createBody = z.strictObject({
  organization_id: z
    .string({ error: 'must be a string or null' })
    .min(1, { error: 'must not be empty' })
    .nullable()
    .optional(),
  connection_type: z
    .string({ error: 'must be a string' })
    .regex(/^[A-Za-z][A-Za-z0-9]*$/, {
      error: 'must be a WorkOS connection type such as OktaSAML, AzureSAML, GoogleOAuth or GenericOIDC',
    })
    .optional(),
  name: nameField.optional(),
  domains: domainsField.optional(),
  state: stateField.optional(),
  signing_certificate_not_after: isoDate.nullable().optional(),
});

export const editBody = z.strictObject({
  name: nameField.optional(),
  domains: domainsField.optional(),
  state: stateField.optional(),
  signing_certificate_not_after: isoDate.nullable().optional(),
});

export const certificateBody = z.strictObject({ expiry_date: isoDate.optional() });
export const noBody = z.strictObject({});
export const rawEventBody = z.record(z.string(), z.unknown(), { error: 'must be a JSON object' });

/**
 * One line naming every failing field. Unlike the sync's `describeIssues` (workos/schemas.ts), it
 * names unknown fields, which only strict bodies produce.
 */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((k) => (where ? `${where}.${k}` : k));
        return `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}`;
      }
      return where ? `${where}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** The body as `schema` outputs it, or a 400 naming what is wrong. */
export function parse<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const result = schema.safeParse(body);
  if (!result.success)
    throw new ControlRequestError(400, `Invalid request body: ${describeIssues(result.error)}`);
  return result.data;
}
