// Producers and analysts at once: ingest at RATE and window reads at READ_RATE, each with
// its own latency threshold, to see whether reads slow ingestion down (or the reverse).
// Quota checks (POST /v1/quotas/consume) belong to a later issue; add a third scenario
// here when that endpoint exists.
//
//   k6 run -e BASE_URL=http://localhost:8080 -e API_KEY=tly_... load/mixed.js
import { settings } from './lib.js';
import { postEvents, readWindows } from './requests.js';

const cfg = settings(__ENV);

export const options = {
  scenarios: {
    ingest: {
      executor: 'constant-arrival-rate',
      exec: 'ingest',
      rate: cfg.rate,
      timeUnit: '1s',
      duration: cfg.duration,
      preAllocatedVUs: Math.max(10, cfg.rate),
      maxVUs: cfg.rate * 10,
    },
    windows: {
      executor: 'constant-arrival-rate',
      exec: 'windows',
      rate: cfg.readRate,
      timeUnit: '1s',
      duration: cfg.duration,
      preAllocatedVUs: Math.max(5, cfg.readRate),
      maxVUs: cfg.readRate * 10,
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    'http_req_duration{scenario:ingest}': [`p(99)<${cfg.p99Ms}`],
    'http_req_duration{scenario:windows}': [`p(99)<${cfg.p99Ms}`],
    checks: ['rate>0.99'],
  },
};

export function ingest() {
  postEvents(cfg);
}

export function windows() {
  readWindows(cfg);
}
