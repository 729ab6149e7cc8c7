/**
 * The log of the emulator's webhook deliveries: one record per event sent (or dropped), with every
 * attempt and the state it ended in, for tests and people to see what the endpoint was sent and
 * how it answered. It keeps the newest `maxRecorded`, so a long-running emulator does not grow
 * without bound.
 */
import type { EventBody } from './event-log.ts';

export type WebhookDeliveryState = 'pending' | 'delivered' | 'failed' | 'abandoned' | 'dropped';

export interface WebhookAttempt {
  /** When it was signed and sent, in WorkOS's clock: the `t` of its signature. */
  at: Date;
  /** The answer's status, or null when none came. */
  status: number | null;
  /** Why there was no status (`ECONNREFUSED`, `timeout after 5000 ms`, `abandoned`), else null. */
  error: string | null;
  durationMs: number;
}

export interface WebhookDeliveryRecord {
  id: string;
  /** The event's `id` and `event` (null when a raw event lacks them). */
  eventId: string | null;
  eventType: string | null;
  url: string;
  state: WebhookDeliveryState;
  attempts: WebhookAttempt[];
}

export class WebhookDeliveryLog {
  private readonly records: WebhookDeliveryRecord[] = [];
  private sequence = 0;

  /** Past it the oldest half is forgotten (the records still pending keep being updated). */
  constructor(private readonly maxRecorded = 1000) {}

  /** A new pending record for `event` sent to `url`; the caller updates it as attempts happen. */
  start(event: EventBody, url: string): WebhookDeliveryRecord {
    const record: WebhookDeliveryRecord = {
      id: `webhook_delivery_${++this.sequence}`,
      eventId: typeof event.id === 'string' ? event.id : null,
      eventType: typeof event.event === 'string' ? event.event : null,
      url,
      state: 'pending',
      attempts: [],
    };
    if (this.records.length >= this.maxRecorded) this.records.splice(0, Math.ceil(this.records.length / 2));
    this.records.push(record);
    return record;
  }

  /** Oldest first; copies, so a caller cannot change the log. */
  all(): WebhookDeliveryRecord[] {
    return this.records.map((r) => ({ ...r, attempts: r.attempts.map((a) => ({ ...a })) }));
  }
}

/** One line for a delivery that will not be retried any more; undefined for the others. */
export function describeLostDelivery(record: WebhookDeliveryRecord): string | undefined {
  if (record.state !== 'failed' && record.state !== 'dropped') return undefined;
  const last = record.attempts.at(-1);
  const why =
    record.state === 'dropped'
      ? 'dropped: too many deliveries waiting'
      : `failed after ${record.attempts.length} attempts (last: ${last?.status ?? last?.error})`;
  return `webhook for ${record.eventType ?? 'event'} ${record.eventId ?? '(no id)'} to ${record.url} ${why}`;
}
