// Quota checks as a gateway makes them: QUOTA_RATE checks/s (POST /v1/quotas/consume) for
// CUSTOMERS customers, at a fixed arrival rate. Customers without a quota are allowed with
// `limit: null`; define quotas first (PUT /v1/quotas/defaults/calls) to exercise limits.
//
//   k6 run -e BASE_URL=http://localhost:8080 -e API_KEY=tly_... -e QUOTA_RATE=5000 load/quota.js
import { arrivalScenario, settings } from './lib.js';
import { consumeQuota } from './requests.js';

const cfg = settings(__ENV);

export const options = {
  scenarios: {
    quota: arrivalScenario(cfg.quotaRate, cfg.duration, 10),
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    'http_req_duration{name:POST /v1/quotas/consume}': [`p(99)<${cfg.p99Ms}`],
    checks: ['rate>0.99'],
    dropped_iterations: [`rate<${cfg.quotaRate * 0.01}`],
  },
};

export default function () {
  consumeQuota(cfg);
}
