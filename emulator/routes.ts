/**
 * Maps an authenticated GET request to the model: parses WorkOS's query parameters exactly as the
 * SDK sends them and turns the model's typed request errors into their HTTP answers. Connections
 * leave here with their SAML signing certificates rendered (the model itself stays synchronous).
 */
import type { WireConnection } from '../src/workos/wire.ts';
import { EmulatorRequestError } from './errors.ts';
import type { WorkosModel } from './model.ts';
import { fillSigningCerts } from './signing-cert-pems.ts';

export interface RouteResult {
  status: number;
  body: unknown;
}

function optional(query: URLSearchParams, name: string): string | undefined {
  return query.get(name) ?? undefined;
}

/** `limit` arrives as text; anything that is not a plain number becomes NaN and fails validation. */
function limitOf(query: URLSearchParams): number | undefined {
  const raw = query.get('limit');
  if (raw === null) return undefined;
  return /^\s*-?\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : Number.NaN;
}

/**
 * A list parameter: the SDK sends `events=a,b` and `domains=a,b` (one comma-joined value); repeated
 * params are accepted too.
 */
function listOf(query: URLSearchParams, name: string): string[] | undefined {
  const values = query.getAll(name);
  if (values.length === 0) return undefined;
  return values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

/** Reads the model synchronously (one consistent snapshot), then renders certificates. */
async function withCertificates<T>(model: WorkosModel, body: T, connections: WireConnection[]): Promise<T> {
  const now = model.clock();
  await fillSigningCerts(connections, (id) => model.signingCertificate(id), now);
  return body;
}

async function serve(
  model: WorkosModel,
  path: string,
  query: URLSearchParams,
): Promise<RouteResult | undefined> {
  if (path === '/events') {
    const body = model.listEvents({
      events: listOf(query, 'events'),
      after: optional(query, 'after'),
      rangeStart: optional(query, 'range_start'),
      rangeEnd: optional(query, 'range_end'),
      limit: limitOf(query),
      order: optional(query, 'order'),
      organizationId: optional(query, 'organization_id'),
    });
    return { status: 200, body };
  }
  if (path === '/connections') {
    const body = model.listConnections({
      organizationId: optional(query, 'organization_id'),
      connectionType: optional(query, 'connection_type'),
      domain: optional(query, 'domain'),
      limit: limitOf(query),
      before: optional(query, 'before'),
      after: optional(query, 'after'),
      order: optional(query, 'order'),
    });
    return { status: 200, body: await withCertificates(model, body, body.data) };
  }
  const single = /^\/connections\/([^/]+)$/.exec(path);
  if (single?.[1] !== undefined) {
    const connection = model.getConnection(decodeURIComponent(single[1]));
    return { status: 200, body: await withCertificates(model, connection, [connection]) };
  }
  if (path === '/organizations') {
    const body = model.listOrganizations({
      domains: listOf(query, 'domains'),
      limit: limitOf(query),
      before: optional(query, 'before'),
      after: optional(query, 'after'),
      order: optional(query, 'order'),
    });
    return { status: 200, body };
  }
  const organization = /^\/organizations\/([^/]+)$/.exec(path);
  if (organization?.[1] !== undefined) {
    return { status: 200, body: model.getOrganization(decodeURIComponent(organization[1])) };
  }
  return undefined;
}

const KNOWN_PATH = /^\/(events|connections(\/[^/]+)?|organizations(\/[^/]+)?)$/;

export async function route(
  model: WorkosModel,
  method: string,
  path: string,
  query: URLSearchParams,
): Promise<RouteResult> {
  if (!KNOWN_PATH.test(path)) return { status: 404, body: { message: `Not Found: ${method} ${path}` } };
  if (method !== 'GET') return { status: 405, body: { message: `Method Not Allowed: ${method} ${path}` } };
  try {
    return (
      (await serve(model, path, query)) ?? { status: 404, body: { message: `Not Found: ${method} ${path}` } }
    );
  } catch (error) {
    if (error instanceof EmulatorRequestError) return { status: error.status, body: error.body() };
    throw error;
  }
}
