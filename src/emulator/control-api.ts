/**
 * The emulator's control API: JSON endpoints under `/_emulator/` that mutate the model and the
 * fault queue over HTTP, for people (and other processes) driving a running emulator — the
 * in-process equivalent of calling `WorkosModel` and `FaultInjector` directly. Documented, with a
 * curl example per endpoint, in docs/emulator.md.
 *
 * Same bearer auth as the WorkOS routes; never subject to injected faults (the server routes these
 * paths before taking a fault). Every mutation answers with the resulting object and, when WorkOS
 * would emit one, the event it appended — which `GET /events` serves like any other. Bodies are
 * validated strictly (unknown fields included): 400 with `{ message }` naming the field; a
 * connection that is not live is 404.
 */
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import type { CertificateType, ConnectionState, WireConnection } from '../workos/wire.ts';
import { EmulatorRequestError } from './errors.ts';
import type { FaultInjector, FaultRule } from './faults.ts';
import { UnknownConnectionError, type WorkosModel } from './model.ts';
import { type ConnectionType, isSamlType } from './payloads.ts';
import type { RouteResult } from './routes.ts';
import { fillSigningCerts, type SigningCertificateInput } from './signing-certs.ts';

export const CONTROL_PREFIX = '/_emulator';

/** Request bodies larger than this are refused (413). */
const MAX_BODY_BYTES = 1024 * 1024;
const DAY_MS = 86_400_000;

export interface ControlTarget {
  model: WorkosModel;
  faults: FaultInjector;
}

export function isControlPath(path: string): boolean {
  return path === CONTROL_PREFIX || path.startsWith(`${CONTROL_PREFIX}/`);
}

