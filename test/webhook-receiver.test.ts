/**
 * The webhook receiver over real HTTP, verified by the real `@workos-inc/node` SDK: a delivery
 * signed as WorkOS signs (by the emulator's signer, by the SDK's own `computeSignature`, and by the
 * emulator itself end to end) is answered 200 at once and handed on as a nudge with its event id;
 * forged, tampered, re-serialised, replayed (stale), unsigned, malformed, oversized and misrouted
 * requests are refused with their status and metric label and never handed on; the body and the
 * secret never reach a log line. An oversized body is refused before it is sent when the sender
 * asks first (`Expect: 100-continue`, as curl does for large bodies), and the sender reads its 413
 * rather than a reset connection however it sends the body (node:http, and a real curl).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkOS } from '@workos-inc/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, WorkosModel, webhookBody, webhookSignature } from '../emulator/index.ts';
import { createMetrics, type SyncMetrics, WEBHOOK_RESULTS } from '../src/worker/metrics.ts';
import {
  startWebhookReceiver,
  type WebhookDelivery,
  type WebhookReceiverDeps,
  type WebhookReceiverOptions,
} from '../src/worker/webhooks/receiver.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { type CapturedLogs, capturingLogger } from './support/logs.ts';
import { until } from './support/worker-process.ts';

const SECRET = 'whsec_receiver_test_5b1f0c';
const MARKER = 'Marker Corp Ltd';
const webhooks = new WorkOS('sk_test_receiver').webhooks;

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.close();
});
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Running {
  url: string;
  deliveries: WebhookDelivery[];
  metrics: SyncMetrics;
  logs: CapturedLogs;
}

async function start(
  deps: Partial<WebhookReceiverDeps> = {},
  options: Partial<WebhookReceiverOptions> = {},
): Promise<Running> {
  const deliveries: WebhookDelivery[] = [];
  const metrics = createMetrics({ db: t.db });
  const logs = capturingLogger([], 'debug');
  const receiver = await startWebhookReceiver(
    { webhooks, metrics, log: logs.log, onDelivery: (d) => deliveries.push(d), ...deps },
    { host: '127.0.0.1', port: 0, secret: SECRET, ...options },
  );
  cleanups.push(() => receiver.close());
  return { url: receiver.url, deliveries, metrics, logs };
}

/** Non-zero series of workos_sync_webhooks_total, by result. */
async function counted(metrics: SyncMetrics): Promise<Record<string, number>> {
  const metric = metrics.registry.getSingleMetric('workos_sync_webhooks_total');
  if (!metric) throw new Error('workos_sync_webhooks_total is not registered');
  const { values } = await metric.get();
  return Object.fromEntries(values.filter((v) => v.value > 0).map((v) => [v.labels.result, v.value]));
}

async function post(url: string, body: string | Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: new Uint8Array(typeof body === 'string' ? Buffer.from(body) : body),
  });
  return { status: res.status, body: await res.json(), allow: res.headers.get('allow') };
}

function signed(body: string, at = Date.now(), secret = SECRET): Record<string, string> {
  return { 'WorkOS-Signature': webhookSignature(secret, at, body) };
}

/** A real connection event, as the emulator's model writes it, with a name to look for in logs. */
function activationBody(): { id: string; body: string } {
  const model = new WorkosModel();
  const event = model.activate(model.createConnection({ name: MARKER, domains: ['marker.example'] }).id);
  return { id: event.id, body: webhookBody(event) };
}

