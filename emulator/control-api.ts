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
 * A path addresses one environment: `/_emulator/…` the `default` one, `/_emulator/environments/
 * <name>/…` that one (its own connections, organisations, events, clock, visibility delay and
 * webhooks), whichever key authenticated the call — the control API is the emulator's operator,
 * not one environment's client. Faults are the emulator's: they live at `/_emulator/faults` only
 * (a rule names an environment to hit only its requests). `/_emulator/environments` lists and
 * creates environments.
 *
 * This module is the route table and the dispatch; the endpoints live in `control-connections.ts`,
 * `control-organizations.ts`, `control-faults.ts`, `control-state.ts`, `control-clock.ts`,
 * `control-webhooks.ts` and `control-environments.ts`.
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
import { createEnvironment, describeEnvironment, listEnvironments } from './control-environments.ts';
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
  type ControlResult,
  type ControlTarget,
  decodeSegment,
  readBody,
} from './control-request.ts';
import { appendEvent, describeState, readVisibility, setVisibility } from './control-state.ts';
import { readWebhooks, removeWebhooks, setWebhooks } from './control-webhooks.ts';
import type { EnvironmentRegistry } from './environments.ts';
import { EmulatorRequestError } from './errors.ts';
import type { FaultInjector } from './faults.ts';
import { UnknownOrganizationError } from './organization-book.ts';
import { UnknownOrganizationDomainError } from './organization-domain-book.ts';

export { ControlRequestError, type ControlResult, type ControlTarget } from './control-request.ts';

export const CONTROL_PREFIX = '/_emulator';

export function isControlPath(path: string): boolean {
  return path === CONTROL_PREFIX || path.startsWith(`${CONTROL_PREFIX}/`);
}

interface ControlRoute {
  pattern: RegExp;
  methods: Readonly<Record<string, ControlHandler>>;
}

/** The emulator's own: not under an environment's path. */
const EMULATOR_ROUTES: readonly ControlRoute[] = [
  { pattern: /^\/environments$/, methods: { GET: listEnvironments, POST: createEnvironment } },
  { pattern: /^\/environments\/([^/]+)$/, methods: { GET: describeEnvironment } },
  { pattern: /^\/faults$/, methods: { GET: listFaults, POST: addFault, DELETE: clearFaults } },
];

/** One environment's, at `/_emulator/…` (default) or `/_emulator/environments/<name>/…`. */
const ENVIRONMENT_ROUTES: readonly ControlRoute[] = [
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
  { pattern: /^\/state$/, methods: { GET: describeState } },
  { pattern: /^\/clock$/, methods: { GET: readClock, PUT: setClock } },
  { pattern: /^\/visibility$/, methods: { GET: readVisibility, PUT: setVisibility } },
  { pattern: /^\/webhooks$/, methods: { GET: readWebhooks, PUT: setWebhooks, DELETE: removeWebhooks } },
];

/** What the control API works on: every environment, and the emulator's fault queue. */
export interface ControlEmulator {
  registry: EnvironmentRegistry;
  faults: FaultInjector;
}

const ADDRESSED = /^\/environments\/([^/]+)(\/.*)$/;

/** The environment a control path addresses, and the path within it. */
function address(emulator: ControlEmulator, sub: string): { target: ControlTarget; sub: string } {
  const addressed = ADDRESSED.exec(sub);
  const name = addressed ? decodeSegment(addressed[1] as string) : 'default';
  const environment = emulator.registry.get(name);
  if (!environment) throw new ControlRequestError(404, `Environment not found: '${name}'.`);
  const { model, webhooks } = environment;
  const target = { environment: name, model, webhooks, ...emulator };
  if (!addressed) return { target, sub };
  const rest = addressed[2] as string;
  if (/^\/faults(\/|$)/.test(rest))
    throw new ControlRequestError(
      404,
      `Not Found: faults are the emulator's, not one environment's: use ${CONTROL_PREFIX}/faults, ` +
        `with "environment": "${name}" in a rule that should hit only its requests`,
    );
  return { target, sub: rest };
}

function matchRoute(routes: readonly ControlRoute[], sub: string) {
  for (const route of routes) {
    const match = route.pattern.exec(sub);
    if (match) return { route, params: match.slice(1) };
  }
  return undefined;
}

/**
 * Answers one authenticated request to a control path (`isControlPath`): reads its JSON body,
 * runs the handler, and maps refusals to their status with `{ message }`. `environment` in the
 * answer is the environment the call was for (the one created, for a creation).
 */
export async function handleControlRequest(
  emulator: ControlEmulator,
  req: IncomingMessage,
  method: string,
  path: string,
): Promise<ControlResult> {
  let environment: string | undefined;
  try {
    const full = path.slice(CONTROL_PREFIX.length);
    const own = matchRoute(EMULATOR_ROUTES, full);
    const { target, sub } = own ? address(emulator, '') : address(emulator, full);
    if (!own) environment = target.environment;
    const matched = own ?? matchRoute(ENVIRONMENT_ROUTES, sub);
    if (!matched) throw new ControlRequestError(404, `Not Found: ${method} ${path}`);
    const handler = matched.route.methods[method];
    if (!handler) {
      const allowed = Object.keys(matched.route.methods).join(', ');
      throw new ControlRequestError(405, `Method Not Allowed: ${method} ${path} (allowed: ${allowed})`);
    }
    const body = method === 'GET' || method === 'HEAD' ? {} : await readBody(req);
    const result = await handler({ target, params: matched.params.map(decodeSegment), body });
    return { ...result, environment: result.environment ?? environment };
  } catch (error) {
    const answer = refusal(error);
    return { ...answer, environment };
  }
}

function refusal(error: unknown): ControlResult {
  if (error instanceof ControlRequestError) return { status: error.status, body: { message: error.message } };
  if (
    error instanceof UnknownConnectionError ||
    error instanceof UnknownOrganizationError ||
    error instanceof UnknownOrganizationDomainError
  )
    return { status: 404, body: { message: error.message } };
  if (error instanceof EmulatorRequestError) return { status: error.status, body: error.body() };
  throw error;
}
