import { trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
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
 * OpenTelemetry tracing, when OTEL_EXPORTER_OTLP_ENDPOINT is set: the Node SDK with one
 * server span per HTTP request, its parent taken from an incoming `traceparent` (W3C
 * Trace Context, the SDK's default propagator), exported over OTLP/HTTP (JSON) in
 * batches. Traces only: the SDK's metric and log exporters stay off (Prometheus and
 * pino already carry those). main.ts imports this module only when tracing is on, and
 * before anything loads `node:http`, so that the instrumentation sees it; with tracing
 * off no OpenTelemetry SDK code is loaded at all.
 */
export function startTracing(settings: NonNullable<AppConfig['tracing']>): Tracing {
  const sdk = new NodeSDK({
    serviceName: settings.serviceName,
    traceExporter: new OTLPTraceExporter({
      url: `${settings.endpoint.replace(/\/$/, '')}/v1/traces`,
    }),
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED.test(request.url ?? ''),
        // The service's own outgoing HTTP is the exporter's: tracing it would loop.
        ignoreOutgoingRequestHook: () => true,
      }),
    ],
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return {
    logFields() {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { traceId, spanId };
    },
    shutdown: () => sdk.shutdown(),
  };
}
