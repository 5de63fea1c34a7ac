import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { AppConfig } from '../../config/app-config';

export interface Tracing {
  /** For pino's `mixin`: the active span's trace and span ids on every line logged in it. */
  logFields(): { traceId?: string; spanId?: string };
  /** Exports what is still buffered, then stops. */
  shutdown(): Promise<void>;
}

/** Routes that would only add noise: probes and scrapes, many a minute, none a user's. */
const UNTRACED = /^\/(health|metrics)(\/|\?|$)/;

/**
 * OpenTelemetry tracing, when OTEL_EXPORTER_OTLP_ENDPOINT is set: the SDK's tracer
 * provider with one server span per HTTP request (the HTTP instrumentation), its parent
 * taken from an incoming `traceparent` (W3C Trace Context), exported over OTLP/HTTP in
 * batches, the active span carried across awaits by AsyncLocalStorage. The same parts
 * `@opentelemetry/sdk-node` wires, without it: it depends on every exporter, gRPC's among
 * them, which the runtime image must not carry (scripts/install-deps.sh), and traces are
 * all we send (Prometheus and the JSON logs are the rest). main.ts imports this module
 * only when tracing is on, and before anything loads `node:http`, so that the
 * instrumentation sees it; with tracing off no OpenTelemetry SDK code is loaded at all.
 */
export function startTracing(settings: NonNullable<AppConfig['tracing']>): Tracing {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({
          url: `${settings.endpoint.replace(/\/$/, '')}/v1/traces`,
        }),
      }),
    ],
  });
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED.test(request.url ?? ''),
        // The service's own outgoing HTTP is the exporter's: tracing it would loop.
        ignoreOutgoingRequestHook: () => true,
      }),
    ],
  });
  return {
    logFields() {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { traceId, spanId };
    },
    shutdown: () => provider.shutdown(),
  };
}
