/**
 * Whether the command line exports traces, read from the standard OpenTelemetry variables, once.
 * Tracing starts when `OTEL_TRACES_EXPORTER` names an exporter, or when it is unset and an OTLP
 * endpoint is (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`): the
 * specification's default exporter is OTLP, but a worker that sends to localhost:4318 because
 * nothing was set would only fill its log with refused exports. `OTEL_SDK_DISABLED=true` wins.
 *
 * The rest of the variables (the endpoint, headers, timeouts, `OTEL_SERVICE_NAME`,
 * `OTEL_RESOURCE_ATTRIBUTES`, the batch processor's `OTEL_BSP_*`) are the SDK's to read, as it
 * documents them.
 */
import { ConfigError } from '../errors.ts';

export type TraceExporterName = 'otlp' | 'console';
export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface TelemetryConfig {
  readonly exporters: readonly TraceExporterName[];
  /** How OTLP is sent: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`, else protobuf. */
  readonly protocol: OtlpProtocol;
}

const EXPORTERS = ['otlp', 'console', 'none'] as const;
const PROTOCOLS: readonly string[] = ['http/protobuf', 'http/json'];

/** Null when nothing asks for traces. */
export function parseTelemetry(env: Readonly<Record<string, string | undefined>>): TelemetryConfig | null {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return null;
  const named = env.OTEL_TRACES_EXPORTER?.trim();
  const endpoint = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const listed = named ? named.split(',').map((name) => name.trim().toLowerCase()) : endpoint ? ['otlp'] : [];
  for (const name of listed)
    if (!(EXPORTERS as readonly string[]).includes(name))
      throw new ConfigError(
        `OTEL_TRACES_EXPORTER: "${name}" is not an exporter workos-sync has (otlp, console or none)`,
      );
  const exporters = [...new Set(listed.filter((name) => name !== 'none'))] as TraceExporterName[];
  if (exporters.length === 0) return null;
  const protocolVariable = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim()
    ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = env[protocolVariable]?.trim() || 'http/protobuf';
  if (exporters.includes('otlp') && !PROTOCOLS.includes(protocol))
    throw new ConfigError(
      `${protocolVariable}: "${protocol}" is not a protocol workos-sync exports with (http/protobuf or http/json)`,
    );
  return Object.freeze({
    exporters: Object.freeze(exporters),
    protocol: protocol as OtlpProtocol,
  });
}
