// Shared by the k6 scenarios. No k6 imports here, so scripts/check-deploy.sh can load it
// with Node and post a real batch to prove the payload is one the API accepts.

const ENDPOINTS = ['/api/completion', '/api/chat', '/api/embeddings', '/api/moderation'];
const MODELS = ['gpt-4', 'gpt-4o-mini', 'claude-3', 'llama-3'];

/** Reads the environment k6 passes as __ENV; fails at start rather than send 401s for minutes. */
export function settings(env) {
  if (!env.API_KEY) {
    throw new Error('API_KEY is required: create a tenant (POST /v1/tenants) and use apiKey.key');
  }
  return {
    baseUrl: (env.BASE_URL || 'http://localhost:8080').replace(/\/+$/, ''),
    apiKey: env.API_KEY,
    duration: env.DURATION || '2m',
    // Requests per second; ingest requests carry BATCH events each.
    rate: positiveInt(env.RATE, 50),
    readRate: positiveInt(env.READ_RATE, 20),
    quotaRate: positiveInt(env.QUOTA_RATE, 200),
    usageRate: positiveInt(env.USAGE_RATE, 10),
    batch: positiveInt(env.BATCH, 100),
    customers: positiveInt(env.CUSTOMERS, 50),
    p99Ms: positiveInt(env.P99_MS, 500),
  };
}

/**
 * A fixed arrival rate whatever the latency, so a slow server shows up as latency and
 * dropped iterations instead of quietly lowering the offered load.
 */
export function arrivalScenario(rate, duration, minVUs, exec) {
  return {
    executor: 'constant-arrival-rate',
    ...(exec ? { exec } : {}),
    rate,
    timeUnit: '1s',
    duration,
    preAllocatedVUs: Math.max(minVUs, rate),
    maxVUs: rate * 10,
  };
}

/** A batch of events with fresh UUID eventIds, so every event counts (none is a duplicate). */
export function eventBatch(size, customers, now = Date.now()) {
  const events = [];
  for (let i = 0; i < size; i++) {
    const inputTokens = randomInt(2000);
    const outputTokens = randomInt(2000);
    events.push({
      eventId: uuid(),
      // Up to 2 s in the past: producers buffer a little, and the window maths must cope.
      timestamp: new Date(now - randomInt(2000)).toISOString(),
      customerId: customerId(customers),
      apiEndpoint: pick(ENDPOINTS),
      metadata: { model: pick(MODELS), inputTokens, outputTokens, latencyMs: 20 + randomInt(800) },
    });
  }
  return events;
}

export function customerId(customers) {
  return `c-${randomInt(customers)}`;
}

export function uuid() {
  // k6 >= 1.0 and Node both have Web Crypto; the fallback keeps older k6 builds working.
  if (globalThis.crypto && typeof globalThis.crypto.randomUUID === 'function') {
    return globalThis.crypto.randomUUID();
  }
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
    const r = randomInt(16);
    return (c === 'x' ? r : (r & 0x3) | 0x8).toString(16);
  });
}

function positiveInt(value, fallback) {
  const n = Number.parseInt(value === undefined ? '' : value, 10);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

function randomInt(below) {
  return Math.floor(Math.random() * below);
}

function pick(list) {
  return list[randomInt(list.length)];
}
