/**
 * OpenTelemetry spans, as a library makes them: through `@opentelemetry/api` alone, so nothing is
 * recorded (and next to nothing is spent) until the application registers an SDK. What a span
 * carries is counts, event ids, cursors and the environment: never a payload, a secret or a
 * person's data, and an error only by its class (its message may quote a URL or a row).
 */
import { type Attributes, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { packageVersion } from './version.ts';

/** Every attribute of ours is under this prefix. */
export const ATTRIBUTE_PREFIX = 'workos_sync.';

const tracer = () => trace.getTracer('workos-sync', packageVersion());

/** `work` inside a span named `name`, made the active one, ended however `work` ends. */
export function inSpan<T>(
  name: string,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: error instanceof Error ? error.name : 'error',
      });
      throw error;
    } finally {
      span.end();
    }
  });
}
