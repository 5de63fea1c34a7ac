// Sends a scenario's calls (calls.js) with k6's synchronous HTTP API.
import http from 'k6/http';
import { check } from 'k6';
import { SCENARIOS } from './calls.js';

function run(scenario, cfg) {
  const calls = scenario(cfg);
  let next = calls.next();
  while (!next.done) {
    const call = next.value;
    const res = http.request(call.method, call.url, call.body ?? null, {
      headers: call.headers,
      tags: { name: call.name },
      responseCallback: http.expectedStatuses(...call.expected),
    });
    check(res, call.checks);
    next = calls.next(res);
  }
}

export const postEvents = (cfg) => run(SCENARIOS.ingest, cfg);
export const consumeQuota = (cfg) => run(SCENARIOS.quota, cfg);
export const readWindows = (cfg) => run(SCENARIOS.windows, cfg);
export const readUsage = (cfg) => run(SCENARIOS.usage, cfg);
