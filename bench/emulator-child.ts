/**
 * The WorkOS emulator in a process of its own. WorkOS is a server somewhere else: the CPU it
 * spends building pages is not the sync engine's, so the engine is measured without it.
 *
 * Started by `emulator-process.ts` with the scenario as JSON in argv; answers commands over IPC.
 */
import { generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import type { ChildCommand, ChildReply, EnvironmentSpec, ScenarioSpec } from './emulator-process.ts';

const spec = JSON.parse(process.argv[2] ?? '{}') as ScenarioSpec;
const model = new WorkosModel({ seed: spec.seed });
const started = performance.now();
const summary = generateScenario(model, {
  seed: spec.seed,
  events: spec.events,
  connections: spec.connections,
});
const generatedMs = performance.now() - started;
// Organizations made silently, after the history (WorkOS's past, before the bench watches).
const organizations = Array.from({ length: spec.organizations ?? 0 }, (_, i) => {
  const { data } = model.createOrganization({
    name: `Bench Org ${i}`,
    domains: [{ domain: `org-${i}.bench.example`, state: 'verified' }],
    silent: true,
  });
  model.createConnection({ organizationId: data.id, name: `Bench Org ${i} SSO`, state: 'active' });
  return data.id;
});
const emulator = await startEmulator({
  apiKey: spec.apiKey,
  model,
  maxRecordedRequests: spec.maxRecordedRequests,
});
await emulator.certificatesWarm;

function send(reply: ChildReply): void {
  process.send?.(reply);
}

/** A steady stream of connection events: activations and deactivations, round the connections. */
async function stream(rate: number, seconds: number): Promise<number> {
  const ids = model
    .liveConnections()
    .filter((c) => c.state === 'active' || c.state === 'inactive')
    .map((c) => c.id);
  if (ids.length === 0) throw new Error('the scenario has no activated connection to flap');
  return paced(rate, seconds, (i) => {
    const id = ids[i % ids.length]!;
    if (model.getConnection(id).state === 'active') model.deactivate(id);
    else model.activate(id);
  });
}

/**
 * A steady stream of domain events round the organizations: each gets a new domain (pending),
 * then has it verified, then removed, so every event changes what `domain_routes` answers.
 */
async function domainStream(rate: number, seconds: number): Promise<number> {
  if (organizations.length === 0) throw new Error('the scenario has no organizations (spec.organizations)');
  const added: string[] = [];
  return paced(rate, seconds, (i) => {
    const slot = i % organizations.length;
    const phase = Math.floor(i / organizations.length) % 3;
    if (phase === 0) added[slot] = model.addDomain(organizations[slot]!, `d${i}.bench.example`).data.id;
    else if (phase === 1) model.verifyDomain(added[slot]!);
    else model.removeDomain(added[slot]!);
  });
}

/** Calls `emit(i)` `rate` times a second for `seconds`, on an absolute schedule so the rate never drifts. */
async function paced(rate: number, seconds: number, emit: (i: number) => void): Promise<number> {
  const total = Math.round(rate * seconds);
  const start = performance.now();
  let emitted = 0;
  while (emitted < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    for (; emitted < due; emitted++) emit(emitted);
    const next = start + (emitted / rate) * 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
  }
  return emitted;
}

/**
 * Environments besides `default`, each its own world: `connections` connections, each activated
 * once (so each mirror has a history to catch up with). Returns the events made.
 */
function addEnvironments(environments: readonly EnvironmentSpec[], connections: number): number {
  let events = 0;
  for (const [i, { name, apiKey }] of environments.entries()) {
    const world = new WorkosModel({ environment: name, seed: spec.seed + i + 1 });
    for (let c = 0; c < connections; c++) {
      const { id } = world.createConnection({
        name: `${name} ${c}`,
        domains: [`c${c}.${name}.bench.example`],
      });
      world.activate(id);
      events++;
    }
    emulator.addEnvironment(name, { apiKey, model: world });
  }
  return events;
}

/**
 * One connection change in each of `names` every `everySeconds`, for `seconds`: the environments
 * take turns, so the changes are spread evenly over time, and each flips its connections in turn
 * (active → inactive → active).
 */
async function environmentChanges(
  names: readonly string[],
  everySeconds: number,
  seconds: number,
): Promise<number> {
  const worlds = names.map((name) => {
    const world = emulator.environment(name)?.model;
    if (!world) throw new Error(`no environment '${name}'`);
    const ids = world
      .liveConnections()
      .filter((c) => c.state === 'active' || c.state === 'inactive')
      .map((c) => c.id);
    if (ids.length === 0) throw new Error(`environment '${name}' has no activated connection to flap`);
    return { world, ids };
  });
  return paced(names.length / everySeconds, seconds, (i) => {
    const { world, ids } = worlds[i % worlds.length]!;
    const id = ids[Math.floor(i / worlds.length) % ids.length]!;
    if (world.getConnection(id).state === 'active') world.deactivate(id);
    else world.activate(id);
  });
}

/** Changes `fraction` of the live connections silently: a third renamed, created, deleted. */
function drift(fraction: number): { renamed: number; created: number; deleted: number } {
  const live = model.liveConnections();
  const n = Math.max(3, Math.round(live.length * fraction));
  const third = Math.floor(n / 3);
  const step = Math.max(1, Math.floor(live.length / n));
  let renamed = 0;
  let deleted = 0;
  for (let i = 0; i < third; i++) {
    const c = live[(i * 2 * step) % live.length]!;
    model.rename(c.id, `${c.name} (renamed)`);
    renamed++;
    const d = live[((i * 2 + 1) * step) % live.length]!;
    model.deleteConnection(d.id);
    deleted++;
  }
  const created = n - renamed - deleted;
  for (let i = 0; i < created; i++) {
    model.createConnection({ state: 'active', name: `Drift ${i}`, domains: [`drift-${i}.example.com`] });
  }
  return { renamed, created, deleted };
}

process.on('message', (raw) => {
  const command = raw as ChildCommand;
  const run = async (): Promise<ChildReply> => {
    switch (command.cmd) {
      case 'latency':
        emulator.faults.clear();
        if (command.ms > 0)
          emulator.faults.add({ kind: 'delay', ms: command.ms, times: Number.MAX_SAFE_INTEGER });
        return { type: 'ok', id: command.id };
      case 'stream':
        return { type: 'ok', id: command.id, value: await stream(command.rate, command.seconds) };
      case 'domains':
        return { type: 'ok', id: command.id, value: await domainStream(command.rate, command.seconds) };
      case 'drift':
        return { type: 'ok', id: command.id, value: drift(command.fraction) };
      case 'requests':
        return {
          type: 'ok',
          id: command.id,
          value: emulator.requests.filter((r) => r.path === command.path).length,
        };
      case 'webhooks':
        emulator.webhooks.configure({ url: command.url, secret: command.secret });
        return { type: 'ok', id: command.id };
      case 'visibility':
        model.setVisibilityDelay(command.ms);
        return { type: 'ok', id: command.id };
      case 'environments':
        return {
          type: 'ok',
          id: command.id,
          value: addEnvironments(command.environments, command.connections),
        };
      case 'environment-changes':
        return {
          type: 'ok',
          id: command.id,
          value: await environmentChanges(command.environments, command.everySeconds, command.seconds),
        };
      case 'requests-by-environment': {
        const by: Record<string, number> = {};
        for (const r of emulator.requests) {
          if (r.path.startsWith('/_emulator') || r.environment === undefined) continue;
          by[r.environment] = (by[r.environment] ?? 0) + 1;
        }
        return { type: 'ok', id: command.id, value: by };
      }
      case 'environment-webhooks':
        for (const { environment, url, secret } of command.deliveries) {
          const target = emulator.environment(environment);
          if (!target) throw new Error(`no environment '${environment}'`);
          target.webhooks.configure({ url, secret });
        }
        return { type: 'ok', id: command.id };
      case 'close':
        await emulator.close();
        send({ type: 'ok', id: command.id });
        process.exit(0);
    }
  };
  run().then(send, (error: unknown) =>
    send({ type: 'error', id: command.id, message: error instanceof Error ? error.message : String(error) }),
  );
});

send({
  type: 'ready',
  url: emulator.url,
  generatedMs,
  connections: summary.connections,
  liveConnections: model.liveConnections().length,
  events: model.eventCount,
});
