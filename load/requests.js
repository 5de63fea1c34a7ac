// The HTTP calls the scenarios make, shared so every script agrees on them.
import http from 'k6/http';
import { check } from 'k6';
import { customerId, eventBatch } from './lib.js';

export function postEvents(cfg) {
  const res = http.post(
    `${cfg.baseUrl}/v1/events`,
    JSON.stringify(eventBatch(cfg.batch, cfg.customers)),
    {
      headers: { 'Content-Type': 'application/json', 'X-API-Key': cfg.apiKey },
      tags: { name: 'POST /v1/events' },
    },
  );
  check(res, {
    'ingest 202': (r) => r.status === 202,
    'ingest counted every event': (r) => r.status === 202 && r.json('accepted') === cfg.batch,
  });
}

/**
 * A gateway's check before forwarding a call: 200 (allowed) and 429 (over a quota) are
 * both correct answers; anything else is a failure.
 */
export function consumeQuota(cfg) {
  const res = http.post(
    `${cfg.baseUrl}/v1/quotas/consume`,
    JSON.stringify({ customerId: customerId(cfg.customers), metric: 'calls', units: 1 }),
    {
      headers: { 'Content-Type': 'application/json', 'X-API-Key': cfg.apiKey },
      tags: { name: 'POST /v1/quotas/consume' },
      responseCallback: http.expectedStatuses(200, 429),
    },
  );
  check(res, { 'quota decided': (r) => r.status === 200 || r.status === 429 });
}

/** Analytics read: the last hour of one customer's windows, following at most 3 pages. */
export function readWindows(cfg) {
  const from = new Date(Date.now() - 3600 * 1000).toISOString();
  // The cursor continues the same query, so the filters go with every page.
  const filters = `customerId=${customerId(cfg.customers)}&from=${encodeURIComponent(from)}&limit=100`;
  let cursor = null;
  for (let page = 0; page < 3; page++) {
    const query = cursor ? `${filters}&cursor=${encodeURIComponent(cursor)}` : filters;
    const res = http.get(`${cfg.baseUrl}/v1/windows?${query}`, {
      headers: { 'X-API-Key': cfg.apiKey },
      tags: { name: 'GET /v1/windows' },
    });
    check(res, { 'windows 200': (r) => r.status === 200 });
    cursor = res.status === 200 ? res.json('nextCursor') : null;
    if (!cursor) return;
  }
}
