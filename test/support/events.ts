/** Builders of wire-format events for tests that drive the apply step directly. */
let counter = 0;

export function nextId(): string {
  counter++;
  return `event_test_${String(counter).padStart(8, '0')}`;
}

export interface ConnectionFields {
  id?: string;
  organization_id?: string;
  state?: string;
  name?: string;
  connection_type?: string;
  updated_at: string;
  created_at?: string;
  domains?: { id: string; domain: string; object?: string }[] | undefined;
}

export function connectionEvent(
  event: 'connection.activated' | 'connection.deactivated' | 'connection.deleted',
  fields: ConnectionFields,
  envelope: { id?: string; created_at?: string } = {},
) {
  const data = {
    object: 'connection',
    id: fields.id ?? 'conn_1',
    organization_id: fields.organization_id ?? 'org_1',
    state: fields.state ?? (event === 'connection.deactivated' ? 'inactive' : 'active'),
    connection_type: fields.connection_type ?? 'OktaSAML',
    name: fields.name ?? 'Foo Corp',
    created_at: fields.created_at ?? '2024-01-01T00:00:00.000Z',
    updated_at: fields.updated_at,
    ...(fields.domains === undefined
      ? {}
      : { domains: fields.domains.map((d) => ({ object: 'connection_domain', ...d })) }),
  };
  return {
    object: 'event',
    id: envelope.id ?? nextId(),
    event,
    data,
    created_at: envelope.created_at ?? fields.updated_at,
    context: {},
  };
}

export interface CertificateFields {
  connection_id?: string;
  certificate_type?: string;
  expiry_date: string;
  /** The event's time; a renewal's `renewed_at` too. */
  created_at: string;
  /** `days_until_expiry` of a renewal notice (default 10). */
  days?: number;
  /** `certificate.is_expired` of a renewal notice (default false). */
  is_expired?: boolean;
}

export function certificateEvent(
  event: 'connection.saml_certificate_renewed' | 'connection.saml_certificate_renewal_required',
  fields: CertificateFields,
  envelope: { id?: string } = {},
) {
  const connection = { id: fields.connection_id ?? 'conn_1', organization_id: 'org_1' };
  const certificate = {
    certificate_type: fields.certificate_type ?? 'ResponseSigning',
    expiry_date: fields.expiry_date,
  };
  const data =
    event === 'connection.saml_certificate_renewed'
      ? { connection, certificate, renewed_at: fields.created_at }
      : {
          connection,
          certificate: { ...certificate, is_expired: fields.is_expired ?? false },
          days_until_expiry: fields.days ?? 10,
        };
  return {
    object: 'event',
    id: envelope.id ?? nextId(),
    event,
    data,
    created_at: fields.created_at,
    context: {},
  };
}

/** `connection.saml_certificate_renewed`: {@link certificateEvent} with the event type filled in. */
export function certificateRenewed(
  fields: Omit<CertificateFields, 'days' | 'is_expired'>,
  envelope: { id?: string } = {},
) {
  return certificateEvent('connection.saml_certificate_renewed', fields, envelope);
}

/** `connection.saml_certificate_renewal_required`: {@link certificateEvent} with the event type filled in. */
export function certificateRenewalRequired(fields: CertificateFields, envelope: { id?: string } = {}) {
  return certificateEvent('connection.saml_certificate_renewal_required', fields, envelope);
}

/**
 * An envelope around `data` taken as is (and no `context`): for event types the apply step does
 * not know, and payloads it must quarantine.
 */
export function rawEvent(event: string, data: unknown, envelope: { id?: string; created_at: string }) {
  return { object: 'event', id: envelope.id ?? nextId(), event, data, created_at: envelope.created_at };
}

export interface DomainFields {
  id?: string;
  organization_id?: string;
  domain?: string;
  state?: string;
  verification_strategy?: string;
  updated_at: string;
  created_at?: string;
}

/** An organization domain as WorkOS sends it, `verification_token` included. */
export function organizationDomain(fields: DomainFields) {
  return {
    object: 'organization_domain',
    id: fields.id ?? 'org_domain_1',
    organization_id: fields.organization_id ?? 'org_1',
    domain: fields.domain ?? 'foo-corp.com',
    state: fields.state ?? 'pending',
    verification_strategy: fields.verification_strategy ?? 'dns',
    verification_prefix: 'workos-domain-verification-ab12cd',
    verification_token: 'm5Oztg3jdK4NJLgs8uIlIprMw',
    created_at: fields.created_at ?? '2024-01-01T00:00:00.000Z',
    updated_at: fields.updated_at,
  };
}

export function domainEvent(
  event:
    | 'organization_domain.created'
    | 'organization_domain.updated'
    | 'organization_domain.verified'
    | 'organization_domain.verification_failed'
    | 'organization_domain.deleted',
  fields: DomainFields,
  envelope: { id?: string; created_at?: string } = {},
) {
  const domain = organizationDomain(fields);
  const data =
    event === 'organization_domain.verification_failed'
      ? { reason: 'domain_verification_period_expired', organization_domain: domain }
      : domain;
  return {
    object: 'event',
    id: envelope.id ?? nextId(),
    event,
    data,
    created_at: envelope.created_at ?? fields.updated_at,
    context: {},
  };
}

export interface OrganizationFields {
  id?: string;
  name?: string;
  external_id?: string | null;
  updated_at: string;
  created_at?: string;
  /** Each as {@link organizationDomain} builds it; `organization_id` defaults to the organization's. */
  domains?: DomainFields[];
}

export function organizationEvent(
  event: 'organization.created' | 'organization.updated' | 'organization.deleted',
  fields: OrganizationFields,
  envelope: { id?: string; created_at?: string } = {},
) {
  const id = fields.id ?? 'org_1';
  const data = {
    object: 'organization',
    id,
    name: fields.name ?? 'Foo Corp',
    external_id: fields.external_id ?? null,
    metadata: {},
    domains: (fields.domains ?? []).map((d) => organizationDomain({ organization_id: id, ...d })),
    created_at: fields.created_at ?? '2024-01-01T00:00:00.000Z',
    updated_at: fields.updated_at,
  };
  return {
    object: 'event',
    id: envelope.id ?? nextId(),
    event,
    data,
    created_at: envelope.created_at ?? fields.updated_at,
    context: {},
  };
}
