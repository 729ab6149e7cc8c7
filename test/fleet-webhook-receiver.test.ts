/**
 * The webhook receiver of a fleet's environments, over real HTTP, verified by the real
 * `@workos-inc/node` SDK: one listener, `POST /webhooks/<environment>` for each environment with a
 * secret, each verified with that secret alone — a delivery signed with another environment's
 * secret is 401 `bad_signature` and never handed on, for either environment; an environment
 * without a secret, and any other name, has no path (404 `not_found`); `/webhooks/workos` is
 * `default`'s when `default` has a secret. Every answer counted by environment where the path
 * named one, never a secret in an answer or a log line. And the nudge bus's payload: it carries
 * the environment, and one from before environments is `default`'s.
 */
import { WorkOS } from '@workos-inc/node';
import { afterEach, describe, expect, it } from 'vitest';
import { webhookSignature } from '../emulator/index.ts';
import { createWebhookReceiverMetrics, WEBHOOK_RESULTS } from '../src/worker/metrics.ts';
import { nudgePayload, parseNudge } from '../src/worker/webhooks/nudge-bus.ts';
import {
  type EnvironmentWebhookDelivery,
  startEnvironmentsWebhookReceiver,
} from '../src/worker/webhooks/receiver.ts';
import { capturingLogger } from './support/logs.ts';

const SECRETS = { alpha: 'whsec_fleet_alpha_3f9a1c', beta: 'whsec_fleet_beta_77d02e' } as const;
const webhooks = new WorkOS('sk_test_fleet_receiver').webhooks;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(environments: readonly { name: string; secret: string }[]) {
  const deliveries: EnvironmentWebhookDelivery[] = [];
  const metrics = createWebhookReceiverMetrics(environments.map((e) => e.name));
  const logs = capturingLogger([], 'debug');
  const receiver = await startEnvironmentsWebhookReceiver(
    { webhooks, metrics, log: logs.log, onDelivery: (d) => deliveries.push(d) },
    { host: '127.0.0.1', port: 0, environments },
  );
  cleanups.push(() => receiver.close());
  return { receiver, deliveries, metrics, logs };
}

/** Non-zero series of workos_sync_webhooks_total, as `environment result` (`-` for none). */
async function counted(metrics: ReturnType<typeof createWebhookReceiverMetrics>) {
  const metric = metrics.registry.getSingleMetric('workos_sync_webhooks_total')!;
  const { values } = await metric.get();
  return Object.fromEntries(
    values
      .filter((v) => v.value > 0)
      .map((v) => [`${v.labels.environment ?? '-'} ${v.labels.result}`, v.value]),
  );
}

function body(id: string): string {
  return JSON.stringify({ id, event: 'connection.activated', data: { id: 'conn_1' } });
}

async function post(url: string, text: string, secret?: string, method = 'POST') {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (secret) headers['WorkOS-Signature'] = webhookSignature(secret, Date.now(), text);
  const res = await fetch(url, { method, headers, body: text });
  return { status: res.status, text: await res.text() };
}