describe('webhook receiver', () => {
  it('accepts a delivery signed as WorkOS signs with 200 at once, and hands on its event id and type', async () => {
    const receiver = await start();
    const { id, body } = activationBody();
    const before = Date.now();
    expect(await post(receiver.url, body, signed(body))).toMatchObject({
      status: 200,
      body: { status: 'accepted' },
    });
    expect(receiver.deliveries).toEqual([
      { eventId: id, event: 'connection.activated', receivedAt: expect.any(Date) },
    ]);
    expect(receiver.deliveries[0]?.receivedAt.getTime()).toBeGreaterThanOrEqual(before);

    // Signed by the SDK itself, and a body WorkOS might space differently: the HMAC is over the
    // bytes as received, not over a re-serialisation.
    const spaced = `{ "event": "connection.deactivated",\n  "id": "event_spaced", "data": {"id": "conn_1"} }`;
    const at = Date.now();
    const sdkSignature = await webhooks.computeSignature(at, spaced, SECRET);
    const answer = await post(receiver.url, spaced, { 'WorkOS-Signature': `t=${at}, v1=${sdkSignature}` });
    expect(answer.status).toBe(200);
    expect(receiver.deliveries.map((d) => [d.eventId, d.event])).toEqual([
      [id, 'connection.activated'],
      ['event_spaced', 'connection.deactivated'],
    ]);
    expect(await counted(receiver.metrics)).toEqual({ accepted: 2 });
    expect(receiver.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/webhooks\/workos$/);
  });

  it('refuses forged, tampered, re-serialised, replayed, unsigned and malformed deliveries, handing on none', async () => {
    const receiver = await start();
    const { body } = activationBody();
    const compact = `{"event":"connection.deactivated","id":"event_compact","data":{"id":"conn_1"}}`;
    const spacedSignature = signed(compact.replaceAll(':', ': '));
    const lenient = '{"event":"connection.activated","id":"event_\uFFFD","data":{}}';
    const hashed = Buffer.from(lenient.replace('\uFFFD', '#'));
    const invalidUtf8 = hashed.fill(0xff, hashed.indexOf('#'), hashed.indexOf('#') + 1);
    expect(invalidUtf8.toString('utf8')).toBe(lenient); // what a lenient decoder would make of it
    const cases: Array<[string, string | Buffer, Record<string, string>, number, string]> = [
      ['another secret', body, signed(body, Date.now(), `${SECRET}_other`), 401, 'bad_signature'],
      [
        'a made-up signature',
        body,
        { 'WorkOS-Signature': `t=${Date.now()}, v1=${'0'.repeat(64)}` },
        401,
        'bad_signature',
      ],
      ['no v1 part', body, { 'WorkOS-Signature': `t=${Date.now()}` }, 401, 'bad_signature'],
      ['a tampered body', body.replace(MARKER, 'Evil Corp'), signed(body), 401, 'bad_signature'],
      ['the same JSON re-serialised', compact, spacedSignature, 401, 'bad_signature'],
      ['a replay signed 181 s ago', body, signed(body, Date.now() - 181_000), 401, 'stale'],
      ['no signature header', body, {}, 401, 'missing_signature'],
      ['an empty signature header', body, { 'WorkOS-Signature': ' ' }, 401, 'missing_signature'],
      [
        'bytes a lenient UTF-8 decoder takes for the signed text',
        invalidUtf8,
        signed(lenient),
        400,
        'bad_body',
      ],
      ['signed text that is not JSON', 'not json', signed('not json'), 400, 'bad_body'],
      [
        'signed JSON without an id',
        '{"event":"connection.activated"}',
        signed('{"event":"connection.activated"}'),
        400,
        'bad_body',
      ],
      ['a signed array', '[1]', signed('[1]'), 400, 'bad_body'],
    ];
    const expected: Record<string, number> = {};
    for (const [name, sent, headers, status, result] of cases) {
      const answer = await post(receiver.url, sent, headers);
      expect(answer.status, name).toBe(status);
      expected[result] = (expected[result] ?? 0) + 1;
      expect(await counted(receiver.metrics), name).toEqual(expected);
    }
    expect(receiver.deliveries).toEqual([]);
    // The same requests, correctly signed, do pass: the refusals above are about the signature.
    expect((await post(receiver.url, body, signed(body))).status).toBe(200);
    expect((await post(receiver.url, lenient, signed(lenient))).status).toBe(200);
    expect(receiver.deliveries).toHaveLength(2);
  });

  it('answers 413 as soon as a body passes the limit, without waiting for the rest, and closes the connection', async () => {
    const receiver = await start({}, { maxBodyBytes: 1024 });
    const big = JSON.stringify({
      event: 'connection.activated',
      id: 'event_big',
      data: { pad: 'x'.repeat(2000) },
    });
    expect((await post(receiver.url, big, signed(big))).status).toBe(413);

    // Chunked, no Content-Length, and never finished: only the limit can end this request.
    const req = httpRequest(receiver.url, { method: 'POST', headers: signed(big) });
    req.on('error', () => {}); // the receiver hangs up while this request is still open
    req.write(Buffer.alloc(1025, 0x20));
    const res = await new Promise<import('node:http').IncomingMessage>((resolve) =>
      req.on('response', resolve),
    );
    expect(res.statusCode).toBe(413);
    expect(res.headers.connection).toBe('close');
    let closed = false;
    res.socket.once('close', () => {
      closed = true;
    });
    res.resume();
    await until(
      () => closed,
      5_000,
      () => 'the receiver kept the connection of an oversized request open',
    );

    // A declared Content-Length over the limit is refused before a byte of the body is read.
    const declared = httpRequest(receiver.url, {
      method: 'POST',
      headers: { ...signed(big), 'Content-Length': '10000000' },
    });
    declared.on('error', () => {});
    declared.write('{"id"');
    const early = await new Promise<import('node:http').IncomingMessage>((resolve) =>
      declared.on('response', resolve),
    );
    expect(early.statusCode).toBe(413);
    early.resume();
    expect(await counted(receiver.metrics)).toEqual({ too_large: 3 });
    expect(receiver.deliveries).toEqual([]);

    // Exactly the limit is fine.
    const [head, tail] = ['{"event":"connection.activated","id":"event_fits","data":"', '"}'];
    const fits = `${head}${'y'.repeat(1024 - head.length - tail.length)}${tail}`;
    expect(Buffer.byteLength(fits)).toBe(1024);
    expect((await post(receiver.url, fits, signed(fits))).status).toBe(200);
  });

  it('answers another method with 405 and Allow: POST, another path with 404', async () => {
    const receiver = await start();
    const { body } = activationBody();
    const get = await fetch(receiver.url);
    expect([get.status, get.headers.get('allow'), await get.json()]).toEqual([
      405,
      'POST',
      { status: 'method not allowed' },
    ]);
    const put = await fetch(receiver.url, { method: 'PUT', body, headers: signed(body) });
    expect([put.status, put.headers.get('allow')]).toEqual([405, 'POST']);
    const base = receiver.url.replace('/webhooks/workos', '');
    for (const path of ['/', '/webhooks', '/webhooks/workos/x', '/healthz']) {
      expect((await post(`${base}${path}`, body, signed(body))).status, path).toBe(404);
    }
    expect(await counted(receiver.metrics)).toEqual({ wrong_method: 2, not_found: 4 });
    expect(receiver.deliveries).toEqual([]);
  });

  it('counts every result from zero, and an onDelivery that throws or rejects fails neither the request nor the server', async () => {
    let calls = 0;
    const rejecting = async () => {
      throw new Error('handler rejected');
    };
    const receiver = await start({
      onDelivery: (delivery) => {
        calls += 1;
        if (delivery.eventId === 'event_throws') throw new Error('handler exploded');
        // Never settles: the 200 must not wait for it.
        if (delivery.eventId === 'event_hangs') return new Promise<void>(() => {});
        return rejecting();
      },
    });
    const metric = receiver.metrics.registry.getSingleMetric('workos_sync_webhooks_total');
    const zero = (await metric?.get())?.values.map((v) => [v.labels.result, v.value]);
    expect(zero).toEqual(WEBHOOK_RESULTS.map((result) => [result, 0]));
    for (const id of ['event_throws', 'event_hangs', 'event_rejects', 'event_throws']) {
      const body = JSON.stringify({ event: 'connection.activated', id, data: {} });
      expect((await post(receiver.url, body, signed(body))).status).toBe(200);
    }
    expect(calls).toBe(4);
    await until(
      () => receiver.logs.lines().filter((l) => l.msg === 'webhook delivery handler failed').length === 3,
      5_000,
      () => receiver.logs.text(),
    );
  });

  it('logs only the event id and type, at debug level: never the body or the secret', async () => {
    const receiver = await start();
    const { id, body } = activationBody();
    await post(receiver.url, body, signed(body));
    await post(receiver.url, body, signed(body, Date.now(), 'whsec_wrong'));
    await post(receiver.url, body.replace(MARKER, 'Tampered'), signed(body));
    await post(receiver.url, body);
    const lines = receiver.logs.lines();
    expect(lines.find((l) => l.msg === 'webhook accepted')).toMatchObject({
      level: 20,
      eventId: id,
      eventType: 'connection.activated',
    });
    expect(lines.filter((l) => l.msg === 'webhook refused').map((l) => [l.level, l.result])).toEqual([
      [20, 'bad_signature'],
      [20, 'bad_signature'],
      [20, 'missing_signature'],
    ]);
    const text = receiver.logs.text();
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(MARKER);
    expect(text).not.toContain('marker.example');
  });

  it('takes the emulator’s deliveries end to end, and close() stops listening', async () => {
    const receiver = await start();
    const emulator = await startEmulator({
      apiKey: 'sk_test_receiver',
      webhook: { url: receiver.url, secret: SECRET },
    });
    cleanups.push(() => emulator.close());
    const { id } = emulator.model.createConnection({ name: MARKER });
    const events = [
      emulator.model.activate(id),
      emulator.model.deactivate(id),
      emulator.model.deleteConnection(id),
    ];
    await emulator.webhooks.settled();
    expect(new Set(receiver.deliveries.map((d) => `${d.eventId} ${d.event}`))).toEqual(
      new Set(events.map((e) => `${e.id} ${e.event}`)),
    );
    expect(emulator.webhooks.deliveries().map((d) => [d.state, d.attempts.map((a) => a.status)])).toEqual([
      ['delivered', [200]],
      ['delivered', [200]],
      ['delivered', [200]],
    ]);
    expect(await counted(receiver.metrics)).toEqual({ accepted: 3 });

    // The emulator with another secret: every attempt refused, retried, then given up.
    emulator.webhooks.configure({
      url: receiver.url,
      secret: 'whsec_not_ours',
      retryDelayMs: 1,
      maxAttempts: 2,
    });
    emulator.model.activate(emulator.model.createConnection().id);
    await emulator.webhooks.settled();
    expect(emulator.webhooks.deliveries()[3]).toMatchObject({
      state: 'failed',
      attempts: [{ status: 401 }, { status: 401 }],
    });
    expect(receiver.deliveries).toHaveLength(3);

    const cleanup = cleanups.shift();
    await cleanup?.();
    await expect(fetch(receiver.url, { method: 'POST' })).rejects.toThrow();
  });
});

