/**
 * The control API's organisation endpoints (`/_emulator/organizations/…` and
 * `/_emulator/organization_domains/…`): create, edit and delete an organisation; add, verify, fail,
 * edit and remove a domain. Each emits the event WorkOS emits for it and answers with the object
 * and that event, unless the body says `"silent": true`: then the same change is made, no event is
 * appended, and the answer has no `event`. An organisation or domain that is not live is 404.
 */
import type { OrganizationDomainState, OrganizationDomainStrategy } from '../src/workos/wire.ts';
import { parse } from './control-bodies.ts';
import {
  addDomainBody,
  createOrganizationBody,
  editDomainBody,
  editOrganizationBody,
  failDomainBody,
  silentBody,
} from './control-organization-bodies.ts';
import { type ControlHandler, ControlRequestError } from './control-request.ts';
import type { EventBody } from './event-log.ts';
import type { WorkosModel } from './model.ts';
import type { OrganizationDomainInput, OrganizationDomainOptions } from './organization-factory.ts';
import type { RouteResult } from './routes.ts';

/** The object, and the event unless the change was silent. */
function answer(
  status: number,
  body: Record<string, unknown>,
  event: EventBody,
  silent?: boolean,
): RouteResult {
  return { status, body: silent ? body : { ...body, event } };
}

function organizationOf(model: WorkosModel, id: string) {
  if (!model.hasOrganization(id))
    throw new ControlRequestError(404, `Organization not found: '${id}' (never created, or deleted).`);
  return model.getOrganization(id);
}

function domainOf(model: WorkosModel, id: string) {
  try {
    return model.organizationDomain(id);
  } catch {
    throw new ControlRequestError(404, `Organization domain not found: '${id}' (never created, or removed).`);
  }
}

interface DomainFields {
  state?: OrganizationDomainState;
  verification_strategy?: OrganizationDomainStrategy;
}

/** The model's domain options from a body's snake_case fields. */
function domainOptions(body: DomainFields): OrganizationDomainOptions {
  return { state: body.state, verificationStrategy: body.verification_strategy };
}

function domainInput(entry: DomainFields & { domain: string }): OrganizationDomainInput {
  return { domain: entry.domain, ...domainOptions(entry) };
}

export const createOrganization: ControlHandler = ({ target: { model }, body }) => {
  const input = parse(createOrganizationBody, body);
  if (input.id !== undefined && model.organizationIdUsed(input.id))
    throw new ControlRequestError(
      409,
      `Organization ${input.id} already exists (or existed): pick another id`,
    );
  const event = model.createOrganization({
    id: input.id,
    name: input.name,
    externalId: input.external_id,
    domains: input.domains?.map(domainInput),
    silent: input.silent,
  });
  return answer(201, { organization: model.getOrganization(event.data.id) }, event, input.silent);
};

export const editOrganization: ControlHandler = ({ target: { model }, params: [id = ''], body }) => {
  const input = parse(editOrganizationBody, body);
  if (input.name === undefined && input.external_id === undefined)
    throw new ControlRequestError(400, 'Invalid request body: nothing to change (give name or external_id)');
  organizationOf(model, id);
  const event = model.updateOrganization(
    id,
    { name: input.name, externalId: input.external_id },
    { silent: input.silent },
  );
  return answer(200, { organization: model.getOrganization(id) }, event, input.silent);
};

/** Deletes the organisation's connections first; answers with their ids and the organisation as it was. */
export const deleteOrganization: ControlHandler = ({ target: { model }, params: [id = ''], body }) => {
  const { silent } = parse(silentBody, body);
  const organization = organizationOf(model, id);
  const connections = model
    .liveConnections()
    .filter((c) => c.organization_id === id)
    .map((c) => c.id);
  const event = model.deleteOrganization(id, { silent });
  return answer(200, { organization, deleted_connections: connections }, event, silent);
};

export const addDomain: ControlHandler = ({ target: { model }, params: [id = ''], body }) => {
  const input = parse(addDomainBody, body);
  const organization = organizationOf(model, id);
  const name = input.domain.toLowerCase();
  if (organization.domains.some((d) => d.domain.toLowerCase() === name))
    throw new ControlRequestError(
      400,
      `Invalid request body: domain: organization ${id} already has the domain ${input.domain}`,
    );
  const event = model.addDomain(id, input.domain, domainOptions(input), { silent: input.silent });
  return answer(201, { organization_domain: model.organizationDomain(event.data.id) }, event, input.silent);
};

export const verifyDomain: ControlHandler = ({ target: { model }, params: [id = ''], body }) => {
  const { silent } = parse(silentBody, body);
  domainOf(model, id);
  const event = model.verifyDomain(id, { silent });
  return answer(200, { organization_domain: model.organizationDomain(id) }, event, silent);
};

export const failDomain: ControlHandler = ({ target: { model }, params: [id = ''], body }) => {
  const input = parse(failDomainBody, body);
  domainOf(model, id);
  const event = model.failDomainVerification(id, input.reason, { silent: input.silent });
  return answer(200, { organization_domain: model.organizationDomain(id) }, event, input.silent);
};

export const editDomain: ControlHandler = ({ target: { model }, params: [id = ''], body }) => {
  const input = parse(editDomainBody, body);
  if (input.state === undefined && input.verification_strategy === undefined)
    throw new ControlRequestError(
      400,
      'Invalid request body: nothing to change (give state or verification_strategy)',
    );
  domainOf(model, id);
  const event = model.updateDomain(id, domainOptions(input), { silent: input.silent });
  return answer(200, { organization_domain: model.organizationDomain(id) }, event, input.silent);
};

/** Answers with the domain as it was. */
export const removeDomain: ControlHandler = ({ target: { model }, params: [id = ''], body }) => {
  const { silent } = parse(silentBody, body);
  const domain = domainOf(model, id);
  const event = model.removeDomain(id, { silent });
  return answer(200, { organization_domain: domain }, event, silent);
};
