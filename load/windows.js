// Analytics reads: GET /v1/windows for random customers at READ_RATE requests/s. Run it
// after ingest.js (or with mixed.js) so there are closed windows to page through.
//
//   k6 run -e BASE_URL=http://localhost:8080 -e API_KEY=tly_... load/windows.js
import { arrivalScenario, settings } from './lib.js';
import { readWindows } from './requests.js';

const cfg = settings(__ENV);

export const options = {
  scenarios: {
    windows: arrivalScenario(cfg.readRate, cfg.duration, 5),
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    'http_req_duration{name:GET /v1/windows}': [`p(99)<${cfg.p99Ms}`],
    checks: ['rate>0.99'],
  },
};

export default function () {
  readWindows(cfg);
}
