/**
 * `emulator`: the bundled WorkOS API emulator as a local development server, with a named scenario
 * (`empty`, `demo`, `large`) and its control API under `/_emulator/` (docs/emulator.md). Runs until
 * SIGINT/SIGTERM, then closes its server (hanging and keep-alive sockets included) and returns.
 *
 * stdout gets exactly one line, ending with the two variables that point workos-sync (or any
 * WorkOS SDK setup) at it; everything else goes to stderr — including one line per webhook
 * delivery that failed for good (never the secret).
 */

import { clockOffsetProblem, MAX_CLOCK_OFFSET_MS } from '../../emulator/clock.ts';
import { CONTROL_PREFIX } from '../../emulator/control-api.ts';
import { MAX_VISIBILITY_DELAY_MS, visibilityDelayProblem } from '../../emulator/event-log.ts';
import { WorkosModel } from '../../emulator/model.ts';
import { isScenarioName, loadScenario, SCENARIO_NAMES } from '../../emulator/scenarios.ts';
import { startEmulator } from '../../emulator/server.ts';
import { describeLostDelivery } from '../../emulator/webhook-delivery-log.ts';
import {
  resolveWebhookEndpoint,
  WebhookEndpointError,
  type WebhookEndpointOptions,
} from '../../emulator/webhook-endpoint.ts';
import { ConfigError, FatalError } from '../errors.ts';
import { count } from './format.ts';

export interface EmulatorCommandOptions {
  port: number;
  host: string;
  /** Default `empty`. */
  scenario?: string;
  seed: number;
  /** Events the `demo` or `large` scenario generates (defaults 300 and 100,000). */
  events?: number;
  /** Accept only this key. Default: any key that starts with `sk_test_`. */
  apiKey?: string;
  /** How far WorkOS's clock runs ahead of real time (negative: behind), in ms. Default 0. */
  clockOffsetMs?: number;
  /** POST every new event, signed with `webhookSecret`, to this URL. Both or neither. */
  webhookUrl?: string;
  webhookSecret?: string;
  /** How long a new event stays out of `GET /events`, in ms. Default 0. */
  visibilityDelayMs?: number;
}

/** The key printed when `--api-key` is not given (any other `sk_test_…` key works as well). */
export const EMULATOR_DEV_API_KEY = 'sk_test_emulator';
const TEST_KEY_PREFIX = 'sk_test_';
const CLOSE_DEADLINE_MS = 5_000;

/**
 * A flag's text as an integer for `EmulatorCommandOptions` (for the CLI's option parsing): decimal
 * digits with an optional minus sign, else NaN (which `emulatorCommand` refuses by name);
 * undefined stays undefined.
 */
export function integerFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return /^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  d: 86_400_000,
  h: 3_600_000,
  m: 60_000,
  s: 1000,
};

/**
 * `--clock-offset` text as milliseconds (for the CLI's option parsing): an integer with an optional
 * sign and unit — `10m`, `-10m`, `-90s`, `2h`, `1d`, `250ms`, or bare milliseconds — else NaN
 * (which `emulatorCommand` refuses by name); undefined stays undefined.
 */
export function durationFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*([+-]?\d+)(ms|s|m|h|d)?\s*$/.exec(value);
  if (!match) return Number.NaN;
  const unit = match[2] === undefined || match[2] === 'ms' ? 1 : (DURATION_UNITS_MS[match[2]] as number);
  return Number(match[1]) * unit;
}

/** An offset in the largest unit that states it exactly, e.g. `+10m`, `-90s`, `+1500ms`. */
function offsetText(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  const size = Math.abs(ms);
  const unit = Object.entries(DURATION_UNITS_MS).find(([, unitMs]) => size % unitMs === 0);
  return unit ? `${sign}${size / unit[1]}${unit[0]}` : `${sign}${size}ms`;
}

/** Any `sk_test_…` key (with something after the prefix): live keys are refused. */
export function isTestApiKey(key: string): boolean {
  return key.startsWith(TEST_KEY_PREFIX) && key.length > TEST_KEY_PREFIX.length && !/\s/.test(key);
}

function webhookFrom(options: EmulatorCommandOptions): WebhookEndpointOptions | undefined {
  const { webhookUrl: url, webhookSecret: secret } = options;
  if (url === undefined && secret === undefined) return undefined;
  if (url === undefined || secret === undefined)
    throw new ConfigError('--webhook-url and --webhook-secret go together: give both or neither');
  try {
    resolveWebhookEndpoint({ url, secret });
  } catch (error) {
    if (!(error instanceof WebhookEndpointError)) throw error;
    throw new ConfigError(`${error.field === 'url' ? '--webhook-url' : '--webhook-secret'} ${error.rule}`);
  }
  return { url, secret };
}

/** `+3s`-style text for a duration the flags accepted, e.g. `3s`, `1500ms`. */
function durationText(ms: number): string {
  return offsetText(ms).slice(1);
}

