/**
 * The command line's traces, end to end: `run` and `backfill` in child processes with the standard
 * `OTEL_*` variables set export their spans over OTLP/HTTP to a real receiver this test serves —
 * JSON or protobuf as `OTEL_EXPORTER_OTLP_PROTOCOL` says, under `OTEL_SERVICE_NAME` — and what is
 * still buffered when the process stops is flushed before it exits. A log line written in a span
 * names the trace the receiver got. An exporter or protocol workos-sync does not have is one line
 * naming the variable, exit 2. Real Postgres, the emulator over HTTP.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { type Emulator, generateScenario, startEmulator, WorkosModel } from '../emulator/index.ts';
import { finished, runCli } from './support/cli.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { API_KEY } from './support/sync.ts';
import { startWorkerProcess, until, type WorkerProcess } from './support/worker-process.ts';

interface Export {
  readonly contentType: string;
  readonly body: Buffer;
}

interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes?: readonly { key: string; value: Record<string, unknown> }[];
}

let receiver: Server;
let endpoint: string;
const exports: Export[] = [];
let emulator: Emulator;
const databases: TestDatabase[] = [];
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method === 'POST' && request.url === '/v1/traces')
        exports.push({ contentType: String(request.headers['content-type']), body: Buffer.concat(chunks) });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  const model = new WorkosModel({ seed: 71 });
  generateScenario(model, { seed: 71, events: 60 });
  emulator = await startEmulator({ apiKey: API_KEY, model });
});
afterEach(async () => {
  for (const w of workers.splice(0)) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  for (const d of databases.splice(0)) await d.close();
  exports.length = 0;
});
afterAll(async () => {
  await emulator.close();
  await new Promise((resolve) => receiver.close(resolve));
});

async function database(): Promise<TestDatabase> {
  const d = await createTestDatabase({ migrate: false });
  databases.push(d);
  return d;
}

/** Every span of every JSON export so far, with its resource's `service.name`. */
function jsonSpans(): (OtlpSpan & { service: string })[] {
  return exports.flatMap((e) => {
    expect(e.contentType).toBe('application/json');
    const body = JSON.parse(e.body.toString('utf8')) as {
      resourceSpans: {
        resource: { attributes: OtlpSpan['attributes'] };
        scopeSpans: { spans: OtlpSpan[] }[];
      }[];
    };
    return body.resourceSpans.flatMap((r) => {
      const service = r.resource.attributes?.find((a) => a.key === 'service.name')?.value.stringValue;
      return r.scopeSpans.flatMap((s) => s.spans.map((span) => ({ ...span, service: String(service) })));
    });
  });
}

it('run exports over OTLP/HTTP JSON: the poll, its WorkOS requests, its batches and their COMMIT; the rest flushed at SIGTERM', async () => {
  const d = await database();
  const w = await startWorkerProcess({
    DATABASE_URL: d.url,
    WORKOS_API_KEY: API_KEY,
    WORKOS_API_URL: emulator.url,
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'sync-under-test',
    // Nothing is exported by the timer: what arrives, arrives at shutdown.
    OTEL_BSP_SCHEDULE_DELAY: '3600000',
  });
  workers.push(w);
  await until(
    () => w.logs().includes('poll applied events'),
    30_000,
    () => w.logs(),
  );
  expect(exports).toEqual([]);
  w.child.kill('SIGTERM');
  expect((await w.exited).code).toBe(0);

  const spans = jsonSpans();
  expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['sync-under-test']));
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const batch = spans.find((s) => s.name === 'workos_sync.batch')!;
  expect(byId.get(batch.parentSpanId!)?.name).toBe('workos_sync.poll');
  const commit = spans.find((s) => s.name === 'COMMIT' && s.parentSpanId === batch.spanId);
  expect(commit?.kind).toBe(3); // CLIENT, in OTLP's numbering
  expect(spans.some((s) => s.name === 'GET /events' && s.kind === 3)).toBe(true);
  const reconcile = spans.find((s) => s.name === 'workos_sync.reconcile')!;
  expect(spans.filter((s) => s.parentSpanId === reconcile.spanId).map((s) => s.name)).toContain(
    'workos_sync.listing',
  );
  // The new mirror's first reconciliation logged inside its span: the line names that trace.
  const line = w
    .logs()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { msg?: string; trace_id?: string; span_id?: string })
    .find((l) => l.msg === 'reconciliation finished');
  expect(line).toMatchObject({ trace_id: reconcile.traceId, span_id: reconcile.spanId });
  expect(JSON.stringify(spans)).not.toContain(API_KEY);
});

it('backfill exports OTLP/HTTP protobuf by default, flushed before the command exits', async () => {
  const d = await database();
  const result = await runCli(['backfill'], {
    DATABASE_URL: d.url,
    WORKOS_API_KEY: API_KEY,
    WORKOS_API_URL: emulator.url,
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${endpoint}/v1/traces`,
    OTEL_BSP_SCHEDULE_DELAY: '3600000',
  });
  expect(result.code, result.stderr).toBe(0);
  expect(exports.length).toBeGreaterThan(0);
  for (const e of exports) expect(e.contentType).toBe('application/x-protobuf');
  // Protobuf writes strings as their UTF-8 bytes: the span names and the service are in the body.
  const bytes = Buffer.concat(exports.map((e) => e.body));
  for (const text of ['workos_sync.poll', 'workos_sync.batch', 'COMMIT', 'GET /events', 'workos-sync'])
    expect(bytes.includes(Buffer.from(text)), text).toBe(true);
});

it.each([
  [{ OTEL_TRACES_EXPORTER: 'zipkin' }, /^workos-sync: OTEL_TRACES_EXPORTER: "zipkin" is not an exporter/],
  [
    { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
    /^workos-sync: OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not a protocol/,
  ],
])('%o is one line naming the variable, exit 2', async (env, line) => {
  const result = await runCli(['status'], { DATABASE_URL: 'postgres://127.0.0.1:1/none', ...env });
  expect(result.code).toBe(2);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(line);
});

it('the README`s SDK setup for an application registers a recording tracer', async () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const snippet = /<!-- tracing-sdk:start -->\n```ts\n([\s\S]*?)```\n<!-- tracing-sdk:end -->/.exec(
    readme,
  )?.[1];
  expect(snippet).toBeDefined();
  // Inside the checkout, so its imports resolve to this project's dependencies.
  const dir = mkdtempSync(join(root, 'test', '.readme-tracing-'));
  try {
    const file = join(dir, 'setup.ts');
    writeFileSync(
      file,
      `${snippet}\nconst span = trace.getTracer('readme').startSpan('x');\nconsole.log(JSON.stringify({ recording: span.isRecording() }));\nspan.end();\n`,
    );
    const { spawn } = await import('node:child_process');
    const result = await finished(
      spawn(process.execPath, ['--import', 'tsx', file], {
        cwd: root,
        env: { PATH: process.env.PATH, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ recording: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
