/** The registry: event name → handler. A name not listed here is recorded as `ignored`. */
import type { ConnectionEventType } from '../../workos/wire.ts';
import { certificateRenewalRequiredHandler, certificateRenewedHandler } from './certificate.ts';
import { connectionDeleted, connectionUpsert } from './connection.ts';
import type { EventHandler } from './types.ts';

// biome-ignore lint/suspicious/noExplicitAny: each entry carries its own payload type.
export const handlers: Readonly<Record<ConnectionEventType, EventHandler<any>>> = Object.freeze({
  'connection.activated': connectionUpsert,
  'connection.deactivated': connectionUpsert,
  'connection.deleted': connectionDeleted,
  'connection.saml_certificate_renewed': certificateRenewedHandler,
  'connection.saml_certificate_renewal_required': certificateRenewalRequiredHandler,
});

// biome-ignore lint/suspicious/noExplicitAny: see above.
export function handlerFor(eventName: string): EventHandler<any> | undefined {
  return Object.hasOwn(handlers, eventName) ? handlers[eventName as ConnectionEventType] : undefined;
}

export type { Decision, EventHandler, HandledEvent, Touches } from './types.ts';
