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
 *
 * This module is the route table and the dispatch; the endpoints live in `control-connections.ts`,
 * `control-organizations.ts`, `control-faults.ts`, `control-state.ts`, `control-clock.ts` and
 * `control-webhooks.ts`.
 */
import type { IncomingMessage } from 'node:http';
import { UnknownConnectionError } from './connection-book.ts';
import { readClock, setClock } from './control-clock.ts';
import {
  certificateEvent,
  createConnection,
  deleteConnection,
  editConnection,
  toggleConnection,
} from './control-connections.ts';
import { addFault, clearFaults, listFaults } from './control-faults.ts';
import {
  addDomain,
  createOrganization,
  deleteOrganization,
  editDomain,
  editOrganization,
  failDomain,
  removeDomain,
  verifyDomain,
} from './control-organizations.ts';
import {
  type ControlHandler,
  ControlRequestError,
  type ControlTarget,
  decodeSegment,
  readBody,
} from './control-request.ts';
import { appendEvent, describeState, readVisibility, setVisibility } from './control-state.ts';
import { readWebhooks, removeWebhooks, setWebhooks } from './control-webhooks.ts';
import { EmulatorRequestError } from './errors.ts';
import { UnknownOrganizationError } from './organization-book.ts';
import { UnknownOrganizationDomainError } from './organization-domain-book.ts';
import type { RouteResult } from './routes.ts';

export { ControlRequestError, type ControlTarget } from './control-request.ts';

export const CONTROL_PREFIX = '/_emulator';

export function isControlPath(path: string): boolean {
  return path === CONTROL_PREFIX || path.startsWith(`${CONTROL_PREFIX}/`);
}

const ROUTES: ReadonlyArray<{ pattern: RegExp; methods: Readonly<Record<string, ControlHandler>> }> = [
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
  { pattern: /^\/organizations$/, methods: { POST: createOrganization } },
  {
    pattern: /^\/organizations\/([^/]+)$/,
    methods: { PATCH: editOrganization, DELETE: deleteOrganization },
  },
  { pattern: /^\/organizations\/([^/]+)\/domains$/, methods: { POST: addDomain } },
  {
    pattern: /^\/organization_domains\/([^/]+)$/,
    methods: { PATCH: editDomain, DELETE: removeDomain },
  },
  { pattern: /^\/organization_domains\/([^/]+)\/verify$/, methods: { POST: verifyDomain } },
  { pattern: /^\/organization_domains\/([^/]+)\/fail$/, methods: { POST: failDomain } },
  { pattern: /^\/events$/, methods: { POST: appendEvent } },
  { pattern: /^\/faults$/, methods: { GET: listFaults, POST: addFault, DELETE: clearFaults } },
  { pattern: /^\/state$/, methods: { GET: describeState } },
  { pattern: /^\/clock$/, methods: { GET: readClock, PUT: setClock } },
  { pattern: /^\/visibility$/, methods: { GET: readVisibility, PUT: setVisibility } },
  { pattern: /^\/webhooks$/, methods: { GET: readWebhooks, PUT: setWebhooks, DELETE: removeWebhooks } },
];

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
    return await handler({ target, params: matched.match.slice(1).map(decodeSegment), body });
  } catch (error) {
    if (error instanceof ControlRequestError)
      return { status: error.status, body: { message: error.message } };
    if (
      error instanceof UnknownConnectionError ||
      error instanceof UnknownOrganizationError ||
      error instanceof UnknownOrganizationDomainError
    )
      return { status: 404, body: { message: error.message } };
    if (error instanceof EmulatorRequestError) return { status: error.status, body: error.body() };
    throw error;
  }
}