describe('the receiver of several environments', () => {
  it('verifies each environment`s path with its own secret, and refuses another environment`s', async () => {
    const { receiver, deliveries, metrics, logs } = await start([
      { name: 'alpha', secret: SECRETS.alpha },
      { name: 'beta', secret: SECRETS.beta },
    ]);
    expect(receiver.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/webhooks$/);
    expect([...receiver.paths]).toEqual([
      ['/webhooks/alpha', 'alpha'],
      ['/webhooks/beta', 'beta'],
    ]);
    const answers = [
      await post(`${receiver.url}/alpha`, body('event_a1'), SECRETS.alpha),
      await post(`${receiver.url}/beta`, body('event_b1'), SECRETS.beta),
      // Signed with the other environment's secret: refused at either path, handed on to neither.
      await post(`${receiver.url}/alpha`, body('event_b2'), SECRETS.beta),
      await post(`${receiver.url}/beta`, body('event_a2'), SECRETS.alpha),
      await post(`${receiver.url}/alpha`, body('event_a3')),
      await post(`${receiver.url}/alpha`, body('event_a4'), SECRETS.alpha, 'PUT'),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 401, 401, 401, 405]);
    expect(deliveries).toEqual([
      {
        environment: 'alpha',
        eventId: 'event_a1',
        event: 'connection.activated',
        receivedAt: expect.any(Date),
      },
      {
        environment: 'beta',
        eventId: 'event_b1',
        event: 'connection.activated',
        receivedAt: expect.any(Date),
      },
    ]);
    expect(await counted(metrics)).toEqual({
      'alpha accepted': 1,
      'beta accepted': 1,
      'alpha bad_signature': 1,
      'beta bad_signature': 1,
      'alpha missing_signature': 1,
      'alpha wrong_method': 1,
    });
    const said = answers.map((a) => a.text).join('\n') + logs.text();
    for (const secret of Object.values(SECRETS)) expect(said).not.toContain(secret);
    expect(
      logs
        .lines()
        .filter((l) => l.msg === 'webhook refused')
        .map((l) => [l.environment, l.result]),
    ).toEqual([
      ['alpha', 'bad_signature'],
      ['beta', 'bad_signature'],
      ['alpha', 'missing_signature'],
      ['alpha', 'wrong_method'],
    ]);
  });

  it('has no path for an environment without a secret, nor for any other name (404, no environment label)', async () => {
    const { receiver, deliveries, metrics } = await start([{ name: 'alpha', secret: SECRETS.alpha }]);
    // `gamma` is declared without a secret: to the receiver it is any other name.
    for (const path of ['/gamma', '/nope', '/workos', '/default', '', '/', '/alpha/', '/alpha/x', '/ALPHA']) {
      expect((await post(`${receiver.url}${path}`, body('event_x'), SECRETS.alpha)).status, path).toBe(404);
    }
    expect(deliveries).toEqual([]);
    expect(await counted(metrics)).toEqual({ '- not_found': 9 });
    // Every environment's series from zero, and the unlabelled not_found.
    const { values } = await metrics.registry.getSingleMetric('workos_sync_webhooks_total')!.get();
    expect(values.map((v) => `${v.labels.environment ?? '-'} ${v.labels.result}`)).toEqual([
      ...WEBHOOK_RESULTS.map((r) => `alpha ${r}`),
      '- not_found',
    ]);
  });

  it('serves `default` at /webhooks/workos too, as the single-environment worker does, unless an environment is named workos', async () => {
    const { receiver, deliveries } = await start([
      { name: 'default', secret: SECRETS.alpha },
      { name: 'beta', secret: SECRETS.beta },
    ]);
    expect((await post(`${receiver.url}/workos`, body('event_1'), SECRETS.alpha)).status).toBe(200);
    expect((await post(`${receiver.url}/default`, body('event_2'), SECRETS.alpha)).status).toBe(200);
    expect((await post(`${receiver.url}/workos`, body('event_3'), SECRETS.beta)).status).toBe(401);
    expect(deliveries.map((d) => [d.environment, d.eventId])).toEqual([
      ['default', 'event_1'],
      ['default', 'event_2'],
    ]);

    const named = await start([
      { name: 'default', secret: SECRETS.alpha },
      { name: 'workos', secret: SECRETS.beta },
    ]);
    expect((await post(`${named.receiver.url}/workos`, body('event_4'), SECRETS.alpha)).status).toBe(401);
    expect((await post(`${named.receiver.url}/workos`, body('event_5'), SECRETS.beta)).status).toBe(200);
    expect(named.deliveries.map((d) => [d.environment, d.eventId])).toEqual([['workos', 'event_5']]);
  });
});

describe('the nudge bus`s payload', () => {
  it('carries the environment; one without (a release before environments) is `default`s; another NOTIFY is none', () => {
    const receivedAt = new Date('2026-01-02T03:04:05.678Z');
    const payload = nudgePayload({ environment: 'beta', eventId: 'event_1', receivedAt });
    expect(JSON.parse(payload)).toEqual({
      environment: 'beta',
      eventId: 'event_1',
      receivedAt: '2026-01-02T03:04:05.678Z',
    });
    expect(parseNudge(payload)).toEqual({ environment: 'beta', eventId: 'event_1', receivedAt });
    expect(parseNudge(JSON.stringify({ eventId: 'event_2', receivedAt: receivedAt.toISOString() }))).toEqual({
      environment: 'default',
      eventId: 'event_2',
      receivedAt,
    });
    for (const junk of [
      'hello',
      'null',
      '5',
      JSON.stringify({ environment: 7, eventId: 'event_3', receivedAt: receivedAt.toISOString() }),
      JSON.stringify({ environment: 'beta', receivedAt: receivedAt.toISOString() }),
      JSON.stringify({ environment: 'beta', eventId: 'event_4', receivedAt: 'yesterday' }),
    ])
      expect(parseNudge(junk), junk).toBeUndefined();
  });
});
