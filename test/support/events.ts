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

export function certificateEvent(
  event: 'connection.saml_certificate_renewed' | 'connection.saml_certificate_renewal_required',
  fields: {
    connection_id?: string;
    certificate_type?: string;
    expiry_date: string;
    created_at: string;
    days?: number;
    is_expired?: boolean;
  },
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
