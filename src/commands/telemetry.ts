/**
 * The command line's OpenTelemetry SDK, started when the `OTEL_*` variables ask for traces
 * (config/telemetry.ts): a tracer provider with a batch processor per exporter (OTLP over HTTP,
 * protobuf or JSON; or the console), the async-hooks context manager, and the resource the SDK
 * detects from `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` over `service.name=workos-sync`.
 * The SDK's packages are optional dependencies, loaded only here: the library never imports them
 * (an application registers its own SDK), and an install without them runs untraced.
 */
import type { TelemetryConfig } from '../config/telemetry.ts';
import { ConfigError } from '../errors.ts';
import { packageVersion } from '../version.ts';

export interface Telemetry {
  /** Exports what is still buffered, within `timeoutMs`, and stops: the last spans of a run are not lost. */
  shutdown(timeoutMs?: number): Promise<void>;
}

const SHUTDOWN_TIMEOUT_MS = 5000;

export async function startTelemetry(config: TelemetryConfig): Promise<Telemetry> {
  const [api, sdk, contextHooks, resources, exporters] = await Promise.all([
    import('@opentelemetry/api'),
    optional(() => import('@opentelemetry/sdk-trace')),
    optional(() => import('@opentelemetry/context-async-hooks')),
    optional(() => import('@opentelemetry/resources')),
    Promise.all(config.exporters.map((name) => exporterFor(name, config))),
  ]);
  const resource = resources
    .resourceFromAttributes({ 'service.name': 'workos-sync', 'service.version': packageVersion() })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new sdk.TracerProvider({
    resource,
    spanProcessors: exporters.map((exporter) =>
      exporter instanceof sdk.ConsoleSpanExporter
        ? new sdk.SimpleSpanProcessor({ exporter })
        : new sdk.BatchSpanProcessor({ exporter }),
    ),
  });
  api.context.setGlobalContextManager(new contextHooks.AsyncLocalStorageContextManager().enable());
  api.trace.setGlobalTracerProvider(provider);
  return {
    async shutdown(timeoutMs = SHUTDOWN_TIMEOUT_MS) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      });
      // A collector that is away must not hold the process: what it did not take is dropped.
      await Promise.race([provider.shutdown().catch(() => undefined), timedOut]);
      clearTimeout(timer);
    },
  };
}

async function exporterFor(name: TelemetryConfig['exporters'][number], config: TelemetryConfig) {
  if (name === 'console')
    return new (await optional(() => import('@opentelemetry/sdk-trace'))).ConsoleSpanExporter();
  if (config.protocol === 'http/json')
    return new (await optional(() => import('@opentelemetry/exporter-trace-otlp-http'))).OTLPTraceExporter();
  return new (await optional(() => import('@opentelemetry/exporter-trace-otlp-proto'))).OTLPTraceExporter();
}

async function optional<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND')
      throw new ConfigError(
        'OTEL_TRACES_EXPORTER asks for traces, but the OpenTelemetry SDK is not installed: it comes with workos-sync as optional dependencies (install without --omit=optional)',
        { cause: error },
      );
    throw error;
  }
}
