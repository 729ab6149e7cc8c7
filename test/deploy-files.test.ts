/**
 * The deployment files, which CI cannot build or apply (no container engine, no cluster): what can
 * be checked without one. The image runs the package's bin; its HEALTHCHECK probe (run for real
 * with Node) asks /healthz and fails on anything else; compose and Kubernetes give `run` more than
 * its shutdown deadline; the Kubernetes probes ask the real health server's liveness and readiness
 * paths and reach it (listening beyond loopback).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../src/config.ts';
import { type HealthSource, startHttpServer } from '../src/worker/http-server.ts';
import { createMetrics } from '../src/worker/metrics.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { silentLogger } from './support/logs.ts';

const run = promisify(execFile);
const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string>; engines: { node: string } };
const dockerfile = read('Dockerfile');
/** Dockerfile instructions, continuation lines joined. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .filter((line) => line.trim() !== '' && !line.startsWith('#'));
const instruction = (name: string) => instructions.filter((line) => line.startsWith(`${name} `));
const execForm = (line: string) => JSON.parse(line.slice(line.indexOf('['))) as string[];

/** `run`'s shutdown deadline in seconds, as src/commands/run.ts has it. */
const shutdownDeadlineSeconds =
  Number(
    /const SHUTDOWN_DEADLINE_MS = ([\d_]+);/.exec(read('src/commands/run.ts'))![1]!.replaceAll('_', ''),
  ) / 1000;
const defaults = loadConfig({}, {});

