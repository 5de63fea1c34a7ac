// Runs one iteration of every scenario in load/*.js under Node, with a minimal stand-in for
// k6's `k6` and `k6/http` modules. k6 cannot be installed on these machines (no npm or
// Debian package), so this is how scripts/check-deploy.sh proves the scripts load, declare
// arrival-rate scenarios with thresholds, send requests the API accepts and pass their own
// checks. It measures nothing: real numbers come from k6 in the compose `load` profile.
//
//   BASE_URL=http://127.0.0.1:8080 ADMIN_TOKEN=... node load/k6-smoke.mjs
import { execFileSync } from 'node:child_process';
import { installK6Shim } from './k6-shim.mjs';

const SCRIPTS = ['ingest.js', 'windows.js', 'quota.js', 'mixed.js'];
const baseUrl = process.env.BASE_URL ?? 'http://127.0.0.1:8080';

const failures = [];
installK6Shim({
  check(res, checks) {
    let ok = true;
    for (const [name, fn] of Object.entries(checks)) {
      if (!fn(res)) {
        ok = false;
        failures.push(`check "${name}" failed: ${res.status} ${res.body.slice(0, 300)}`);
      }
    }
    return ok;
  },
  http: {
    request: (method, url, body, params) => request(method, url, body ?? undefined, params),
    // Only tells k6 which statuses count as failed requests; the checks judge here.
    expectedStatuses: (...statuses) => ({ statuses }),
  },
});

// k6's HTTP calls are synchronous; curl gives the same shape without an event loop.
function request(method, url, body, params = {}) {
  const args = ['-sS', '-X', method, '-o', '-', '-w', '\n%{http_code}', '--max-time', '10'];
  for (const [name, value] of Object.entries(params.headers ?? {}))
    args.push('-H', `${name}: ${value}`);
  if (body !== undefined) args.push('--data-binary', '@-');
  const out = execFileSync('curl', [...args, url], { input: body ?? '', encoding: 'utf8' });
  const cut = out.lastIndexOf('\n');
  const text = out.slice(0, cut);
  return {
    status: Number(out.slice(cut + 1)),
    body: text,
    json(path) {
      let value = JSON.parse(text);
      for (const key of path ? path.split('.') : []) value = value?.[key];
      return value;
    },
  };
}

let apiKey = process.env.API_KEY;
if (!apiKey) {
  const res = request(
    'POST',
    `${baseUrl}/v1/tenants`,
    JSON.stringify({ name: `k6-smoke-${Date.now()}` }),
    {
      headers: {
        'content-type': 'application/json',
        'x-admin-token': process.env.ADMIN_TOKEN ?? '',
      },
    },
  );
  if (res.status !== 201) throw new Error(`POST /v1/tenants -> ${res.status} ${res.body}`);
  apiKey = res.json('apiKey.key');
}
// Small batches: this checks shape, not throughput.
globalThis.__ENV = { BASE_URL: baseUrl, API_KEY: apiKey, BATCH: '10', CUSTOMERS: '3' };

for (const file of SCRIPTS) {
  const mod = await import(new URL(`./${file}`, import.meta.url).href);
  const scenarios = Object.entries(mod.options?.scenarios ?? {});
  if (scenarios.length === 0) failures.push(`${file}: no scenarios`);
  if (Object.keys(mod.options?.thresholds ?? {}).length === 0)
    failures.push(`${file}: no thresholds`);
  for (const [name, scenario] of scenarios) {
    if (scenario.executor !== 'constant-arrival-rate')
      failures.push(`${file}/${name}: not constant-arrival-rate`);
    const exec = mod[scenario.exec ?? 'default'];
    if (typeof exec !== 'function') {
      failures.push(`${file}/${name}: no function ${scenario.exec ?? 'default'}`);
      continue;
    }
    const before = failures.length;
    exec();
    console.log(
      `k6-smoke: ${file} scenario ${name}: ${failures.length === before ? 'ok' : 'FAILED'}`,
    );
  }
}

if (failures.length > 0) {
  for (const failure of failures) console.error(`k6-smoke: ${failure}`);
  process.exit(1);
}