/** What a sender using node:http saw of one exchange, up to its connection's close. */
interface Exchange {
  status: number | undefined;
  connection: string | undefined;
  body: unknown;
  /** Whether the receiver said `100 Continue`. */
  continued: boolean;
  /** Every error the request or its socket raised (a reset is ECONNRESET or EPIPE). */
  errors: string[];
}

/**
 * POSTs `body` with node:http: at once (`now`), only once told to continue (`on-continue`, with
 * `Expect: 100-continue`, as a careful client does), or chunked without a Content-Length in 64
 * KiB writes that respect backpressure (`chunked`). Settles once the connection has closed, so a
 * reset after the answer is seen too.
 */
function exchange(
  url: string,
  body: Buffer,
  headers: Record<string, string>,
  send: 'now' | 'on-continue' | 'chunked',
) {
  return new Promise<Exchange>((resolve) => {
    const seen: Exchange = {
      status: undefined,
      connection: undefined,
      body: undefined,
      continued: false,
      errors: [],
    };
    const req = httpRequest(url, {
      method: 'POST',
      agent: false,
      headers: {
        'Content-Type': 'application/json',
        ...(send === 'chunked' ? {} : { 'Content-Length': String(body.length) }),
        ...(send === 'on-continue' ? { Expect: '100-continue' } : {}),
        ...headers,
      },
    });
    req.on('error', (error: NodeJS.ErrnoException) => seen.errors.push(error.code ?? error.message));
    req.on('socket', (socket) => {
      socket.on('error', (error: NodeJS.ErrnoException) =>
        seen.errors.push(`socket ${error.code ?? error.message}`),
      );
      socket.once('close', () => setImmediate(() => resolve(seen)));
    });
    req.on('continue', () => {
      seen.continued = true;
      req.end(body);
    });
    req.on('response', (res) => {
      seen.status = res.statusCode;
      seen.connection = res.headers.connection;
      let text = '';
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => {
        seen.body = JSON.parse(text);
      });
    });
    if (send === 'now') req.end(body);
    if (send === 'chunked') {
      let at = 0;
      const more = (): void => {
        while (at < body.length) {
          const chunk = body.subarray(at, at + 64 * 1024);
          at += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', more);
        }
        req.end();
      };
      more();
    }
  });
}