function validate(options: EmulatorCommandOptions) {
  const { port, host, seed, events, apiKey, clockOffsetMs, visibilityDelayMs } = options;
  const scenario = options.scenario ?? 'empty';
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new ConfigError('--port must be an integer from 0 to 65535 (0 picks a free port)');
  if (typeof host !== 'string' || host.trim() === '') throw new ConfigError('--host must not be empty');
  if (!isScenarioName(scenario))
    throw new ConfigError(`--scenario must be one of ${SCENARIO_NAMES.join(', ')} (got "${scenario}")`);
  if (!Number.isSafeInteger(seed)) throw new ConfigError('--seed must be an integer');
  if (events !== undefined) {
    if (scenario === 'empty')
      throw new ConfigError('--events applies to --scenario demo or large, not to the empty scenario');
    if (!Number.isInteger(events) || events < 0 || events > 10_000_000)
      throw new ConfigError('--events must be an integer from 0 to 10000000');
  }
  if (apiKey !== undefined && (apiKey === '' || /\s/.test(apiKey)))
    throw new ConfigError('--api-key must be a non-empty key without spaces');
  if (clockOffsetMs !== undefined && clockOffsetProblem(clockOffsetMs) !== undefined)
    throw new ConfigError(
      Number.isInteger(clockOffsetMs)
        ? `--clock-offset must be within ±${MAX_CLOCK_OFFSET_MS / 86_400_000}d`
        : '--clock-offset must be a duration such as 10m, -10m, -90s, 2h, 1d or a number of milliseconds',
    );
  if (visibilityDelayMs !== undefined && visibilityDelayProblem(visibilityDelayMs) !== undefined)
    throw new ConfigError(
      `--visibility-delay must be a duration from 0 to ${durationText(MAX_VISIBILITY_DELAY_MS)}, such as 3s, 500ms or 2m`,
    );
  return {
    port,
    host: host.trim(),
    scenario,
    seed,
    events,
    apiKey,
    clockOffsetMs: clockOffsetMs ?? 0,
    webhook: webhookFrom(options),
    visibilityDelayMs: visibilityDelayMs ?? 0,
  };
}

/** A URL a client on this machine can use: wildcard hosts become loopback. */
function reachableUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
}

function listenError(error: unknown, host: string, port: number): Error {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE')
    return new FatalError(
      `port ${port} on ${host} is already in use: choose another with --port (0 picks a free one)`,
    );
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new ConfigError(`--host ${host} is not an address of this machine`);
  if (code === 'EACCES')
    return new FatalError(`not allowed to listen on ${host}:${port}: choose a port above 1023`);
  return error instanceof Error ? error : new Error(String(error));
}

export async function emulatorCommand(options: EmulatorCommandOptions): Promise<void> {
  const { port, host, scenario, seed, events, apiKey, clockOffsetMs, webhook, visibilityDelayMs } =
    validate(options);

  // Installed before anything slow, so a signal during start-up still ends in a clean close.
  let signalled: (signal: NodeJS.Signals) => void = () => {};
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    signalled = resolve;
  });
  const onSignal = (signal: NodeJS.Signals) => signalled(signal);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // Set before the scenario is generated, so its history is placed relative to WorkOS's clock.
    const model = new WorkosModel({ seed, clockOffsetMs });
    if (scenario !== 'empty') process.stderr.write(`generating scenario ${scenario} (seed ${seed})…\n`);
    const summary = loadScenario(model, scenario, { seed, events });

    let emulator: Awaited<ReturnType<typeof startEmulator>>;
    try {
      emulator = await startEmulator({
        model,
        apiKey: apiKey ?? isTestApiKey,
        port,
        host,
        visibilityDelayMs,
        webhook,
        onWebhookSettled: (record) => {
          const line = describeLostDelivery(record);
          if (line !== undefined) process.stderr.write(`${line}\n`);
        },
      });
    } catch (error) {
      throw listenError(error, host, port);
    }
    const url = reachableUrl(host, emulator.port);
    const key = apiKey ?? EMULATOR_DEV_API_KEY;
    process.stdout.write(
      `WorkOS emulator listening on ${url} (scenario ${scenario}, seed ${seed}); ` +
        `point workos-sync at it with: WORKOS_API_URL=${url} WORKOS_API_KEY=${key}\n`,
    );
    const contents =
      scenario === 'empty'
        ? 'no connections, no events'
        : `${count(summary.liveConnections)} live connections (${count(summary.deletedConnections)} deleted) ` +
          `in ${count(summary.organizations)} organisations, ${count(summary.events)} events`;
    const keys =
      apiKey === undefined ? 'any sk_test_… key is accepted' : 'only the --api-key key is accepted';
    const clock = clockOffsetMs === 0 ? '' : `; WorkOS's clock is real time ${offsetText(clockOffsetMs)}`;
    const visibility =
      visibilityDelayMs === 0
        ? ''
        : `; new events are listed ${durationText(visibilityDelayMs)} after creation`;
    const hooks = webhook === undefined ? '' : `; webhooks to ${emulator.webhooks.endpoint()?.url}`;
    process.stderr.write(
      `${contents}; ${keys}${clock}${visibility}${hooks}; control API at ${url}${CONTROL_PREFIX}/ (docs/emulator.md). Ctrl-C stops it.\n`,
    );

    const signal = await stopped;
    const deadline = setTimeout(() => {
      process.stderr.write('emulator did not close in time; exiting anyway\n');
      process.exit(0);
    }, CLOSE_DEADLINE_MS);
    deadline.unref();
    await emulator.close();
    clearTimeout(deadline);
    process.stderr.write(`emulator stopped (${signal})\n`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
