// The k6 scenarios under Node, with load: for machines where k6 cannot be installed (no
// npm or Debian package). It imports the k6 script for its scenarios (rates, duration) and
// thresholds, and sends the same calls (calls.js) at the same constant arrival rate with
// fetch; a call that cannot start because maxVUs calls are still in flight is dropped, as
// in k6. It prints one table and exits 1 if a threshold fails.
//
//   BASE_URL=http://127.0.0.1:8080 API_KEY=tly_... DURATION=30s node load/run.mjs mixed.js
import { performance } from 'node:perf_hooks';
import { SCENARIOS } from './calls.js';
import { installK6Shim } from './k6-shim.mjs';
import { settings } from './lib.js';

const never = () => {
  throw new Error('the runner sends the calls itself');
};
installK6Shim({ check: never, http: { request: never, expectedStatuses: () => undefined } });
globalThis.__ENV = process.env;
const cfg = settings(process.env);

const script = process.argv[2] ?? 'mixed.js';
const { options } = await import(new URL(`./${script}`, import.meta.url).href);

/** Per scenario: latencies (ms) by call name, failed calls, checks, dropped iterations. */
const stats = new Map();

async function send(call) {
  const started = performance.now();
  let status = 0;
  let text = '';
  try {
    const res = await fetch(call.url, {
      method: call.method,
      headers: call.headers,
      body: call.body,
    });
    status = res.status;
    text = await res.text();
  } catch {
    // status 0: a network failure, counted as a failed call
  }
  const ms = performance.now() - started;
  const json = (path) => path.split('.').reduce((v, key) => v?.[key], JSON.parse(text));
  return { ms, res: { status, body: text, json } };
}

async function iterate(name, s) {
  const calls = SCENARIOS[name](cfg);
  let next = calls.next();
  while (!next.done) {
    const call = next.value;
    const { ms, res } = await send(call);
    (s.latency[call.name] ??= []).push(ms);
    s.calls++;
    if (!call.expected.includes(res.status)) s.failed++;
    for (const check of Object.values(call.checks)) {
      s.checks++;
      if (!safe(() => check(res))) s.checksFailed++;
    }
    next = calls.next(res);
  }
}

function safe(fn) {
  try {
    return fn();
  } catch {
    return false;
  }
}

async function runScenario(name, { rate, duration, maxVUs }) {
  const s = {
    latency: {},
    calls: 0,
    failed: 0,
    checks: 0,
    checksFailed: 0,
    dropped: 0,
    iterations: 0,
  };
  stats.set(name, s);
  const total = Math.round(rate * seconds(duration));
  const start = performance.now();
  const inFlight = new Set();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (inFlight.size >= maxVUs) {
      s.dropped++;
      continue;
    }
    s.iterations++;
    const p = iterate(name, s).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
}

function seconds(duration) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(duration);
  if (!m) throw new Error(`DURATION ${duration}: use e.g. 30s, 2m`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2]];
}

function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length
    ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]
    : NaN;
}

/** The thresholds the scripts use: rate<x, rate>x and p(N)<x, on a metric with one tag. */
function judge(metric, expression) {
  const [, base, tag, value] = /^(\w+)(?:\{(\w+):([^}]+)\})?$/.exec(metric) ?? [];
  const selected = [...stats]
    .filter(([name]) => tag !== 'scenario' || name === value)
    .map(([, s]) => s);
  const sum = (f) => selected.reduce((n, s) => n + f(s), 0);
  const measured = {
    http_req_failed: () => sum((s) => s.failed) / sum((s) => s.calls),
    checks: () => 1 - sum((s) => s.checksFailed) / sum((s) => s.checks),
    dropped_iterations: () => sum((s) => s.dropped) / seconds(cfg.duration),
    http_req_duration: () => {
      const all = selected.flatMap((s) =>
        Object.entries(s.latency).flatMap(([n, v]) => (tag === 'name' && n !== value ? [] : v)),
      );
      const p = /^p\((\d+(?:\.\d+)?)\)/.exec(expression);
      return quantile(all, Number(p?.[1] ?? 99) / 100);
    },
  }[base]?.();
  const [, op, limit] = /([<>])(.+)$/.exec(expression);
  const pass = op === '<' ? measured < Number(limit) : measured > Number(limit);
  return { metric, expression, measured, pass };
}

process.stdout.write(`load/run.mjs ${script} against ${cfg.baseUrl}, ${cfg.duration}\n`);
await Promise.all(Object.entries(options.scenarios).map(([name, sc]) => runScenario(name, sc)));

const rows = [...stats].flatMap(([name, s]) =>
  Object.entries(s.latency).map(
    ([call, v]) =>
      `| ${name} | ${call} | ${options.scenarios[name]?.rate ?? ''} | ${v.length} | ${quantile(v, 0.5).toFixed(1)} | ${quantile(v, 0.9).toFixed(1)} | ${quantile(v, 0.99).toFixed(1)} | ${s.failed} | ${s.dropped} |`,
  ),
);
const verdicts = Object.entries(options.thresholds).flatMap(([metric, list]) =>
  list.map((expression) => judge(metric, expression)),
);
process.stdout.write(
  [
    '| scenario | call | iterations/s | calls | p50 ms | p90 ms | p99 ms | failed | dropped |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    ...verdicts.map(
      (v) =>
        `${v.pass ? 'ok  ' : 'FAIL'} ${v.metric} ${v.expression} (measured ${Number(v.measured).toPrecision(4)})`,
    ),
    '',
  ].join('\n'),
);
process.exit(verdicts.every((v) => v.pass) ? 0 : 1);
