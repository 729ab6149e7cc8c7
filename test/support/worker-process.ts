/** `workos-sync run` in a child process, with its health and metrics server on a free port. */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CliResult, finished, spawnCli } from './cli.ts';

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<CliResult>;
  /** Every stderr line so far (JSON log lines). */
  logs(): string;
  metric(name: string, labels?: Record<string, string>): Promise<number | undefined>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * One sample from a Prometheus text page (`metricsUrl`, a `/metrics` address): the first line
 * of `name` carrying every label given; undefined when there is none.
 */
export async function scrapeMetric(
  metricsUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const text = await (await fetch(metricsUrl)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name} `) && !line.startsWith(`${name}{`)) continue;
    if (wanted.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

export async function startWorkerProcess(env: Record<string, string | undefined>): Promise<WorkerProcess> {
  const port = await freePort();
  const child = spawnCli(['run'], {
    WORKOS_SYNC_POLL_CRON: '* * * * * *',
    WORKOS_SYNC_RECONCILE_CRON: '0 0 1 1 *',
    WORKOS_SYNC_LEASE_SECONDS: '2',
    WORKOS_SYNC_HTTP_PORT: String(port),
    LOG_LEVEL: 'info',
    ...env,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = finished(child);
  const url = `http://127.0.0.1:${port}`;
  const worker: WorkerProcess = {
    child,
    url,
    exited,
    logs: () => stderr,
    metric: (name, labels) => scrapeMetric(`${url}/metrics`, name, labels),
  };
  await until(
    async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true,
    30_000,
    () => `worker never served /healthz:\n${stderr}`,
  );
  return worker;
}

export async function until(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  describe: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`condition not met within ${timeoutMs} ms ${describe()}`);
}
