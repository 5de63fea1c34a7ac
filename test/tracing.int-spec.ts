import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ADMIN_TOKEN, eventually, TestStack } from './support/harness';
import { buildService, freePort, ServiceProcess } from './support/processes';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const SERVER_KIND = 2;
const PRELOAD = join(__dirname, 'support', 'loaded-packages.cjs');

/**
 * A built instance as its own process (the HTTP instrumentation hooks node:http as it is
 * loaded, which Jest's in-process app never shows), exporting to a tiny OTLP/HTTP receiver
 * in this test: the spans it is sent, and the packages the process loaded.
 */
describe('OpenTelemetry tracing', () => {
  let stack: TestStack;
  let receiver: Server;
  let endpoint: string;
  const spans: OtlpSpan[] = [];

  beforeAll(async () => {
    buildService();
    stack = await TestStack.create();
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        if (request.url === '/v1/traces') {
          const sent = JSON.parse(body) as {
            resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
          };
          for (const resource of sent.resourceSpans)
            for (const scope of resource.scopeSpans) spans.push(...scope.spans);
        }
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    }).listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    receiver.close();
    await stack.dispose();
  });

  const service = async (env: Record<string, string>) => {
    const process = new ServiceProcess(await freePort(), {
      ...stack.env,
      LOG_LEVEL: 'info',
      LOG_REQUESTS: 'true',
      NODE_OPTIONS: `--require ${PRELOAD}`,
      ...env,
    });
    await process.start();
    return process;
  };

  const logLines = (output: string) =>
    output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  const loadedPackages = (output: string) =>
    JSON.parse(/loaded-packages (.*)/.exec(output)?.[1] ?? 'null') as string[] | null;

  it('continues the caller’s trace: a server span of its traceparent, and the trace id in the log line', async () => {
    const instance = await service({
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_SERVICE_NAME: 'tally-under-test',
    });
    let requestId: string | null;
    try {
      const created = await fetch(`${instance.url}/v1/tenants`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-admin-token': ADMIN_TOKEN },
        body: JSON.stringify({ name: 'traced' }),
      });
      const { apiKey } = (await created.json()) as { apiKey: { key: string } };
      const reply = await fetch(`${instance.url}/v1/windows`, {
        headers: { 'x-api-key': apiKey.key, traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` },
      });
      expect(reply.status).toBe(200);
      requestId = reply.headers.get('x-request-id');
    } finally {
      // The batch is flushed on shutdown, so every span is at the receiver once it exits.
      expect(await instance.stop('SIGTERM')).toBe(0);
    }
    const span = spans.find((s) => s.traceId === TRACE_ID);
    expect(span).toMatchObject({ parentSpanId: PARENT_ID, kind: SERVER_KIND });
    expect(logLines(instance.output)).toContainEqual(
      expect.objectContaining({
        msg: 'request completed',
        requestId,
        route: '/v1/windows',
        traceId: TRACE_ID,
        spanId: span?.spanId,
      }),
    );
    // Every request but the probes is a span; readiness was polled, and is not among them.
    expect(spans.length).toBeGreaterThanOrEqual(2);
    expect(spans.filter((s) => /health|metrics/.test(s.name))).toEqual([]);
    expect(loadedPackages(instance.output)).toEqual(
      expect.arrayContaining(['@opentelemetry/sdk-trace', '@opentelemetry/instrumentation-http']),
    );
  });

  it('is off without an endpoint: no trace id in the logs, and no OpenTelemetry SDK loaded', async () => {
    const instance = await service({});
    try {
      const reply = await fetch(`${instance.url}/health/live`, {
        headers: { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` },
      });
      expect(reply.status).toBe(200);
      await eventually(async () => {
        expect(logLines(instance.output)).toContainEqual(
          expect.objectContaining({ msg: 'request completed', route: '/health/live' }),
        );
      });
      expect(logLines(instance.output).filter((line) => 'traceId' in line)).toEqual([]);
    } finally {
      expect(await instance.stop('SIGTERM')).toBe(0);
    }
    const loaded = loadedPackages(instance.output);
    expect(loaded).not.toBeNull();
    expect(loaded!.filter((name) => name !== '@opentelemetry/api')).toEqual([]);
  });
});