describe('Dockerfile', () => {
  it("runs the package's bin as its entry point, `run` by default, not as root, on the Node of engines", () => {
    expect(instruction('ENTRYPOINT').map(execForm)).toEqual([['node', `/app/${pkg.bin['workos-sync']}`]]);
    expect(instruction('CMD').map(execForm)).toEqual([['run']]);
    expect(dockerfile).toContain(`ln -s /app/${pkg.bin['workos-sync']} /usr/local/bin/workos-sync`);
    expect(instruction('USER')).toEqual(['USER node']);
    const major = /^>=(\d+)\./.exec(pkg.engines.node)![1];
    expect(instruction('FROM').map((line) => line.split(' ')[1])).toEqual([
      `node:${major}-slim`,
      `node:${major}-slim`,
    ]);
  });

  describe('HEALTHCHECK', () => {
    const [line] = instruction('HEALTHCHECK');
    const probe = execForm(line!);
    const servers: { close(): unknown }[] = [];
    afterAll(() => {
      for (const server of servers) server.close();
    });

    /** A server answering `status` on /healthz and 500 on every other path. */
    async function stub(status: number) {
      const paths: string[] = [];
      const server = createServer((request, response) => {
        paths.push(request.url ?? '');
        response.writeHead(request.url === '/healthz' ? status : 500).end();
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { port: (server.address() as AddressInfo).port, paths };
    }
    const runProbe = (port: number) =>
      run(probe[0]!, probe.slice(1), {
        env: { PATH: process.env.PATH, WORKOS_SYNC_HTTP_PORT: String(port) },
        timeout: 20_000,
      }).then(
        () => 0,
        (error: { code?: number }) => error.code,
      );

    it('is Node asking /healthz on the configured port (default the CLI`s), with a timeout', () => {
      expect(probe.slice(0, 2)).toEqual(['node', '-e']);
      expect(probe[2]).toContain(`process.env.WORKOS_SYNC_HTTP_PORT || ${defaults.http.port})`);
      expect(line).toMatch(/--timeout=\d+s/);
    });

    it('passes on a 200 from /healthz, fails on a 503 and on a closed port', async () => {
      const healthy = await stub(200);
      expect(await runProbe(healthy.port)).toBe(0);
      expect(healthy.paths).toEqual(['/healthz']);
      expect(await runProbe((await stub(503)).port)).toBe(1);
      const closed = await stub(200);
      servers.pop()!.close();
      expect(await runProbe(closed.port)).toBe(1);
    });
  });
});

describe('compose.yaml', () => {
  interface Service {
    environment: Record<string, string>;
    [key: string]: unknown;
  }
  const { postgres, worker } = (parseYaml(read('compose.yaml')) as { services: Record<string, Service> })
    .services as { postgres: Service; worker: Service };

  it('starts the worker once Postgres is healthy, on it, with the API key from .env', () => {
    expect(postgres.healthcheck).toBeDefined();
    expect(worker.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(worker.env_file).toBe('.env');
    expect(worker.command).toEqual(['run']);
    const env = postgres.environment;
    expect(new URL(worker.environment.DATABASE_URL!)).toMatchObject({
      username: env.POSTGRES_USER,
      password: env.POSTGRES_PASSWORD,
      hostname: 'postgres',
      pathname: `/${env.POSTGRES_DB}`,
    });
  });

  it('publishes the health server, listening beyond loopback, and outwaits the shutdown deadline', () => {
    expect(worker.environment.WORKOS_SYNC_HTTP_HOST).toBe('0.0.0.0');
    expect(worker.ports).toEqual([`127.0.0.1:${defaults.http.port}:${defaults.http.port}`]);
    const grace = /^(\d+)s$/.exec(String(worker.stop_grace_period));
    expect(Number(grace?.[1])).toBeGreaterThan(shutdownDeadlineSeconds);
  });
});

describe('deploy/kubernetes', () => {
  interface Probe {
    httpGet: { path: string; port: string };
  }
  interface Container {
    args: string[];
    env: { name: string; value: string }[];
    envFrom: { secretRef: { name: string } }[];
    ports: { name: string; containerPort: number }[];
    livenessProbe: Probe;
    readinessProbe: Probe;
    resources: { requests: object; limits: object };
  }
  const deployment = parseYaml(read('deploy/kubernetes/deployment.yaml'));
  const secret = parseYaml(read('deploy/kubernetes/secret.yaml'));
  const pod = deployment.spec.template.spec as {
    terminationGracePeriodSeconds: number;
    containers: Container[];
  };
  const [container] = pod.containers as [Container];
  const env = Object.fromEntries(container.env.map(({ name, value }) => [name, value]));
  const probePort = (probe: Probe) =>
    container.ports.find((p) => p.name === probe.httpGet.port)?.containerPort;

  it('runs two replicas of `run`, the key and database URL from the Secret, with resources', () => {
    expect(deployment.kind).toBe('Deployment');
    expect(deployment.spec.replicas).toBe(2);
    expect(container.args).toEqual(['run']);
    expect(secret.kind).toBe('Secret');
    expect(container.envFrom).toEqual([{ secretRef: { name: secret.metadata.name } }]);
    expect(Object.keys(secret.stringData).sort()).toEqual(['DATABASE_URL', 'WORKOS_API_KEY']);
    expect(container.resources.requests).toBeDefined();
    expect(container.resources.limits).toBeDefined();
  });

  it('gives `run` longer than its shutdown deadline to stop', () => {
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(shutdownDeadlineSeconds);
  });

  it('probes the port the health server listens on, on every address (the kubelet is not loopback)', () => {
    expect(env.WORKOS_SYNC_HTTP_HOST).toBe('0.0.0.0');
    const port = Number(env.WORKOS_SYNC_HTTP_PORT ?? defaults.http.port);
    expect(probePort(container.livenessProbe)).toBe(port);
    expect(probePort(container.readinessProbe)).toBe(port);
  });

  describe("the probes' paths, on the real health server", () => {
    let t: TestDatabase;
    let databaseDown = false;
    let server: { url: string; close(): Promise<void> };
    beforeAll(async () => {
      t = await createTestDatabase();
      const health: HealthSource = {
        startedAt: new Date(),
        pollPeriodMs: 60_000,
        lastSuccessfulTickAt: () => new Date(),
        checkDatabase: async () => {
          if (databaseDown) throw new Error('database down');
        },
      };
      server = (await startHttpServer(
        { metrics: createMetrics({ db: t.db }), health, log: silentLogger() },
        { host: '127.0.0.1', port: 'ephemeral' },
      ))!;
    });
    afterAll(async () => {
      await server.close();
      await t.close();
    });
    const status = async (probe: Probe) => (await fetch(server.url + probe.httpGet.path)).status;

    it('liveness: 200 whether or not the database answers (an outage must not restart pods)', async () => {
      databaseDown = false;
      expect(await status(container.livenessProbe)).toBe(200);
      databaseDown = true;
      expect(await status(container.livenessProbe)).toBe(200);
      expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    });

    it('readiness: 200 while the database answers, 503 when it does not', async () => {
      databaseDown = false;
      expect(await status(container.readinessProbe)).toBe(200);
      databaseDown = true;
      expect(await status(container.readinessProbe)).toBe(503);
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    });
  });
});
