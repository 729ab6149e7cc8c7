/**
 * The pure decisions of tracing: when the command line starts the SDK and with what
 * (`parseTelemetry`, from the standard `OTEL_*` variables), and a span context's round trip
 * through the `traceparent` a nudge carries between replicas.
 */
import { describe, expect, it } from 'vitest';
import { parseTelemetry } from '../src/config/telemetry.ts';
import { ConfigError } from '../src/errors.ts';
import { parseTraceparent, traceparent } from '../src/tracing.ts';

describe('parseTelemetry', () => {
  it.each([
    [{}, null],
    [{ OTEL_SERVICE_NAME: 'x' }, null],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, { exporters: ['otlp'], protocol: 'http/protobuf' }],
    [
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' },
      { exporters: ['otlp'], protocol: 'http/protobuf' },
    ],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, { exporters: ['otlp'], protocol: 'http/protobuf' }],
    [{ OTEL_TRACES_EXPORTER: 'console' }, { exporters: ['console'], protocol: 'http/protobuf' }],
    [
      { OTEL_TRACES_EXPORTER: ' OTLP , console,otlp' },
      { exporters: ['otlp', 'console'], protocol: 'http/protobuf' },
    ],
    [{ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, null],
    [{ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }, null],
    [
      { OTEL_SDK_DISABLED: 'false', OTEL_TRACES_EXPORTER: 'otlp' },
      { exporters: ['otlp'], protocol: 'http/protobuf' },
    ],
    [
      { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
      { exporters: ['otlp'], protocol: 'http/json' },
    ],
    [
      {
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      },
      { exporters: ['otlp'], protocol: 'http/json' },
    ],
    // The console exporter sends nothing: a protocol it would not use is no error.
    [
      { OTEL_TRACES_EXPORTER: 'console', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      { exporters: ['console'], protocol: 'grpc' },
    ],
  ])('%o → %o', (env, expected) => {
    expect(parseTelemetry(env)).toEqual(expected);
  });

  it.each([
    [
      { OTEL_TRACES_EXPORTER: 'jaeger' },
      'OTEL_TRACES_EXPORTER: "jaeger" is not an exporter workos-sync has (otlp, console or none)',
    ],
    [
      { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      'OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not a protocol',
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/xml' },
      'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/xml" is not a protocol',
    ],
  ])('%o is a ConfigError naming the variable', (env, message) => {
    expect(() => parseTelemetry(env)).toThrow(ConfigError);
    expect(() => parseTelemetry(env)).toThrow(message);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(parseTelemetry({ OTEL_TRACES_EXPORTER: 'otlp' }))).toBe(true);
  });
});

describe('traceparent', () => {
  const context = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };

  it('round-trips a span context, as remote', () => {
    expect(traceparent(context)).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(parseTraceparent(traceparent(context))).toEqual({ ...context, isRemote: true });
    expect(parseTraceparent(traceparent({ ...context, traceFlags: 0 }))?.traceFlags).toBe(0);
  });

  it.each([
    undefined,
    42,
    '',
    '01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01',
    '00-00000000000000000000000000000000-b7ad6b7169203331-01',
    '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01',
    '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra',
  ])('%o is no context', (value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });
});
