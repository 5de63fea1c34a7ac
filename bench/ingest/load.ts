import autocannon from 'autocannon';
import { generateBody } from './events';
import { Ledger } from './ledger';

export interface LoadSpec {
  url: string;
  headers: Record<string, string>;
  batchSize: number;
  connections: number;
  seconds: number;
  warmupSeconds: number;
}

export interface LoadFigures {
  requestsPerSecond: number;
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx answers plus socket errors and timeouts. */
  errors: number;
}

/** Drives one target; every response, warm-up included, is booked in the ledger. */
export async function runLoad(spec: LoadSpec, ledger: Ledger): Promise<LoadFigures> {
  const result = await autocannon({
    url: spec.url,
    method: 'POST',
    connections: spec.connections,
    duration: spec.seconds,
    warmup: { duration: spec.warmupSeconds },
    headers: { 'content-type': 'application/json', ...spec.headers },
    requests: [
      {
        setupRequest: (req) => {
          const { body, eventIds } = generateBody(spec.batchSize);
          const headers = { ...req.headers, 'x-request-id': ledger.open(eventIds) };
          return { ...req, headers, body };
        },
        onResponse: (status, body, _context, headers) => {
          ledger.close(status, body, headerValue(headers, 'x-request-id'));
        },
      },
    ],
  });
  return {
    requestsPerSecond: result.requests.total / result.duration,
    eventsPerSecond: (result['2xx'] * spec.batchSize) / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.non2xx + result.errors,
  };
}

function headerValue(headers: Record<string, string | string[]>, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return Array.isArray(value) ? value[0] : value;
}
