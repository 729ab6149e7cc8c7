/**
 * `--tracing`: the SDK an application would register (a tracer provider with a batch processor,
 * the async-hooks context manager), exporting to nowhere: the spans are made, recorded, batched
 * and handed over, so a figure measured with it is what tracing costs the process when on. The
 * exporter counts what it was handed, so the run can say the spans were really made.
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BatchSpanProcessor, type SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';

export interface BenchTracing {
  /** Flushes and returns how many spans were exported. */
  stop(): Promise<number>;
}

export function registerBenchTracing(): BenchTracing {
  let exported = 0;
  const exporter: SpanExporter = {
    export(spans, done) {
      exported += spans.length;
      done({ code: 0 });
    },
    shutdown: async () => {},
  };
  const provider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter })] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  return {
    async stop() {
      await provider.shutdown();
      return exported;
    },
  };
}
