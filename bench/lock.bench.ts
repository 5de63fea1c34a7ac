/**
 * npm run bench:lock — closers × shards × windows: how fast do N instances' closers
 * flush a backlog of due windows, and what does the shard lock cost them?
 *
 * Every scenario gets a fresh database and Redis prefix, starts C app instances in
 * this process (each its own Redis connections, Redlock and closer; the lock
 * contention goes through Redis as between processes), fills W due windows through
 * the real ingest path, then runs every closer's pass concurrently until no window
 * is open. It verifies that each window was written exactly once.
 */
import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { Client } from 'pg';
import { Redis } from 'ioredis';
import { WindowCloser } from '../src/windows/window-closer';
import { createApp, shutdown } from '../src/bootstrap';
import { loadConfig } from '../src/config/load-config';
import { IngestionService } from '../src/ingestion/ingestion.service';
import type { MeteringEvent } from '../src/window-store/metering-event';
import { Metrics } from '../src/infra/metrics/metrics';
import { TenantsService } from '../src/tenants/tenants.service';
import { BENCH_APP_ENV } from './in-process-env';
import { recreateDatabase } from './ingest/stores';

const BASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DB = 'tally_bench_lock';
const SCENARIOS = [
  { closers: 1, shards: 16, windows: 4000 },
  { closers: 2, shards: 16, windows: 4000 },
  { closers: 4, shards: 16, windows: 4000 },
  { closers: 4, shards: 4, windows: 4000 },
  { closers: 4, shards: 64, windows: 4000 },
];

interface Result {
  closers: number;
  shards: number;
  windows: number;
  seconds: number;
  acquired: number;
  busy: number;
  waitP99Ms: string;
}

async function main(): Promise<void> {
  const results: Result[] = [];
  for (const scenario of SCENARIOS) results.push(await run(scenario));
  const lines = [
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    '',
    '| closers | shards | windows | seconds | windows/s | locks acquired | lock busy (skipped) | p99 lock wait |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.closers} | ${r.shards} | ${r.windows} | ${r.seconds.toFixed(2)} | ${Math.round(r.windows / r.seconds)} | ${r.acquired} | ${r.busy} | ${r.waitP99Ms} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function run(s: { closers: number; shards: number; windows: number }): Promise<Result> {
  await recreateDatabase(withDatabase(BASE_URL, DB));
  const prefix = `benchlock:${randomBytes(3).toString('hex')}:`;
  const env = {
    DATABASE_URL: withDatabase(BASE_URL, DB),
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    ...BENCH_APP_ENV,
    SHARDS: String(s.shards),
    WINDOW_SECONDS: '2',
    WINDOW_GRACE_SECONDS: '0',
    MAX_LATENESS_SECONDS: '600',
    // Passes are driven by the bench, not the timer.
    CLOSER_INTERVAL_MS: '60000',
    DATABASE_POOL_SIZE: '4',
  };
  const apps: NestFastifyApplication[] = [];
  for (let i = 0; i < s.closers; i++) {
    const app = await createApp(loadConfig({ ...env, INSTANCE_ID: `closer-${i}` }));
    await app.init();
    apps.push(app);
  }
  try {
    await fill(apps[0], s.windows);
    const redis = new Redis(REDIS_URL);
    const open = async () => {
      let total = 0;
      for (let shard = 0; shard < s.shards; shard++) {
        total += await redis.zcard(`${prefix}{${shard}}:open`);
      }
      return total;
    };
    const started = performance.now();
    await Promise.all(
      apps.map(async (app) => {
        const closer = app.get(WindowCloser);
        while ((await open()) > 0) await closer.closeAll();
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    await redis.quit();
    await verify(s.windows);
    const counts = await lockCounts(apps);
    return { ...s, seconds, ...counts };
  } finally {
    for (const app of apps) await shutdown(app);
  }
}

/** W due windows: one event for each of W customers, in a window that ended 10 s ago. */
async function fill(app: NestFastifyApplication, windows: number): Promise<void> {
  const { tenant } = await app.get(TenantsService).create('bench');
  const start = Math.floor(Date.now() / 2000) * 2000 - 10_000;
  const events: MeteringEvent[] = Array.from({ length: windows }, (_, i) => ({
    eventId: `e-${i}`,
    timestampMs: start + 1,
    tenantId: tenant.id,
    customerId: `c-${i}`,
    endpoint: '/bench',
    tokens: 1,
    inputTokens: 1,
    outputTokens: 0,
    metadata: { tokens: 1 },
  }));
  const ingestion = app.get(IngestionService);
  for (let i = 0; i < events.length; i += 1000) {
    await ingestion.ingest(events.slice(i, i + 1000), Date.now());
  }
}

async function verify(windows: number): Promise<void> {
  const client = new Client({ connectionString: withDatabase(BASE_URL, DB) });
  await client.connect();
  const { rows } = await client.query<{ n: number; v: number }>(
    'SELECT count(*)::int AS n, sum(version)::int AS v FROM aggregation_windows',
  );
  await client.end();
  if (rows[0].n !== windows || rows[0].v !== windows) {
    throw new Error(
      `expected ${windows} windows written once each, got ${JSON.stringify(rows[0])}`,
    );
  }
}

/** Sums every instance's lock counters; p99 wait read off the histogram (a bucket bound). */
async function lockCounts(apps: NestFastifyApplication[]) {
  let acquired = 0;
  let busy = 0;
  const buckets = new Map<number, number>();
  for (const app of apps) {
    const metrics = app.get(Metrics);
    for (const v of (await metrics.lockAttempts.get()).values) {
      if (v.labels.outcome === 'acquired') acquired += v.value;
      if (v.labels.outcome === 'busy') busy += v.value;
    }
    for (const v of (await metrics.lockWait.get()).values) {
      const { le: bound } = v.labels as { le?: string | number };
      if (v.metricName?.endsWith('_bucket') && bound !== undefined) {
        const le = bound === '+Inf' ? Infinity : Number(bound);
        buckets.set(le, (buckets.get(le) ?? 0) + v.value);
      }
    }
  }
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Infinity) ?? 0;
  const p99 = bounds.find((le) => (buckets.get(le) ?? 0) >= total * 0.99) ?? Infinity;
  return { acquired, busy, waitP99Ms: p99 === Infinity ? '> 2.5 s' : `≤ ${p99 * 1000} ms` };
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
