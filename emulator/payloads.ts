/**
 * The emulator's record of a connection and the wire shapes built from it. Wire objects are built
 * fresh on every call, so an event keeps the connection as it was when the event was emitted.
 */
import type {
  CertificateType,
  ConnectionState,
  WireConnection,
  WireConnectionDomain,
  WireConnectionEvent,
} from '../src/workos/wire.ts';
import type { StoredSigningCertificate } from './signing-certs.ts';

export type ConnectionType = WireConnection['connection_type'];

export interface ConnectionRecord {
  id: string;
  organizationId: string | undefined;
  connectionType: ConnectionType;
  name: string;
  state: ConnectionState;
  domains: WireConnectionDomain[];
  /** Required by the spec in activated/deactivated payloads, absent from List Connections. */
  externalKey: string;
  createdAt: string;
  updatedAt: string;
  /** SAML connections only (always null for others); rendered into `options.signing_cert`. */
  signingCert: StoredSigningCertificate;
  /** Creation time in ms and insertion sequence: the listing's sort key. */
  createdMs: number;
  seq: number;
}

export type ActivationPayload = WireConnectionEvent<'connection.activated'>['data'];
export type DeletionPayload = WireConnectionEvent<'connection.deleted'>['data'] & {
  domains?: WireConnectionDomain[];
  external_key?: string;
  status?: 'linked' | 'unlinked';
};

/** WorkOS puts `options.signing_cert` on SAML connections only; their type names end in `SAML`. */
export function isSamlType(type: string): boolean {
  return type.endsWith('SAML');
}

function statusOf(state: ConnectionState): 'linked' | 'unlinked' {
  return state === 'active' ? 'linked' : 'unlinked';
}

function copyDomains(record: ConnectionRecord): WireConnectionDomain[] {
  return record.domains.map((d) => ({ id: d.id, object: 'connection_domain', domain: d.domain }));
}

/**
 * The Connection object as List Connections and Get Connection return it, except that a SAML
 * connection's `options.signing_cert` is always null here: its PEM is made asynchronously when a
 * response is rendered (`fillSigningCerts` in `signing-cert-pems.ts`; the HTTP routes do it). Compare
 * certificates through `WorkosModel.signingCertificate(id)`.
 */
export function toWireConnection(record: ConnectionRecord): WireConnection {
  return {
    object: 'connection',
    id: record.id,
    ...(record.organizationId !== undefined && { organization_id: record.organizationId }),
    connection_type: record.connectionType,
    name: record.name,
    state: record.state,
    status: statusOf(record.state),
    domains: copyDomains(record),
    ...(isSamlType(record.connectionType) && { options: { signing_cert: null } }),
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  };
}

/**
 * `data` of connection.activated / connection.deactivated. The event schema's enums leave out
 * `requires_type` and `Pending`; the model can still emit them (tests of odd payloads), hence the
 * casts.
 */
export function toActivationPayload(record: ConnectionRecord): ActivationPayload {
  return {
    object: 'connection',
    id: record.id,
    ...(record.organizationId !== undefined && { organization_id: record.organizationId }),
    state: record.state as ActivationPayload['state'],
    name: record.name,
    connection_type: record.connectionType as ActivationPayload['connection_type'],
    external_key: record.externalKey,
    status: statusOf(record.state),
    domains: copyDomains(record),
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  };
}

/** `data` of connection.deleted: the connection as it was, `domains` optionally left out. */
export function toDeletionPayload(record: ConnectionRecord, withDomains: boolean): DeletionPayload {
  const { domains, ...rest } = toActivationPayload(record);
  return withDomains ? { ...rest, domains } : rest;
}

export type RenewedPayload = WireConnectionEvent<'connection.saml_certificate_renewed'>['data'];
export type RenewalRequiredPayload =
  WireConnectionEvent<'connection.saml_certificate_renewal_required'>['data'];

const DAY_MS = 86_400_000;

/** Whole days from `at` until `expiry`, floored, never negative. */
export function daysUntilExpiry(expiry: Date, at: Date): number {
  return Math.max(0, Math.floor((expiry.getTime() - at.getTime()) / DAY_MS));
}

function connectionRef(record: ConnectionRecord): { id: string; organization_id?: string } {
  return record.organizationId === undefined
    ? { id: record.id }
    : { id: record.id, organization_id: record.organizationId };
}

export function toRenewedPayload(
  record: ConnectionRecord,
  certificateType: CertificateType,
  expiry: Date,
  at: Date,
): RenewedPayload {
  return {
    connection: connectionRef(record),
    certificate: { certificate_type: certificateType, expiry_date: expiry.toISOString() },
    renewed_at: at.toISOString(),
  };
}

/** Counted from the event time `at`: expired ⇔ expiry ≤ at. */
export function toRenewalRequiredPayload(
  record: ConnectionRecord,
  certificateType: CertificateType,
  expiry: Date,
  at: Date,
): RenewalRequiredPayload {
  return {
    connection: connectionRef(record),
    certificate: {
      certificate_type: certificateType,
      expiry_date: expiry.toISOString(),
      is_expired: expiry.getTime() <= at.getTime(),
    },
    days_until_expiry: daysUntilExpiry(expiry, at),
  };
}
