/**
 * The emulator's webhook deliveries: every event the model appends while an endpoint is set is
 * POSTed to it, signed as WorkOS signs (`webhook-signing.ts`), and retried as WorkOS retries, on a
 * schedule scaled down to milliseconds (`webhook-endpoint.ts`).
 *
 * Deliveries never hold up the API: `enqueue` only records the delivery and queues it; at most
 * `concurrency` attempts run at once, and at most `maxPending` deliveries wait (queued, in flight
 * or between retries) — past that a new one is recorded as `dropped` rather than grow without
 * bound. Every delivery ends in one state: `delivered` (a 2xx), `failed` (attempts used up),
 * `abandoned` (the endpoint was replaced or removed, or the emulator closed) or `dropped`.
 *
 * `close()` is deterministic: it cancels the retry timers, aborts the attempts in flight and
 * resolves once they have settled, so nothing of the dispatcher outlives it.
 */
import type { EventBody } from './event-log.ts';
import {
  WebhookDeliveryLog,
  type WebhookDeliveryRecord,
  type WebhookDeliveryState,
} from './webhook-delivery-log.ts';
import {
  type ResolvedWebhookEndpoint,
  resolveWebhookEndpoint,
  retryDelay,
  type WebhookEndpoint,
  type WebhookEndpointOptions,
} from './webhook-endpoint.ts';
import { postWebhook } from './webhook-post.ts';
import { WEBHOOK_SIGNATURE_HEADER, webhookBody, webhookSignature } from './webhook-signing.ts';

/** The webhook side of a running emulator (`Emulator.webhooks`). */
export interface EmulatorWebhooks {
  /** Sets (or replaces) the endpoint; throws WebhookEndpointError. Pending deliveries are abandoned. */
  configure(options: WebhookEndpointOptions): WebhookEndpoint;
  /** Stops delivering: pending deliveries are abandoned. */
  remove(): { removed: boolean; abandoned: number };
  endpoint(): WebhookEndpoint | undefined;
  /** Every delivery recorded (the newest `maxRecorded`), oldest first; copies. */
  deliveries(): WebhookDeliveryRecord[];
  /** Resolves once no delivery is pending and no attempt is running. */
  settled(): Promise<void>;
}

export interface WebhookDispatcherOptions {
  /** WorkOS's clock: signature timestamps and attempt times. */
  clock: () => Date;
  /** Deliveries that may wait at once (default 1000). */
  maxPending?: number;
  /** Attempts that may run at once (default 4). */
  concurrency?: number;
  /** Deliveries kept in the log (default 1000); past it the oldest half is forgotten. */
  maxRecorded?: number;
  /** Told when a delivery reaches its final state. */
  onSettled?: (record: WebhookDeliveryRecord) => void;
}

interface Delivery {
  record: WebhookDeliveryRecord;
  body: string;
  endpoint: ResolvedWebhookEndpoint;
  retryTimer?: NodeJS.Timeout;
  abort?: AbortController;
}

export class WebhookDispatcher implements EmulatorWebhooks {
  private current: ResolvedWebhookEndpoint | undefined;
  private readonly log: WebhookDeliveryLog;
  private readonly queue: Delivery[] = [];
  private readonly pending = new Set<Delivery>();
  private readonly running = new Set<Promise<void>>();
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.log = new WebhookDeliveryLog(options.maxRecorded);
  }

  configure(options: WebhookEndpointOptions): WebhookEndpoint {
    const endpoint = resolveWebhookEndpoint(options);
    this.abandonPending();
    this.current = endpoint;
    return shown(endpoint);
  }

  remove(): { removed: boolean; abandoned: number } {
    const removed = this.current !== undefined;
    this.current = undefined;
    return { removed, abandoned: this.abandonPending() };
  }

  endpoint(): WebhookEndpoint | undefined {
    return this.current && shown(this.current);
  }

  deliveries(): WebhookDeliveryRecord[] {
    return this.log.all();
  }

  settled(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  /** Called for every event the model appends; does nothing without an endpoint. */
  enqueue(event: EventBody): void {
    const endpoint = this.current;
    if (endpoint === undefined || this.closed) return;
    const record = this.log.start(event, endpoint.url);
    const delivery: Delivery = { record, body: webhookBody(event), endpoint };
    if (this.pending.size >= (this.options.maxPending ?? 1000)) {
      this.finish(delivery, 'dropped');
      return;
    }
    this.pending.add(delivery);
    this.queue.push(delivery);
    this.pump();
  }

  /** Abandons every pending delivery and resolves once the attempts in flight have settled. */
  async close(): Promise<void> {
    this.closed = true;
    this.current = undefined;
    this.abandonPending();
    await Promise.all(this.running);
  }

  private pump(): void {
    const concurrency = this.options.concurrency ?? 4;
    while (this.running.size < concurrency) {
      const delivery = this.queue.shift();
      if (delivery === undefined) return;
      this.attempt(delivery);
    }
  }

  private attempt(delivery: Delivery): void {
    const { endpoint, body, record } = delivery;
    const at = this.options.clock();
    const headers = {
      'Content-Type': 'application/json',
      'User-Agent': 'workos-sync-emulator',
      [WEBHOOK_SIGNATURE_HEADER]: webhookSignature(endpoint.secret, at.getTime(), body),
    };
    const abort = new AbortController();
    delivery.abort = abort;
    const started = performance.now();
    const run = postWebhook(endpoint.target, headers, body, endpoint.timeoutMs, abort.signal).then(
      (outcome) => {
        this.running.delete(run);
        delivery.abort = undefined;
        const durationMs = Math.round(performance.now() - started);
        record.attempts.push({ at, status: outcome.status, error: outcome.error, durationMs });
        if (record.state === 'pending') this.afterAttempt(delivery, outcome.status);
        this.pump();
        this.checkIdle();
      },
    );
    this.running.add(run);
  }

  private afterAttempt(delivery: Delivery, status: number | null): void {
    const made = delivery.record.attempts.length;
    if (status !== null && status >= 200 && status < 300) this.finish(delivery, 'delivered');
    else if (made >= delivery.endpoint.maxAttempts) this.finish(delivery, 'failed');
    else this.scheduleRetry(delivery, made);
  }

  private scheduleRetry(delivery: Delivery, made: number): void {
    delivery.retryTimer = setTimeout(
      () => {
        delivery.retryTimer = undefined;
        this.queue.push(delivery);
        this.pump();
      },
      retryDelay(delivery.endpoint, made),
    );
  }

  private abandonPending(): number {
    const abandoned = [...this.pending];
    this.queue.length = 0;
    for (const delivery of abandoned) {
      clearTimeout(delivery.retryTimer);
      delivery.abort?.abort();
      this.finish(delivery, 'abandoned');
    }
    this.checkIdle();
    return abandoned.length;
  }

  private finish(delivery: Delivery, state: Exclude<WebhookDeliveryState, 'pending'>): void {
    delivery.record.state = state;
    this.pending.delete(delivery);
    this.options.onSettled?.(delivery.record);
  }

  private checkIdle(): void {
    if (this.pending.size > 0 || this.running.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function shown({ url, maxAttempts, retryDelayMs, timeoutMs }: ResolvedWebhookEndpoint): WebhookEndpoint {
  return { url, maxAttempts, retryDelayMs, timeoutMs };
}
