/** The registry: event name → handler. A name not listed here is recorded as `ignored`. */
import type { SyncedEventType } from '../../../workos/wire.ts';
import { certificateRenewalRequiredHandler, certificateRenewedHandler } from './certificate.ts';
import { connectionDeleted, connectionUpsert } from './connection.ts';
import { organizationDeleted, organizationUpdated, organizationUpsert } from './organization.ts';
import {
  organizationDomainDeleted,
  organizationDomainUpsert,
  organizationDomainVerificationFailed,
} from './organization-domain.ts';
import type { EventHandler } from './types.ts';

// biome-ignore lint/suspicious/noExplicitAny: each entry carries its own payload type.
export const handlers: Readonly<Record<SyncedEventType, EventHandler<any>>> = Object.freeze({
  'connection.activated': connectionUpsert,
  'connection.deactivated': connectionUpsert,
  'connection.deleted': connectionDeleted,
  'connection.saml_certificate_renewed': certificateRenewedHandler,
  'connection.saml_certificate_renewal_required': certificateRenewalRequiredHandler,
  'organization.created': organizationUpsert,
  'organization.updated': organizationUpdated,
  'organization.deleted': organizationDeleted,
  'organization_domain.created': organizationDomainUpsert,
  'organization_domain.updated': organizationDomainUpsert,
  'organization_domain.verified': organizationDomainUpsert,
  'organization_domain.verification_failed': organizationDomainVerificationFailed,
  'organization_domain.deleted': organizationDomainDeleted,
});

// biome-ignore lint/suspicious/noExplicitAny: see above.
export function handlerFor(eventName: string): EventHandler<any> | undefined {
  return Object.hasOwn(handlers, eventName) ? handlers[eventName as SyncedEventType] : undefined;
}

export type { Decision, EventHandler, HandledEvent, Touches } from './types.ts';
