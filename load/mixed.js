// Producers, gateways and analysts at once: ingest at RATE, quota checks at QUOTA_RATE,
// window reads at READ_RATE and dashboard reads (usage, daily, top) at USAGE_RATE, each
// with its own latency threshold, to see whether one slows the others down. The analytics
// cache's hit ratio is read from /metrics afterwards (tally_analytics_answers_total).
//
//   k6 run -e BASE_URL=http://localhost:8080 -e API_KEY=tly_... load/mixed.js
import { arrivalScenario, settings } from './lib.js';
import { consumeQuota, postEvents, readUsage, readWindows } from './requests.js';

const cfg = settings(__ENV);

export const options = {
  scenarios: {
    ingest: arrivalScenario(cfg.rate, cfg.duration, 10, 'ingest'),
    windows: arrivalScenario(cfg.readRate, cfg.duration, 5, 'windows'),
    quota: arrivalScenario(cfg.quotaRate, cfg.duration, 10, 'quota'),
    usage: arrivalScenario(cfg.usageRate, cfg.duration, 5, 'usage'),
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    'http_req_duration{scenario:ingest}': [`p(99)<${cfg.p99Ms}`],
    'http_req_duration{scenario:windows}': [`p(99)<${cfg.p99Ms}`],
    'http_req_duration{scenario:quota}': [`p(99)<${cfg.p99Ms}`],
    'http_req_duration{scenario:usage}': [`p(99)<${cfg.p99Ms}`],
    checks: ['rate>0.99'],
  },
};

export function ingest() {
  postEvents(cfg);
}

export function windows() {
  readWindows(cfg);
}

export function quota() {
  consumeQuota(cfg);
}

export function usage() {
  readUsage(cfg);
}
