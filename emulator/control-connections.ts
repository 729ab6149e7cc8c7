/**
 * The control API's connection endpoints (`/_emulator/connections/…`): create, edit, activate,
 * deactivate, delete, and the two certificate events. A connection that is not live is 404; every
 * answer carries the connection with its SAML signing certificate rendered, and the event the
 * mutation appended when WorkOS would emit one. A connection of an organisation the model knows
 * lists that organisation's domains, so giving it `domains` is a 400.
 */
import type { CertificateType, WireConnection } from '../src/workos/wire.ts';
import { certificateBody, createBody, editBody, noBody, parse } from './control-bodies.ts';
import { type ControlHandler, ControlRequestError } from './control-request.ts';
import { EmulatorRequestError } from './errors.ts';
import type { WorkosModel } from './model.ts';
import { type ConnectionType, isSamlType } from './payloads.ts';
import { fillSigningCerts } from './signing-cert-pems.ts';
import type { SigningCertificateInput } from './signing-certs.ts';

const DAY_MS = 86_400_000;

const CERTIFICATE_TYPES = [
  'ResponseSigning',
  'RequestSigning',
  'ResponseEncryption',
] as const satisfies readonly CertificateType[];

/** The connection with its SAML signing certificate rendered, read now (before any await). */
function renderConnection(model: WorkosModel, connection: WireConnection): Promise<WireConnection> {
  const certificate = connection.options ? model.signingCertificate(connection.id) : null;
  return renderWith(model, connection, certificate);
}

async function renderWith(
  model: WorkosModel,
  connection: WireConnection,
  certificate: ReturnType<WorkosModel['signingCertificate']>,
): Promise<WireConnection> {
  await fillSigningCerts([connection], () => certificate, model.clock());
  return connection;
}

function liveConnection(model: WorkosModel, id: string): WireConnection {
  try {
    return model.getConnection(id);
  } catch (error) {
    if (error instanceof EmulatorRequestError && error.status === 404) throw connectionNotFound(id);
    throw error;
  }
}

function connectionNotFound(id: string): ControlRequestError {
  return new ControlRequestError(404, `Connection not found: '${id}' (never created, or deleted).`);
}

function certificateTypeOf(raw: string): CertificateType {
  const type = CERTIFICATE_TYPES.find((t) => t === raw);
  if (!type)
    throw new ControlRequestError(
      400,
      `Unknown certificate type '${raw}': must be one of ${CERTIFICATE_TYPES.join(', ')}`,
    );
  return type;
}

function requireSaml(connection: WireConnection, what: string): void {
  if (!isSamlType(connection.connection_type))
    throw new ControlRequestError(
      400,
      `Connection ${connection.id} is ${connection.connection_type}: only SAML connections have ${what}`,
    );
}

function signingCertificateInput(notAfter: Date | null): SigningCertificateInput {
  return notAfter === null ? null : { notAfter };
}

/** Refuses `domains` for a connection of a known organisation: it lists the organisation's. */
function refuseOwnDomains(model: WorkosModel, organizationId: string | null | undefined): void {
  if (typeof organizationId !== 'string' || !model.hasOrganization(organizationId)) return;
  throw new ControlRequestError(
    400,
    `Invalid request body: domains: the connections of organization ${organizationId} list its domains; change them with POST /_emulator/organizations/${organizationId}/domains and DELETE /_emulator/organization_domains/:id`,
  );
}

export const createConnection: ControlHandler = async ({ target: { model }, body }) => {
  const input = parse(createBody, body);
  if (input.domains !== undefined) refuseOwnDomains(model, input.organization_id);
  const type = (input.connection_type ?? 'OktaSAML') as ConnectionType;
  const notAfter = input.signing_certificate_not_after;
  if (notAfter != null && !isSamlType(type))
    throw new ControlRequestError(
      400,
      `Invalid request body: signing_certificate_not_after: only SAML connections (a connection_type ending in SAML) have a signing certificate, not ${type}`,
    );
  const connection = model.createConnection({
    organizationId: input.organization_id,
    connectionType: type,
    name: input.name,
    domains: input.domains,
    state: input.state,
    signingCertificate: signingCertificateInput(notAfter ?? null),
  });
  return { status: 201, body: { connection: await renderConnection(model, connection) } };
};

export const editConnection: ControlHandler = async ({ target: { model }, params: [id = ''], body }) => {
  const input = parse(editBody, body);
  if (Object.keys(input).length === 0)
    throw new ControlRequestError(
      400,
      'Invalid request body: nothing to change (give name, domains, state or signing_certificate_not_after)',
    );
  const current = liveConnection(model, id);
  if (input.signing_certificate_not_after !== undefined) requireSaml(current, 'a signing certificate');
  if (input.domains !== undefined) refuseOwnDomains(model, current.organization_id);
  // Everything is validated: apply every change at one instant (one updated_at), synchronously.
  const at = model.clock();
  let connection = current;
  if (input.name !== undefined) connection = model.rename(id, input.name, at);
  if (input.domains !== undefined) connection = model.setDomains(id, input.domains, at);
  if (input.state !== undefined) connection = model.setState(id, input.state, at);
  if (input.signing_certificate_not_after !== undefined)
    connection = model.setSigningCertificate(
      id,
      signingCertificateInput(input.signing_certificate_not_after),
      at,
    );
  return { status: 200, body: { connection: await renderConnection(model, connection) } };
};

export const toggleConnection =
  (action: 'activate' | 'deactivate'): ControlHandler =>
  async ({ target: { model }, params: [id = ''], body }) => {
    parse(noBody, body);
    liveConnection(model, id);
    const event = action === 'activate' ? model.activate(id) : model.deactivate(id);
    const connection = model.getConnection(id);
    return { status: 200, body: { connection: await renderConnection(model, connection), event } };
  };

/** Answers with the connection as it was, so its certificate is read before the model forgets it. */
export const deleteConnection: ControlHandler = async ({ target: { model }, params: [id = ''], body }) => {
  parse(noBody, body);
  const connection = liveConnection(model, id);
  const certificate = connection.options ? model.signingCertificate(id) : null;
  const event = model.deleteConnection(id);
  return { status: 200, body: { connection: await renderWith(model, connection, certificate), event } };
};

export const certificateEvent =
  (action: 'renew' | 'require-renewal'): ControlHandler =>
  async ({ target: { model }, params: [id = '', rawType = ''], body }) => {
    const input = parse(certificateBody, body);
    const type = certificateTypeOf(rawType);
    requireSaml(liveConnection(model, id), 'SAML certificates');
    const at = model.clock();
    const expiry = input.expiry_date ?? new Date(at.getTime() + (action === 'renew' ? 365 : 30) * DAY_MS);
    const event =
      action === 'renew'
        ? model.renewCertificate(id, type, expiry, at)
        : model.requireCertificateRenewal(id, type, expiry, at);
    const connection = model.getConnection(id);
    return { status: 200, body: { connection: await renderConnection(model, connection), event } };
  };