/** A delivery WorkOS might have signed, padded to `bytes`: were it read, it would be accepted. */
function paddedDelivery(bytes: number): { body: Buffer; headers: Record<string, string> } {
  const [head, tail] = ['{"event":"connection.activated","id":"event_padded","data":{"pad":"', '"}}'];
  const text = `${head}${'x'.repeat(bytes - head.length - tail.length)}${tail}`;
  return { body: Buffer.from(text), headers: signed(text) };
}

const EIGHT_MB = 8 * 1024 * 1024;
const tooLarge = { status: 413, connection: 'close', body: { status: 'body too large' }, errors: [] };

describe('webhook receiver, a body over the limit however it is sent', () => {
  it('Expect: 100-continue (node:http): 413 (or 404) before the body is sent, no 100 Continue, and a clean close', async () => {
    const receiver = await start();
    const { body, headers } = paddedDelivery(EIGHT_MB);
    expect(await exchange(receiver.url, body, headers, 'on-continue')).toEqual({
      ...tooLarge,
      continued: false,
    });
    // Refused from its path alike: a body never read is never asked for.
    const elsewhere = receiver.url.replace('/webhooks/workos', '/webhooks');
    expect(await exchange(elsewhere, body, headers, 'on-continue')).toEqual({
      ...tooLarge,
      status: 404,
      body: { status: 'not found' },
      continued: false,
    });
    expect(receiver.deliveries).toEqual([]);
    expect(await counted(receiver.metrics)).toEqual({ too_large: 1, not_found: 1 });
  });

  it('the whole body sent at once with its Content-Length: 413 from the header, and the sender reads it, not a reset', async () => {
    const receiver = await start();
    const { body, headers } = paddedDelivery(EIGHT_MB);
    expect(await exchange(receiver.url, body, headers, 'now')).toEqual({ ...tooLarge, continued: false });
    expect(receiver.deliveries).toEqual([]);
    expect(await counted(receiver.metrics)).toEqual({ too_large: 1 });
  });

  it('chunked, with no Content-Length, growing past the limit: 413, and a clean close', async () => {
    const receiver = await start();
    const { body, headers } = paddedDelivery(EIGHT_MB);
    expect(await exchange(receiver.url, body, headers, 'chunked')).toEqual({ ...tooLarge, continued: false });
    expect(receiver.deliveries).toEqual([]);
    expect(await counted(receiver.metrics)).toEqual({ too_large: 1 });
  });

  it('a delivery under the limit sent with Expect: 100-continue is told to continue, then accepted', async () => {
    const receiver = await start();
    const { body, headers } = paddedDelivery(60 * 1024);
    expect(await exchange(receiver.url, body, headers, 'on-continue')).toMatchObject({
      status: 200,
      body: { status: 'accepted' },
      continued: true,
      errors: [],
    });
    expect(receiver.deliveries.map((d) => d.eventId)).toEqual(['event_padded']);
    expect(await counted(receiver.metrics)).toEqual({ accepted: 1 });
  });
});

