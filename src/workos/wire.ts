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
export type WireEvent = Schemas['EventSchema'];
export type WireEventList = Schemas['EventList'];

export const CONNECTION_EVENT_TYPES = [
  'connection.activated',
  'connection.deactivated',
  'connection.deleted',
  'connection.saml_certificate_renewed',
  'connection.saml_certificate_renewal_required',
] as const;

export type ConnectionEventType = (typeof CONNECTION_EVENT_TYPES)[number];

export type WireConnectionEvent<T extends ConnectionEventType = ConnectionEventType> = Extract<
  WireEvent,
  { event: T }
>;

export type ConnectionState = WireConnection['state'];
export type CertificateType =
  WireConnectionEvent<'connection.saml_certificate_renewed'>['data']['certificate']['certificate_type'];
