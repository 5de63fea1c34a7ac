import { event, type EventInput } from './api';

const ENDPOINTS = ['/api/completion', '/api/embedding', '/api/chat'];
const MODELS = ['gpt-4', 'gpt-4o-mini', undefined];

/** A deterministic spread of events over customers, endpoints, models and the given windows. */
export function workload(
  count: number,
  customers: string[],
  windowStartsMs: number[],
): EventInput[] {
  return Array.from({ length: count }, (_, i) => {
    const windowStart = windowStartsMs[Math.floor(i / customers.length) % windowStartsMs.length];
    const model = MODELS[i % MODELS.length];
    const metadata: Record<string, unknown> = {
      inputTokens: (i * 7) % 500,
      outputTokens: (i * 13) % 900,
      ...(i % 4 === 0 ? {} : { latencyMs: 50 + ((i * 31) % 400) }),
      ...(model ? { model } : {}),
      ...(i % 5 === 0 ? { tokens: 1000 + i, region: 'eu' } : {}),
    };
    return event({
      timestamp: new Date(windowStart + ((i * 37) % 1500)).toISOString(),
      customerId: customers[i % customers.length],
      apiEndpoint: ENDPOINTS[(i >> 1) % ENDPOINTS.length],
      metadata,
    });
  });
}

/** The start of the window holding now, and the next one: both close within a few seconds. */
export function currentAndNextWindow(windowMs: number): number[] {
  const start = Math.floor(Date.now() / windowMs) * windowMs;
  return [start, start + windowMs];
}
