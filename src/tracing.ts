/**
 * OpenTelemetry spans, as a library makes them: through `@opentelemetry/api` alone, so nothing is
 * recorded (and next to nothing is spent) until the application registers an SDK. What a span
 * carries is counts, event ids, cursors, URLs of WorkOS's API and the environment: never a
 * payload, a secret or a person's data, and an error only by its class (its message may quote a
 * URL or a row).
 */
import {
  type Attributes,
  isSpanContextValid,
  type Link,
  type Span,
  type SpanContext,
  type SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { packageVersion } from './version.ts';

const tracer = () => trace.getTracer('workos-sync', packageVersion());

export interface SpanOptions {
  readonly kind?: SpanKind;
  readonly links?: Link[];
  readonly startTime?: Date;
}

/** `work` inside a span named `name`, made the active one, ended however `work` ends. */
export function inSpan<T>(
  name: string,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
  options: SpanOptions = {},
): Promise<T> {
  return tracer().startActiveSpan(name, { attributes, ...options }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** A span that is not made the active one (a child of the active one): its owner ends it. */
export function startSpan(name: string, attributes: Attributes, options: SpanOptions = {}): Span {
  return tracer().startSpan(name, { attributes, ...options });
}

/** Marks a span failed by the error's class: its message may carry what a span must not. */
export function failed(span: Span, error: unknown): void {
  const type = error instanceof Error ? error.name : 'error';
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

/** The active span's context, when a real one is recording (none without an SDK). */
export function activeSpanContext(): SpanContext | undefined {
  const span = trace.getActiveSpan();
  return span?.isRecording() ? span.spanContext() : undefined;
}

/** Links the active span to each context (a webhook delivery that announced what it applied). */
export function linkActiveSpan(contexts: readonly SpanContext[]): void {
  if (contexts.length > 0) trace.getActiveSpan()?.addLinks(contexts.map((context) => ({ context })));
}

/**
 * What a log line says of the span it was written in (the names the OpenTelemetry log data
 * model and pino's instrumentation use), so a line and its trace find each other.
 */
export function traceFields(): { trace_id: string; span_id: string; trace_flags: string } | undefined {
  const context = activeSpanContext();
  if (!context) return undefined;
  return {
    trace_id: context.traceId,
    span_id: context.spanId,
    trace_flags: flagsHex(context),
  };
}

/** The trace flags as two hex digits, as W3C's `traceparent` and the log data model write them. */
const flagsHex = (context: SpanContext) => `0${context.traceFlags.toString(16)}`.slice(-2);

/** A span context as W3C's `traceparent` writes it: how one crosses to another replica. */
export function traceparent(context: SpanContext): string {
  return `00-${context.traceId}-${context.spanId}-${flagsHex(context)}`;
}

/** The context a `traceparent` names, remote; undefined for anything else. */
export function parseTraceparent(value: unknown): SpanContext | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value);
  if (!match) return undefined;
  const context = {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: Number.parseInt(match[3]!, 16),
    isRemote: true,
  };
  return isSpanContextValid(context) ? context : undefined;
}
