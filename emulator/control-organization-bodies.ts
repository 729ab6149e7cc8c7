/**
 * The control API's request bodies for organisations and organisation domains. Like the
 * connection bodies (`control-bodies.ts`) they are strict, and each takes `silent: true` to make
 * the change without an event (WorkOS changed it and no event reached anyone).
 */
import { z } from 'zod';
import type {
  DomainVerificationFailure,
  OrganizationDomainState,
  OrganizationDomainStrategy,
} from '../src/workos/wire.ts';
import { domainName, nameField } from './control-bodies.ts';

const DOMAIN_STATES = [
  'pending',
  'verified',
  'failed',
  'unverified',
  'legacy_verified',
] as const satisfies readonly OrganizationDomainState[];
const STRATEGIES = ['dns', 'manual'] as const satisfies readonly OrganizationDomainStrategy[];
const FAILURES = [
  'domain_verification_period_expired',
  'domain_verified_by_other_organization',
] as const satisfies readonly DomainVerificationFailure[];

const oneOf = (values: readonly string[]) => `must be one of ${values.join(', ')}`;
const stateField = z.enum(DOMAIN_STATES, { error: oneOf(DOMAIN_STATES) });
const strategyField = z.enum(STRATEGIES, { error: oneOf(STRATEGIES) });
const silentField = z.boolean({ error: 'must be true or false' }).optional();
const externalIdField = z
  .string({ error: 'must be a string or null' })
  .min(1, { error: 'must not be empty' })
  .max(500)
  .nullable();

const ENTRY_RULE = 'must be a domain name or { domain, state?, verification_strategy? }';

/** A bare name reads as `{ domain }`, so both forms are checked (and reported) field by field. */
const domainEntry = z.preprocess(
  (value) => (typeof value === 'string' ? { domain: value } : value),
  z.strictObject(
    { domain: domainName, state: stateField.optional(), verification_strategy: strategyField.optional() },
    { error: ENTRY_RULE },
  ),
);

export const createOrganizationBody = z.strictObject({
  id: z
    .string({ error: 'must be a string' })
    .regex(/^[A-Za-z0-9_-]{1,200}$/, { error: 'must be letters, digits, "_" or "-", e.g. "org_foo_corp"' })
    .optional(),
  name: nameField.optional(),
  external_id: externalIdField.optional(),
  domains: z
    .array(domainEntry, { error: `must be an array: each entry ${ENTRY_RULE}` })
    .max(100)
    .refine(
      (list) => {
        const names = list.map((d) => d.domain.toLowerCase());
        return new Set(names).size === names.length;
      },
      { error: 'must not list a domain twice' },
    )
    .optional(),
  silent: silentField,
});

export const editOrganizationBody = z.strictObject({
  name: nameField.optional(),
  external_id: externalIdField.optional(),
  silent: silentField,
});

export const addDomainBody = z.strictObject({
  domain: domainName,
  state: stateField.optional(),
  verification_strategy: strategyField.optional(),
  silent: silentField,
});

export const editDomainBody = z.strictObject({
  state: stateField.optional(),
  verification_strategy: strategyField.optional(),
  silent: silentField,
});

export const failDomainBody = z.strictObject({
  reason: z.enum(FAILURES, { error: oneOf(FAILURES) }).optional(),
  silent: silentField,
});

export const silentBody = z.strictObject({ silent: silentField });
