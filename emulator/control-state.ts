/**
 * The control endpoints over one environment as a whole rather than one connection: appending a
 * raw event to its log (`POST /_emulator/events`), summarising its model (connections,
 * organisations and their domains, events) and the faults that can hit its requests
 * (`GET /_emulator/state`), and how long a new event stays out of its List Events
 * (`GET`/`PUT /_emulator/visibility`).
 */
import { z } from 'zod';
import { parse, rawEventBody } from './control-bodies.ts';
import { faultJson } from './control-faults.ts';
import type { ControlHandler } from './control-request.ts';
import { MAX_VISIBILITY_DELAY_MS, visibilityDelayProblem } from './event-log.ts';
import type { WorkosModel } from './model.ts';

const DELAY_RULE = `must be an integer number of milliseconds from 0 to ${MAX_VISIBILITY_DELAY_MS}`;

const visibilityBody = z.strictObject({
  delay_ms: z
    .number({ error: DELAY_RULE })
    .refine((ms) => visibilityDelayProblem(ms) === undefined, { error: DELAY_RULE }),
});

function visibilityJson(model: WorkosModel): Record<string, unknown> {
  return { object: 'emulator_visibility', delay_ms: model.visibilityDelayMs };
}

export const readVisibility: ControlHandler = ({ target: { model } }) => ({
  status: 200,
  body: visibilityJson(model),
});

export const setVisibility: ControlHandler = ({ target: { model }, body }) => {
  model.setVisibilityDelay(parse(visibilityBody, body).delay_ms);
  return { status: 200, body: visibilityJson(model) };
};

export const appendEvent: ControlHandler = ({ target: { model }, body }) => {
  const event = model.appendRawEvent(parse(rawEventBody, body));
  return { status: 201, body: { event } };
};

function organizationCounts(model: WorkosModel): Record<string, unknown> {
  const live = model.liveOrganizations();
  const byState: Record<string, number> = {};
  let domains = 0;
  for (const domain of live.flatMap((o) => o.domains)) {
    domains += 1;
    const state = domain.state ?? '(none)';
    byState[state] = (byState[state] ?? 0) + 1;
  }
  return {
    live: live.length,
    deleted: model.deletedOrganizations().length,
    domains: { live: domains, by_state: byState },
  };
}

export const describeState: ControlHandler = ({ target: { model, faults, environment } }) => {
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
      organizations: organizationCounts(model),
      events: { total: model.eventCount, by_type: byType },
      // The rules that can hit this environment's requests: every environment's, and its own.
      faults: faults
        .pending()
        .filter((rule) => rule.environment === undefined || rule.environment === environment)
        .map(faultJson),
      now: model.clock().toISOString(),
    },
  };
};
