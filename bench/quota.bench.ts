/**
 * npm run bench (second part) — the quota check in a gateway's request path:
 * `POST /v1/quotas/consume` at a constant arrival rate against a customer with two
 * limits (calls per minute, fixed; calls per hour, sliding), next to the bare Fastify
 * route parsing the same body in the same run, and that route with one Redis script call
 * per request (the floor of any check that asks Redis every time, as an exact limiter
 * must). Reports client latency (from the moment each request was due), the server's own
 * latency (the route's histogram in /metrics, counted over the measured phase only) and
 * CPU per check. Target (issue 5): p99 under 2 ms at 5,000 checks/s.
 */
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { Cleanup } from './ingest/cleanup';
import { CpuMeter, type CpuShares } from './ingest/cpu';
import { type HeapFigures, renderHeap } from './ingest/heap-report';
import type { Child } from './ingest/processes';
import { sourceRevision } from './ingest/revision';
import { BenchRedis, recreateDatabase } from './ingest/stores';
import { ROOT, startBaseline, startService, type Target } from './ingest/targets';
import { pacedLoad, type PacedFigures } from './quota/paced-load';
import {
  type Buckets,
  histogramQuantile,
  shareWithin,
  routeBuckets,
  subtractBuckets,
} from './quota/server-latency';

const RATE = Number(process.env.BENCH_QUOTA_RATE ?? 5000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const CONNECTIONS = 50;
const CUSTOMERS = 1000;
const DATABASE_URL =
  process.env.BENCH_QUOTA_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tally_bench_quota';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROUTE = '/v1/quotas/consume';

interface Row {
  target: string;
  figures: PacedFigures;
  cpu: CpuShares;
  server: Buckets;
  heap: HeapFigures;
}

async function main(): Promise<void> {
  const cleanup = new Cleanup();
  const register = (child: Child) => cleanup.add(`stop ${child.name}`, () => child.stop());
  try {
    const revision = await sourceRevision(ROOT);
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
    rows.push(await measure('service', { ...service, url: `${base}${ROUTE}` }, redis));
    await service.child.stop();
    const baseline = await startBaseline(register, {
      BASELINE_REDIS_URL: REDIS_URL,
      BASELINE_REDIS_PREFIX: prefix,
    });
    rows.push(await measure('baseline', baseline, redis));
    const floor = { ...baseline, url: baseline.url.replace('/v1/events', '/v1/redis-round-trip') };
    rows.push(await measure('baseline + Redis', floor, redis));
    process.stdout.write(render(rows, revision));
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

/**
 * A warm-up at the same rate, then the measured phase with its CPU and the server's own
 * latency (its histogram scraped before and after, so the warm-up does not count).
 */
async function measure(name: string, target: Target, redis: BenchRedis): Promise<Row> {
  const { origin, pathname } = new URL(target.url);
  const scrape = async () =>
    routeBuckets(await (await fetch(`${origin}/metrics`)).text(), pathname);
  const load = (seconds: number) =>
    pacedLoad({
      url: target.url,
      headers: target.headers,
      rate: RATE,
      seconds,
      connections: CONNECTIONS,
      body: () =>
        JSON.stringify({
          customerId: `c-${Math.floor(Math.random() * CUSTOMERS)}`,
          metric: 'calls',
          units: 1,
        }),
    });
  await load(WARMUP_SECONDS);
  const before = await scrape();
  const meter = new CpuMeter(redis.redis, target.child.pid);
  const {
    value: { value, cpu },
    heap,
  } = await target.child.heap(() => meter.measure(() => load(SECONDS)));
  const server = subtractBuckets(await scrape(), before);
  return { target: name, figures: value, cpu, server, heap };
}

function render(rows: Row[], revision: string): string {
  const perCheck = (cores: number, r: Row) =>
    Math.round((cores * 1e6) / r.figures.answeredPerSecond);
  const lines = [
    `# Quota check benchmark, ${new Date().toISOString()}`,
    '',
    `Source: ${revision}.`,
    `Command: \`npm run bench\` (quota part), BENCH_QUOTA_RATE=${RATE}: constant arrival rate, ${SECONDS} s after a ${WARMUP_SECONDS} s warm-up, up to ${CONNECTIONS} connections, ${CUSTOMERS} customers, two limits each.`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; everything local.`,
    '',
    '| target | answered/s | client p50 ms | client p99 ms | client p99.9 ms | server p50 | server p99 | server ≤ 2 ms | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.target} | ${Math.round(r.figures.answeredPerSecond)} | ${r.figures.p50Ms.toFixed(2)} | ${r.figures.p99Ms.toFixed(2)} | ${r.figures.p999Ms.toFixed(2)} | ${histogramQuantile(r.server, 0.5)} | ${histogramQuantile(r.server, 0.99)} | ${shareWithin(r.server, 0.002)} | ${r.figures.errors} |`,
    ),
    '',
    'CPU per check, µs (cores busy × 10⁶ / answered per second):',
    '',
    '| target | server | Redis | Postgres | load generator | machine |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.target} | ${perCheck(r.cpu.server, r)} | ${perCheck(r.cpu.redis, r)} | ${perCheck(r.cpu.postgres, r)} | ${perCheck(r.cpu.loadGenerator, r)} | ${perCheck(r.cpu.machine, r)} |`,
    ),
    '',
    ...renderHeap(
      rows.map((r) => ({
        label: r.target,
        heap: r.heap,
        requests: Math.round(RATE * SECONDS),
        unitsPerRequest: 1,
      })),
      'target',
    ),
    '',
  ];
  return `${lines.join('\n')}\n`;
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