/** A request the control API refuses, with the status and message it answers. */
export class ControlRequestError extends Error {
  override readonly name = 'ControlRequestError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// ── request bodies ───────────────────────────────────────────────────────────

const CONNECTION_STATES = [
  'requires_type',
  'draft',
  'active',
  'validating',
  'inactive',
  'deleting',
] as const satisfies readonly ConnectionState[];

const CERTIFICATE_TYPES = [
  'ResponseSigning',
  'RequestSigning',
  'ResponseEncryption',
] as const satisfies readonly CertificateType[];

const isoDate = z
  .string({ error: 'must be an ISO 8601 date-time string, e.g. "2027-01-31T00:00:00Z"' })
  .refine((value) => Number.isFinite(Date.parse(value)), {
    error: 'must be an ISO 8601 date-time string, e.g. "2027-01-31T00:00:00Z"',
  })
  .transform((value) => new Date(Date.parse(value)));

const DOMAIN =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i;

const domainsField = z
  .array(z.string().regex(DOMAIN, { error: 'must be a domain name such as "foo-corp.com"' }), {
    error: 'must be an array of domain names',
  })
  .max(100)
  .refine((list) => new Set(list.map((d) => d.toLowerCase())).size === list.length, {
    error: 'must not list a domain twice',
  });

const nameField = z
  .string({ error: 'must be a string' })
  .trim()
  .min(1, { error: 'must not be empty' })
  .max(500);
const stateField = z.enum(CONNECTION_STATES, { error: `must be one of ${CONNECTION_STATES.join(', ')}` });

const createBody = z.strictObject({
  organization_id: z
    .string({ error: 'must be a string or null' })
    .min(1, { error: 'must not be empty' })
    .nullable()
    .optional(),
  connection_type: z
    .string({ error: 'must be a string' })
    .regex(/^[A-Za-z][A-Za-z0-9]*$/, {
      error: 'must be a WorkOS connection type such as OktaSAML, AzureSAML, GoogleOAuth or GenericOIDC',
    })
    .optional(),
  name: nameField.optional(),
  domains: domainsField.optional(),
  state: stateField.optional(),
  signing_certificate_not_after: isoDate.nullable().optional(),
});

const editBody = z.strictObject({
  name: nameField.optional(),
  domains: domainsField.optional(),
  state: stateField.optional(),
  signing_certificate_not_after: isoDate.nullable().optional(),
});

const certificateBody = z.strictObject({ expiry_date: isoDate.optional() });
const noBody = z.strictObject({});
const rawEventBody = z.record(z.string(), z.unknown(), { error: 'must be a JSON object' });

const faultCommon = {
  path: z.enum(['/events', '/connections'], { error: 'must be "/events" or "/connections"' }).optional(),
  times: z
    .number({ error: 'must be a positive integer' })
    .int({ error: 'must be a positive integer' })
    .min(1, { error: 'must be a positive integer' })
    .optional(),
};
const nonNegativeInt = (max: number) =>
  z
    .number({ error: `must be an integer from 0 to ${max}` })
    .int({ error: `must be an integer from 0 to ${max}` })
    .min(0, { error: `must be an integer from 0 to ${max}` })
    .max(max, { error: `must be an integer from 0 to ${max}` });

const FAULT_BODIES = {
  status: z.strictObject({
    kind: z.literal('status'),
    status: z
      .number({ error: 'must be an HTTP status code from 100 to 599' })
      .int({ error: 'must be an HTTP status code from 100 to 599' })
      .min(100, { error: 'must be an HTTP status code from 100 to 599' })
      .max(599, { error: 'must be an HTTP status code from 100 to 599' }),
    retry_after: nonNegativeInt(3600).optional(),
    body: z.unknown().optional(),
    ...faultCommon,
  }),
  delay: z.strictObject({ kind: z.literal('delay'), ms: nonNegativeInt(600_000), ...faultCommon }),
  hang: z.strictObject({ kind: z.literal('hang'), ...faultCommon }),
  'malformed-json': z.strictObject({ kind: z.literal('malformed-json'), ...faultCommon }),
  truncate: z.strictObject({ kind: z.literal('truncate'), ...faultCommon }),
} as const;
type FaultBodyKind = keyof typeof FAULT_BODIES;
const FAULT_KINDS = Object.keys(FAULT_BODIES) as FaultBodyKind[];

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((k) => (where ? `${where}.${k}` : k));
        return `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}`;
      }
      return where ? `${where}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const result = schema.safeParse(body);
  if (!result.success)
    throw new ControlRequestError(400, `Invalid request body: ${describeIssues(result.error)}`);
  return result.data;
}

function parseFault(body: unknown): FaultRule {
  const kind = (body as { kind?: unknown } | null)?.kind;
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ControlRequestError(400, 'Invalid request body: must be a JSON object');
  if (typeof kind !== 'string' || !(FAULT_KINDS as string[]).includes(kind))
    throw new ControlRequestError(
      400,
      `Invalid request body: kind: must be one of ${FAULT_KINDS.join(', ')}`,
    );
  const fault = parse(FAULT_BODIES[kind as FaultBodyKind], body);
  const where = { path: fault.path, times: fault.times };
  switch (fault.kind) {
    case 'status':
      return {
        kind: 'status',
        status: fault.status,
        retryAfter: fault.retry_after,
        body: fault.body,
        ...where,
      };
    case 'delay':
      return { kind: 'delay', ms: fault.ms, ...where };
    default:
      return { kind: fault.kind, ...where };
  }
}

/** A fault rule as the control API shows it (snake_case, no undefined fields). */
function faultJson(rule: FaultRule & { remaining?: number }): Record<string, unknown> {
  const out: Record<string, unknown> = { object: 'emulator_fault', kind: rule.kind };
  if (rule.kind === 'status') {
    out.status = rule.status;
    if (rule.retryAfter !== undefined) out.retry_after = rule.retryAfter;
    if (rule.body !== undefined) out.body = rule.body;
  }
  if (rule.kind === 'delay') out.ms = rule.ms;
  out.path = rule.path ?? null;
  out.times = rule.times ?? 1;
  if (rule.remaining !== undefined) out.remaining = rule.remaining;
  return out;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    else chunks.push(chunk);
  }
  if (tooLarge) throw new ControlRequestError(413, `Request body larger than ${MAX_BODY_BYTES} bytes`);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ControlRequestError(400, `Request body is not valid JSON: ${reason}`);
  }
}

// ── handlers ─────────────────────────────────────────────────────────────────

interface Call {
  target: ControlTarget;
  /** Path parameters, URI-decoded. */
  params: string[];
  body: unknown;
}

type Handler = (call: Call) => RouteResult | Promise<RouteResult>;

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

const createConnection: Handler = async ({ target: { model }, body }) => {
  const input = parse(createBody, body);
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

const editConnection: Handler = async ({ target: { model }, params: [id = ''], body }) => {
  const input = parse(editBody, body);
  if (Object.keys(input).length === 0)
    throw new ControlRequestError(
      400,
      'Invalid request body: nothing to change (give name, domains, state or signing_certificate_not_after)',
    );
  const current = liveConnection(model, id);
  if (input.signing_certificate_not_after !== undefined) requireSaml(current, 'a signing certificate');
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

const toggleConnection =
  (action: 'activate' | 'deactivate'): Handler =>
  async ({ target: { model }, params: [id = ''], body }) => {
    parse(noBody, body);
    liveConnection(model, id);
    const event = action === 'activate' ? model.activate(id) : model.deactivate(id);
    const connection = model.getConnection(id);
    return { status: 200, body: { connection: await renderConnection(model, connection), event } };
  };

const deleteConnection: Handler = async ({ target: { model }, params: [id = ''], body }) => {
  parse(noBody, body);
  const connection = liveConnection(model, id);
  const certificate = connection.options ? model.signingCertificate(id) : null;
  const event = model.deleteConnection(id);
  return { status: 200, body: { connection: await renderWith(model, connection, certificate), event } };
};

const certificateEvent =
  (action: 'renew' | 'require-renewal'): Handler =>
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

const appendEvent: Handler = ({ target: { model }, body }) => {
  const event = model.appendRawEvent(parse(rawEventBody, body));
  return { status: 201, body: { event } };
};

const addFault: Handler = ({ target: { faults }, body }) => {
  const rule = parseFault(body);
  faults.add(rule);
  return { status: 201, body: { fault: faultJson(rule), pending: faults.pending().map(faultJson) } };
};

const listFaults: Handler = ({ target: { faults } }) => ({
  status: 200,
  body: { object: 'list', data: faults.pending().map(faultJson) },
});

const clearFaults: Handler = ({ target: { faults }, body }) => {
  parse(noBody, body);
  const cleared = faults.pending().length;
  faults.clear();
  return { status: 200, body: { cleared } };
};

const describeState: Handler = ({ target: { model, faults } }) => {
  const live = model.liveConnections();
  const byState: Record<string, number> = {};
  for (const connection of live) byState[connection.state] = (byState[connection.state] ?? 0) + 1;
  const byType: Record<string, number> = {};
  for (const event of model.events()) {
    const type = typeof event.event === 'string' ? event.event : '(none)';
    byType[type] = (byType[type] ?? 0) + 1;
  }
  return {
    status: 200,
    body: {
      object: 'emulator_state',
      connections: { live: live.length, deleted: model.deletedConnections().length, by_state: byState },
      events: { total: model.eventCount, by_type: byType },
      faults: faults.pending().map(faultJson),
      now: model.clock().toISOString(),
    },
  };
};

const ROUTES: ReadonlyArray<{ pattern: RegExp; methods: Readonly<Record<string, Handler>> }> = [
  { pattern: /^\/connections$/, methods: { POST: createConnection } },
  { pattern: /^\/connections\/([^/]+)$/, methods: { PATCH: editConnection, DELETE: deleteConnection } },
  { pattern: /^\/connections\/([^/]+)\/activate$/, methods: { POST: toggleConnection('activate') } },
  { pattern: /^\/connections\/([^/]+)\/deactivate$/, methods: { POST: toggleConnection('deactivate') } },
  {
    pattern: /^\/connections\/([^/]+)\/certificates\/([^/]+)\/renew$/,
    methods: { POST: certificateEvent('renew') },
  },
  {
    pattern: /^\/connections\/([^/]+)\/certificates\/([^/]+)\/require-renewal$/,
    methods: { POST: certificateEvent('require-renewal') },
  },
  { pattern: /^\/events$/, methods: { POST: appendEvent } },
  { pattern: /^\/faults$/, methods: { GET: listFaults, POST: addFault, DELETE: clearFaults } },
  { pattern: /^\/state$/, methods: { GET: describeState } },
];

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ControlRequestError(400, `Malformed path segment: ${segment}`);
  }
}

/**
 * Answers one authenticated request to a control path (`isControlPath`): reads its JSON body,
 * runs the handler, and maps refusals to their status with `{ message }`.
 */
export async function handleControlRequest(
  target: ControlTarget,
  req: IncomingMessage,
  method: string,
  path: string,
): Promise<RouteResult> {
  try {
    const sub = path.slice(CONTROL_PREFIX.length);
    const matched = ROUTES.map((r) => ({ route: r, match: r.pattern.exec(sub) })).find((m) => m.match);
    if (!matched?.match) throw new ControlRequestError(404, `Not Found: ${method} ${path}`);
    const handler = matched.route.methods[method];
    if (!handler) {
      const allowed = Object.keys(matched.route.methods).join(', ');
      throw new ControlRequestError(405, `Method Not Allowed: ${method} ${path} (allowed: ${allowed})`);
    }
    const body = method === 'GET' || method === 'HEAD' ? {} : await readBody(req);
    return await handler({ target, params: matched.match.slice(1).map(decode), body });
  } catch (error) {
    if (error instanceof ControlRequestError)
      return { status: error.status, body: { message: error.message } };
    if (error instanceof UnknownConnectionError) return { status: 404, body: { message: error.message } };
    if (error instanceof EmulatorRequestError) return { status: error.status, body: error.body() };
    throw error;
  }
}
