// The HTTP calls of each scenario, as data: k6 (requests.js) and the Node runner (run.mjs)
// both send exactly these. A scenario is a generator: it yields a call, receives the
// response ({status, json(path)}), and may yield the next (the windows read follows its
// cursor). No k6 imports here.
import { customerId, eventBatch } from './lib.js';

function* ingest(cfg) {
  yield {
    method: 'POST',
    url: `${cfg.baseUrl}/v1/events`,
    body: JSON.stringify(eventBatch(cfg.batch, cfg.customers)),
    headers: { 'Content-Type': 'application/json', 'X-API-Key': cfg.apiKey },
    name: 'POST /v1/events',
    expected: [202],
    checks: {
      'ingest 202': (r) => r.status === 202,
      'ingest counted every event': (r) => r.status === 202 && r.json('accepted') === cfg.batch,
    },
  };
}

/**
 * A gateway's check before forwarding a call: 200 (allowed) and 429 (over a quota) are
 * both correct answers; anything else is a failure.
 */
function* quota(cfg) {
  yield {
    method: 'POST',
    url: `${cfg.baseUrl}/v1/quotas/consume`,
    body: JSON.stringify({ customerId: customerId(cfg.customers), metric: 'calls', units: 1 }),
    headers: { 'Content-Type': 'application/json', 'X-API-Key': cfg.apiKey },
    name: 'POST /v1/quotas/consume',
    expected: [200, 429],
    checks: { 'quota decided': (r) => r.status === 200 || r.status === 429 },
  };
}

/** Analytics read: the last hour of one customer's windows, following at most 3 pages. */
function* windows(cfg) {
  const from = new Date(Date.now() - 3600 * 1000).toISOString();
  // The cursor continues the same query, so the filters go with every page.
  const filters = `customerId=${customerId(cfg.customers)}&from=${encodeURIComponent(from)}&limit=100`;
  let cursor = null;
  for (let page = 0; page < 3; page++) {
    const query = cursor ? `${filters}&cursor=${encodeURIComponent(cursor)}` : filters;
    const res = yield {
      method: 'GET',
      url: `${cfg.baseUrl}/v1/windows?${query}`,
      headers: { 'X-API-Key': cfg.apiKey },
      name: 'GET /v1/windows',
      expected: [200],
      checks: { 'windows 200': (r) => r.status === 200 },
    };
    cursor = res.status === 200 ? res.json('nextCursor') : null;
    if (!cursor) return;
  }
}

const DASHBOARD = [
  '/v1/usage/daily',
  '/v1/usage/top?hours=24&limit=5',
  '/v1/usage/top?hours=24&by=tokens&dimension=model',
  '/v1/usage?granularity=hour&groupBy=customer',
];

/** A dashboard's panels, one per iteration in turn: what the analytics cache is for. */
function* usage(cfg) {
  const path = DASHBOARD[Math.floor(Math.random() * DASHBOARD.length)];
  yield {
    method: 'GET',
    url: `${cfg.baseUrl}${path}`,
    headers: { 'X-API-Key': cfg.apiKey },
    name: `GET ${path.split('?')[0]}`,
    expected: [200],
    checks: { 'usage 200': (r) => r.status === 200 },
  };
}

/** By scenario name, as the scripts name them in `options.scenarios`. */
export const SCENARIOS = { ingest, quota, windows, usage };
