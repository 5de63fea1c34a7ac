/**
 * npm run bench (second part) — the quota check in a gateway's request path:
 * `POST /v1/quotas/consume` at a fixed request rate against a customer with two
 * limits (calls per minute, fixed; calls per hour, sliding), next to the bare Fastify
 * route parsing the same body in the same run. Reports client latency (autocannon)
 * and the server's own latency (the route's histogram in /metrics). Target (issue 5):
 * p99 under 2 ms at 5,000 checks/s.
 */
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { Cleanup } from './ingest/cleanup';
import type { Child } from './ingest/processes';
import { BenchRedis, recreateDatabase } from './ingest/stores';
import { startBaseline, startService, type Target } from './ingest/targets';

const RATE = Number(process.env.BENCH_QUOTA_RATE ?? 5000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CUSTOMERS = 1000;
const DATABASE_URL =
  process.env.BENCH_QUOTA_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tally_bench_quota';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROUTE = '/v1/quotas/consume';

interface Row {
  target: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  server?: { p50: string; p99: string };
}

async function main(): Promise<void> {
  const cleanup = new Cleanup();
  const register = (child: Child) => cleanup.add(`stop ${child.name}`, () => child.stop());
  try {
    await recreateDatabase(DATABASE_URL);
    const prefix = `bench-quota-${randomBytes(3).toString('hex')}:`;
    const redis = new BenchRedis(REDIS_URL, prefix, 16);
    cleanup.add('redis', async () => {
      await redis.deleteAll();
      await redis.redis.quit();
    });
    const service = await startService(
      { databaseUrl: DATABASE_URL, redisUrl: REDIS_URL, prefix, overrides: {} },
      register,
    );
    const base = service.url.replace('/v1/events', '');
    await defineQuotas(base, service.headers);
    const rows: Row[] = [];
    rows.push({ target: 'service', ...(await load(`${base}${ROUTE}`, service)) });
    rows[0].server = await serverLatency(base);
    await service.child.stop();
    const baseline = await startBaseline(register);
    rows.push({ target: 'baseline', ...(await load(baseline.url, baseline)) });
    process.stdout.write(render(rows));
  } finally {
    await cleanup.run();
  }
}

/** A tenant-wide default, so every customer checked has the two limits. */
async function defineQuotas(base: string, headers: Record<string, string>): Promise<void> {
  const response = await fetch(`${base}/v1/quotas/defaults/calls`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({
      limits: [
        { limit: 1_000_000_000, period: '1m', algorithm: 'fixed' },
        { limit: 1_000_000_000, period: '1h', algorithm: 'sliding' },
      ],
    }),
  });
  if (!response.ok)
    throw new Error(`defining quotas answered ${response.status}: ${await response.text()}`);
}

async function load(url: string, target: Target) {
  const result = await autocannon({
    url,
    method: 'POST',
    connections: 50,
    overallRate: RATE,
    duration: SECONDS,
    warmup: { duration: 2 },
    headers: { 'content-type': 'application/json', ...target.headers },
    requests: [
      {
        setupRequest: (req) => ({
          ...req,
          body: JSON.stringify({
            customerId: `c-${Math.floor(Math.random() * CUSTOMERS)}`,
            metric: 'calls',
            units: 1,
          }),
        }),
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.non2xx + result.errors,
  };
}

/** p50/p99 of the consume route from the service's histogram: bucket upper bounds. */
async function serverLatency(base: string): Promise<{ p50: string; p99: string }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const buckets = [
    ...text.matchAll(
      /^tally_http_request_duration_seconds_bucket\{le="([^"]+)",method="POST",route="\/v1\/quotas\/consume",status="200"\} (\d+)$/gm,
    ),
  ].map(([, le, count]) => ({ le: le === '+Inf' ? Infinity : Number(le), count: Number(count) }));
  const total = buckets.at(-1)?.count ?? 0;
  const at = (q: number) => {
    const bucket = buckets.find((b) => b.count >= total * q);
    return bucket && bucket.le !== Infinity ? `≤ ${bucket.le * 1000} ms` : '?';
  };
  return { p50: at(0.5), p99: at(0.99) };
}

function render(rows: Row[]): string {
  const service = rows.find((r) => r.target === 'service');
  const baseline = rows.find((r) => r.target === 'baseline');
  const lines = [
    `# Quota check benchmark, ${new Date().toISOString()}`,
    '',
    `Command: \`npm run bench\` (quota part), BENCH_QUOTA_RATE=${RATE}, ${SECONDS} s after a 2 s warm-up, 50 connections, ${CUSTOMERS} customers, two limits each.`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; everything local.`,
    '',
    '| target | checks/s | client p50 ms | client p99 ms | server p50 | server p99 | errors |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.target} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.server?.p50 ?? '–'} | ${r.server?.p99 ?? '–'} | ${r.errors} |`,
    ),
    '',
    service && baseline
      ? `Client p99 over the baseline's: +${(service.p99 - baseline.p99).toFixed(2)} ms.`
      : '',
  ];
  return `${lines.join('\n')}\n`;
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
