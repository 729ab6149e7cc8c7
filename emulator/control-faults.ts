/**
 * The fault queue over the control API (`/_emulator/faults`): a fault rule's JSON form, in both
 * directions, and the endpoints that queue, list and clear rules. The JSON form is snake_case like
 * the rest of the API; `FaultRule` is the camelCase one `FaultInjector` takes.
 *
 * The queue is the emulator's: a rule hits every environment's requests (an outage), unless its
 * `environment` names the one whose requests it should hit.
 */
import { z } from 'zod';
import { noBody, parse } from './control-bodies.ts';
import { type ControlHandler, ControlRequestError } from './control-request.ts';
import type { FaultRule } from './faults.ts';

const faultCommon = {
  path: z.enum(['/events', '/connections'], { error: 'must be "/events" or "/connections"' }).optional(),
  times: z
    .number({ error: 'must be a positive integer' })
    .int({ error: 'must be a positive integer' })
    .min(1, { error: 'must be a positive integer' })
    .optional(),
  environment: z.string({ error: 'must be the name of an environment' }).optional(),
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

/** A missing or unknown `kind` gets one message listing the kinds; then that kind's schema checks the rest. */
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
  const where = { path: fault.path, times: fault.times, environment: fault.environment };
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
export function faultJson(rule: FaultRule & { remaining?: number }): Record<string, unknown> {
  const out: Record<string, unknown> = { object: 'emulator_fault', kind: rule.kind };
  if (rule.kind === 'status') {
    out.status = rule.status;
    if (rule.retryAfter !== undefined) out.retry_after = rule.retryAfter;
    if (rule.body !== undefined) out.body = rule.body;
  }
  if (rule.kind === 'delay') out.ms = rule.ms;
  out.path = rule.path ?? null;
  out.times = rule.times ?? 1;
  if (rule.environment !== undefined) out.environment = rule.environment;
  if (rule.remaining !== undefined) out.remaining = rule.remaining;
  return out;
}

export const addFault: ControlHandler = ({ target: { faults, registry }, body }) => {
  const rule = parseFault(body);
  if (rule.environment !== undefined && !registry.get(rule.environment))
    throw new ControlRequestError(
      400,
      `Invalid request body: environment: no environment is named ${JSON.stringify(rule.environment)}`,
    );
  faults.add(rule);
  return { status: 201, body: { fault: faultJson(rule), pending: faults.pending().map(faultJson) } };
};

export const listFaults: ControlHandler = ({ target: { faults } }) => ({
  status: 200,
  body: { object: 'list', data: faults.pending().map(faultJson) },
});

export const clearFaults: ControlHandler = ({ target: { faults }, body }) => {
  parse(noBody, body);
  const cleared = faults.pending().length;
  faults.clear();
  return { status: 200, body: { cleared } };
};
