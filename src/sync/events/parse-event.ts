/**
 * Raw event → what the page planner works with. Pure. Nothing here throws on bad input: an
 * event that fails validation becomes an `invalid` item that is recorded as quarantined.
 */
import { createHash } from 'node:crypto';
import { describeIssues, eventEnvelope, parseTimestamp } from '../../workos/schemas.ts';
import { mayCarryVerificationToken, withoutVerificationTokens } from '../mirror/redact.ts';
import { handlerFor } from './handlers/index.ts';
import type { EventHandler, Touches } from './handlers/types.ts';

interface ItemBase {
  /** WorkOS's id, or for an event without one a stable id derived from its content. */
  readonly id: string;
  readonly event: string;
  readonly created_at: Date | null;
  /**
   * The event's `data` as WorkOS sent it, less what the mirror never keeps (`redact.ts`): what
   * `events.data` keeps, and a row's `raw`. An event too broken to have a `data` object is kept
   * whole, so a quarantined event loses nothing.
   */
  readonly rawData: unknown;
  readonly context: unknown;
}

export type ParsedItem =
  | (ItemBase & {
      readonly status: 'valid';
      readonly created_at: Date;
      // biome-ignore lint/suspicious/noExplicitAny: the handler and its payload belong together.
      readonly handler: EventHandler<any>;
      readonly data: unknown;
      readonly touches: Touches;
      /** The organization whose connections the batch lists again (`EventHandler.refreshes`). */
      readonly refreshes: string | null;
    })
  | (ItemBase & { readonly status: 'ignored' })
  | (ItemBase & { readonly status: 'invalid'; readonly error: string });

export function parseEvent(raw: unknown): ParsedItem {
  const fields = isRecord(raw) ? raw : {};
  // Postgres text cannot hold NUL: an id or type carrying one is still recorded, minus the NUL.
  const id = typeof fields.id === 'string' && fields.id !== '' ? withoutNul(fields.id) : syntheticId(raw);
  const event =
    typeof fields.event === 'string' && fields.event !== '' ? withoutNul(fields.event) : '(unknown)';
  if (!isRecord(raw))
    return {
      ...lenientBase(id, event, fields, raw),
      status: 'invalid',
      error: 'the event is not a JSON object',
    };
  const envelope = eventEnvelope.safeParse(raw);
  if (!envelope.success)
    return {
      ...lenientBase(id, event, fields, raw),
      status: 'invalid',
      error: describeIssues(envelope.error),
    };
  // A valid envelope has parsed created_at already: do not parse it twice.
  const base = {
    id,
    event,
    created_at: envelope.data.created_at,
    rawData: rawDataOf(event, fields, raw),
    context: fields.context ?? null,
  };

  const handler = handlerFor(envelope.data.event);
  if (!handler) return { ...base, status: 'ignored' };

  const data = handler.schema.safeParse(envelope.data.data);
  if (!data.success) return { ...base, status: 'invalid', error: describeIssues(data.error, 'data') };

  return {
    ...base,
    status: 'valid',
    created_at: envelope.data.created_at,
    handler,
    data: data.data,
    touches: handler.touches(data.data),
    refreshes: handler.refreshes?.(data.data) ?? null,
  };
}

/** What is known of an event that fails validation: its time only if that much parses. */
function lenientBase(id: string, event: string, fields: Record<string, unknown>, raw: unknown): ItemBase {
  const createdAt = typeof fields.created_at === 'string' ? parseTimestamp(fields.created_at) : null;
  return {
    id,
    event,
    created_at: createdAt,
    rawData: rawDataOf(event, fields, raw),
    context: fields.context ?? null,
  };
}

function rawDataOf(event: string, fields: Record<string, unknown>, raw: unknown): unknown {
  const data = ('data' in fields ? fields.data : raw) ?? null;
  return mayCarryVerificationToken(event) ? withoutVerificationTokens(data) : data;
}

/** Key order is not part of a JSON value: compare and hash payloads in one canonical form. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isRecord(v) && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

function syntheticId(raw: unknown): string {
  return `invalid_${createHash('sha256')
    .update(canonicalJson(raw) ?? 'undefined')
    .digest('hex')
    .slice(0, 32)}`;
}

function withoutNul(text: string): string {
  return text.replaceAll('\u0000', '\ufffd');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
