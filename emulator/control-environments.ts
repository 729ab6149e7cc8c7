/**
 * The environments over the control API (`/_emulator/environments`): list them, describe one, and
 * create one at run time — empty, or filled with a named scenario (`scenarios.ts`) before it is
 * served, so its first request already sees the whole history. Each environment's own endpoints
 * are then at `/_emulator/environments/<name>/…` (`control-api.ts`).
 */
import { z } from 'zod';
import { parse } from './control-bodies.ts';
import { type ControlHandler, ControlRequestError } from './control-request.ts';
import { type EmulatorEnvironment, EnvironmentError } from './environments.ts';
import { isScenarioName, loadScenario, SCENARIO_NAMES } from './scenarios.ts';

const createBody = z.strictObject({
  name: z.string({ error: 'must be a string' }),
  api_key: z.string({ error: 'must be a string' }),
  scenario: z
    .string({ error: 'must be a string' })
    .refine(isScenarioName, { error: `must be one of ${SCENARIO_NAMES.join(', ')}` })
    .optional(),
  seed: z.number({ error: 'must be an integer' }).int({ error: 'must be an integer' }).optional(),
  events: z
    .number({ error: 'must be an integer from 0 to 10000000' })
    .int({ error: 'must be an integer from 0 to 10000000' })
    .min(0, { error: 'must be an integer from 0 to 10000000' })
    .max(10_000_000, { error: 'must be an integer from 0 to 10000000' })
    .optional(),
});

/** What an environment holds; never its API key, which the caller chose and already knows. */
function environmentJson({ name, model, webhooks }: EmulatorEnvironment): Record<string, unknown> {
  return {
    object: 'emulator_environment',
    name,
    connections: model.liveConnections().length,
    organizations: model.liveOrganizations().length,
    events: model.eventCount,
    webhook_url: webhooks.endpoint()?.url ?? null,
  };
}

function refused(error: EnvironmentError): ControlRequestError {
  const message = error.message.replace('apiKey', 'api_key');
  return new ControlRequestError(error.conflict ? 409 : 400, `Invalid request body: ${message}`);
}

export const listEnvironments: ControlHandler = ({ target: { registry } }) => ({
  status: 200,
  body: { object: 'list', data: registry.list().map(environmentJson) },
});

export const describeEnvironment: ControlHandler = ({ target: { registry }, params: [name] }) => {
  const environment = registry.get(name as string);
  if (!environment) throw new ControlRequestError(404, `Environment not found: '${name}'.`);
  return { status: 200, body: environmentJson(environment), environment: environment.name };
};

/** 201 `{ environment }`; 409 for a name or key another environment has. */
export const createEnvironment: ControlHandler = ({ target: { registry }, body }) => {
  const input = parse(createBody, body);
  const scenario = input.scenario ?? 'empty';
  if (scenario === 'empty' && input.events !== undefined)
    throw new ControlRequestError(400, 'Invalid request body: events: applies to scenario demo or large');
  const problem = registry.problem(input.name, input.api_key);
  if (problem) throw refused(problem);
  // As `workos-sync emulator --seed` (default 1): the seed of the scenario and of the ids.
  const seed = input.seed ?? 1;
  const model = registry.newModel(input.name, seed);
  loadScenario(model, scenario, { seed, events: input.events });
  try {
    const environment = registry.add(input.name, { apiKey: input.api_key, model });
    return {
      status: 201,
      body: { environment: environmentJson(environment) },
      environment: environment.name,
    };
  } catch (error) {
    throw error instanceof EnvironmentError ? refused(error) : error;
  }
};
