/**
 * The parent's handle on `emulator-child.ts`: start it with a scenario, wait until it listens,
 * and send it commands (a per-request delay, a live stream of events, silent drift, webhooks, a
 * delay before new events are listed, many more environments and changes in some of them).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const API_KEY = 'sk_test_bench_0123456789abcdef';

export interface ScenarioSpec {
  readonly seed: number;
  readonly events: number;
  readonly connections?: number | undefined;
  /** Organizations WorkOS knows, each with a verified domain and an active connection that lists it. */
  readonly organizations?: number | undefined;
  /** How many requests the emulator remembers (default its own, 100,000: older ones are dropped). */
  readonly maxRecordedRequests?: number | undefined;
  readonly apiKey: string;
}

/** Where an environment's webhooks go, signed with its secret. */
export interface WebhookDelivery {
  readonly environment: string;
  readonly url: string;
  readonly secret: string;
}

/** A WorkOS environment besides `default`, with its one API key. */
export interface EnvironmentSpec {
  readonly name: string;
  readonly apiKey: string;
}

export type ChildCommand = { readonly id: number } & (
  | { readonly cmd: 'latency'; readonly ms: number }
  | { readonly cmd: 'stream'; readonly rate: number; readonly seconds: number }
  | { readonly cmd: 'domains'; readonly rate: number; readonly seconds: number }
  | { readonly cmd: 'drift'; readonly fraction: number }
  | { readonly cmd: 'requests'; readonly path: '/events' | '/connections' | '/organizations' }
  | { readonly cmd: 'webhooks'; readonly url: string; readonly secret: string }
  | { readonly cmd: 'visibility'; readonly ms: number }
  | {
      readonly cmd: 'environments';
      readonly environments: readonly EnvironmentSpec[];
      readonly connections: number;
    }
  | {
      readonly cmd: 'environment-changes';
      readonly environments: readonly string[];
      readonly everySeconds: number;
      readonly seconds: number;
    }
  | { readonly cmd: 'requests-by-environment' }
  | { readonly cmd: 'environment-webhooks'; readonly deliveries: readonly WebhookDelivery[] }
  | { readonly cmd: 'close' }
);

export type ChildReply =
  | {
      readonly type: 'ready';
      readonly url: string;
      readonly generatedMs: number;
      readonly connections: number;
      readonly liveConnections: number;
      readonly events: number;
    }
  | { readonly type: 'ok'; readonly id: number; readonly value?: unknown }
  | { readonly type: 'error'; readonly id: number; readonly message: string };

type Ready = Extract<ChildReply, { type: 'ready' }>;
type Command = ChildCommand extends infer C ? (C extends ChildCommand ? Omit<C, 'id'> : never) : never;

export interface EmulatorProcess extends Omit<Ready, 'type'> {
  readonly pid: number;
  setLatency(ms: number): Promise<void>;
  /** Emits `rate` events a second for `seconds`; resolves with how many when done. */
  stream(rate: number, seconds: number): Promise<number>;
  /** The same with domain events: added, verified, removed, round the organizations (`organizations`). */
  domainStream(rate: number, seconds: number): Promise<number>;
  drift(fraction: number): Promise<{ renamed: number; created: number; deleted: number }>;
  requestCount(path: '/events' | '/connections' | '/organizations'): Promise<number>;
  /** Sends every event emitted from now on to `url`, signed with `secret` as WorkOS signs. */
  sendWebhooks(url: string, secret: string): Promise<void>;
  /** Lists new events on `GET /events` only `ms` after their creation, as WorkOS does. */
  setVisibilityDelay(ms: number): Promise<void>;
  /**
   * Adds environments, each its own world of `connections` connections, every one activated once
   * (its history: `connections` events); resolves with the events made.
   */
  addEnvironments(environments: readonly EnvironmentSpec[], connections: number): Promise<number>;
  /**
   * One connection change (an activation or a deactivation) in each of `environments` every
   * `everySeconds`, spread evenly, for `seconds`; resolves with how many when done.
   */
  environmentChanges(environments: readonly string[], everySeconds: number, seconds: number): Promise<number>;
  /** WorkOS API requests (the control API's aside) so far, by the environment that answered. */
  requestsByEnvironment(): Promise<Record<string, number>>;
  /** Sends every event of each environment emitted from now on to its `url`, signed with its `secret`. */
  sendEnvironmentWebhooks(deliveries: readonly WebhookDelivery[]): Promise<void>;
  close(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./emulator-child.ts', import.meta.url));

export async function startEmulatorProcess(
  scenario: Omit<ScenarioSpec, 'apiKey'>,
  options: { readonly heapMb?: number } = {},
): Promise<EmulatorProcess> {
  const spec: ScenarioSpec = { ...scenario, apiKey: API_KEY };
  const execArgv = ['--import', 'tsx'];
  if (options.heapMb) execArgv.push(`--max-old-space-size=${options.heapMb}`);
  const child = fork(CHILD, [JSON.stringify(spec)], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await firstReady(child);
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  child.on('message', (raw) => {
    const reply = raw as ChildReply;
    if (reply.type === 'ready') return;
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.type === 'ok') waiter?.resolve(reply.value);
    else waiter?.reject(new Error(`emulator: ${reply.message}`));
  });
  child.on('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`the emulator exited (${code})`));
    pending.clear();
  });
  const call = <T>(command: Command): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ ...command, id });
    });

  const { type: _type, ...info } = ready;
  return {
    ...info,
    pid: child.pid!,
    setLatency: (ms) => call({ cmd: 'latency', ms }),
    stream: (rate, seconds) => call({ cmd: 'stream', rate, seconds }),
    domainStream: (rate, seconds) => call({ cmd: 'domains', rate, seconds }),
    drift: (fraction) => call({ cmd: 'drift', fraction }),
    requestCount: (path) => call({ cmd: 'requests', path }),
    sendWebhooks: (url, secret) => call({ cmd: 'webhooks', url, secret }),
    setVisibilityDelay: (ms) => call({ cmd: 'visibility', ms }),
    addEnvironments: (environments, connections) => call({ cmd: 'environments', environments, connections }),
    environmentChanges: (environments, everySeconds, seconds) =>
      call({ cmd: 'environment-changes', environments, everySeconds, seconds }),
    requestsByEnvironment: () => call({ cmd: 'requests-by-environment' }),
    sendEnvironmentWebhooks: (deliveries) => call({ cmd: 'environment-webhooks', deliveries }),
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      call({ cmd: 'close' }).catch(() => undefined);
      await exited;
    },
  };
}

function firstReady(child: ChildProcess): Promise<Ready> {
  return new Promise((resolve, reject) => {
    const onMessage = (raw: unknown) => {
      const reply = raw as ChildReply;
      if (reply.type !== 'ready') return;
      child.off('exit', onExit);
      child.off('message', onMessage);
      resolve(reply);
    };
    const onExit = (code: number | null) =>
      reject(new Error(`the emulator exited before it was ready (${code})`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
