// Ingest at a fixed arrival rate: RATE requests/s of BATCH (100) events for DURATION,
// whatever the latency, so a slow server shows up as latency and dropped iterations
// instead of quietly lowering the offered load (which a closed loop of VUs would do).
//
//   k6 run -e BASE_URL=http://localhost:8080 -e API_KEY=tly_... load/ingest.js
import { arrivalScenario, settings } from './lib.js';
import { postEvents } from './requests.js';

const cfg = settings(__ENV);

export const options = {
  scenarios: {
    ingest: arrivalScenario(cfg.rate, cfg.duration, 10),
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    'http_req_duration{name:POST /v1/events}': [`p(99)<${cfg.p99Ms}`],
    checks: ['rate>0.99'],
    // Under 1% of the offered rate may go unsent for want of a free VU; more means the
    // run did not offer the load it claims.
    dropped_iterations: [`rate<${cfg.rate * 0.01}`],
  },
};

export default function () {
  postEvents(cfg);
}
