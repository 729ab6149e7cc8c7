/**
 * The WorkOS wire format, taken from WorkOS's own published contract (`@workos/openapi-spec`)
 * rather than written by hand. These are the shapes the API sends; the runtime schemas in
 * `schemas.ts` accept them (and are lenient where WorkOS's documented examples are).
 */
import type { components } from '@workos/openapi-spec';

type Schemas = components['schemas'];

export type WireConnection = Schemas['Connection'];
export type WireConnectionDomain = WireConnection['domains'][number];
export type WireConnectionList = Schemas['ConnectionList'];
export type WireOrganization = Schemas['Organization'];
export type WireOrganizationDomain = WireOrganization['domains'][number];
export type WireOrganizationList = Schemas['OrganizationList'];
export type WireEvent = Schemas['EventSchema'];
export type WireEventList = Schemas['EventList'];

export const CONNECTION_EVENT_TYPES = [
  'connection.activated',
  'connection.deactivated',
  'connection.deleted',
  'connection.saml_certificate_renewed',
  'connection.saml_certificate_renewal_required',
] as const;

export const ORGANIZATION_EVENT_TYPES = [
  'organization.created',
  'organization.updated',
  'organization.deleted',
  'organization_domain.created',
  'organization_domain.updated',
  'organization_domain.deleted',
  'organization_domain.verified',
  'organization_domain.verification_failed',
] as const;

/** Every event type the mirror reads, on one stream: the `events` filter of every page. */
export const SYNCED_EVENT_TYPES = [...CONNECTION_EVENT_TYPES, ...ORGANIZATION_EVENT_TYPES] as const;

export type ConnectionEventType = (typeof CONNECTION_EVENT_TYPES)[number];
export type OrganizationEventType = (typeof ORGANIZATION_EVENT_TYPES)[number];
export type SyncedEventType = (typeof SYNCED_EVENT_TYPES)[number];

export type WireConnectionEvent<T extends ConnectionEventType = ConnectionEventType> = Extract<
  WireEvent,
  { event: T }
>;
export type WireOrganizationEvent<T extends OrganizationEventType = OrganizationEventType> = Extract<
  WireEvent,
  { event: T }
>;

export type ConnectionState = WireConnection['state'];
export type OrganizationDomainState = NonNullable<WireOrganizationDomain['state']>;
export type OrganizationDomainStrategy = NonNullable<WireOrganizationDomain['verification_strategy']>;
export type DomainVerificationFailure =
  WireOrganizationEvent<'organization_domain.verification_failed'>['data']['reason'];
export type CertificateType =
  WireConnectionEvent<'connection.saml_certificate_renewed'>['data']['certificate']['certificate_type'];