// curl is how a user sends a file by hand. Skipped on a machine without it, outside CI; under
// .ci/run (WORKOS_SYNC_CI=1) it runs, and fails without it.
const hasCurl = spawnSync('curl', ['--version']).status === 0;
const inCi = process.env.WORKOS_SYNC_CI === '1';
describe.skipIf(!hasCurl && !inCi)(
  `webhook receiver, sent a file with curl${hasCurl ? '' : ' (curl missing)'}`,
  () => {
    /** `curl --data-binary @file`: the status, what curl uploaded, the answer, and curl's own report. */
    async function curlFile(
      url: string,
      body: Buffer,
      headers: Record<string, string>,
      extra: string[] = [],
    ) {
      expect(hasCurl, 'curl is not installed').toBe(true);
      const dir = mkdtempSync(join(tmpdir(), 'workos-sync-curl-'));
      cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
      const file = join(dir, 'delivery.json');
      writeFileSync(file, body);
      const args = ['--silent', '--show-error', '--verbose', '--data-binary', `@${file}`];
      for (const [name, value] of Object.entries({ 'Content-Type': 'application/json', ...headers }))
        args.push('--header', `${name}: ${value}`);
      args.push('--write-out', '\n%{http_code} %{size_upload}', ...extra, url);
      const child = spawn('curl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
      });
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      // The answer (its own line), then the --write-out line.
      const cut = stdout.lastIndexOf('\n');
      const answer = stdout.slice(0, cut).trim();
      const [status, uploaded] = stdout
        .slice(cut + 1)
        .split(' ')
        .map(Number);
      return { code, status, uploaded, body: answer ? JSON.parse(answer) : null, stderr };
    }

    it('8 MB: curl asks first by itself, is answered 413 before it uploads a byte, and closes cleanly', async () => {
      const receiver = await start();
      const { body, headers } = paddedDelivery(EIGHT_MB);
      const result = await curlFile(receiver.url, body, headers);
      expect(result.stderr).toContain('> Expect: 100-continue');
      expect(result.stderr).not.toContain('< HTTP/1.1 100 Continue');
      expect(result).toMatchObject({ code: 0, status: 413, uploaded: 0, body: { status: 'body too large' } });
      expect(result.stderr).not.toMatch(/reset|broken pipe|Recv failure|Send failure/i);
      expect(receiver.deliveries).toEqual([]);
      expect(await counted(receiver.metrics)).toEqual({ too_large: 1 });
    });

    it('a small delivery with Expect: 100-continue: told to continue, uploaded whole, accepted', async () => {
      const receiver = await start();
      const { body, headers } = paddedDelivery(4 * 1024);
      const result = await curlFile(receiver.url, body, { ...headers, Expect: '100-continue' });
      expect(result.stderr).toContain('< HTTP/1.1 100 Continue');
      expect(result).toMatchObject({
        code: 0,
        status: 200,
        uploaded: body.length,
        body: { status: 'accepted' },
      });
      expect(receiver.deliveries.map((d) => d.eventId)).toEqual(['event_padded']);
    });
  },
);
