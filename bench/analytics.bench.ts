/**
 * npm run bench:analytics — the analysts' reads at a real size, cold and cached, beside
 * the same answers computed by scanning aggregation_windows (the naive baseline).
 *
 * One tenant, 200 customers × 7 days of 30-second windows (4,032,000 windows) and their
 * rollups, generated once in SQL into the database `tally_bench_analytics` and reused by
 * later runs (BENCH_DATASET_MAX_AGE_HOURS, default 24). The service runs as its own process
 * (APP_ROLE=api: no closer, so nothing changes the data) and logs each request's own time
 * (Fastify's elapsed time: the server time reported here). Requests are sent one at a
 * time. "Cold": the tenant's version hash is deleted before each request, so neither the
 * Redis cache nor the local one can answer and the rollups are read; "cached": the same
 * request again and again, with the service's CPU time over those requests (less moved by
 * other work on the machine than the server time, which counts waits for a core). The baseline runs the scan as the service's role under
 * row-level security, in Postgres only (no HTTP), and the answers are checked to agree.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { TENANT_ID, CUSTOMERS, DAYS, ensureDataset } from './analytics/dataset';
import { type FlushCost, measureFlushCost } from './analytics/flush-cost';
import { BENCH_APP_ENV } from './in-process-env';
import { freePort } from './ingest/processes';
import { sourceRevision } from './ingest/revision';
import { ROOT } from './ingest/targets';

const DATABASE_URL =
  process.env.BENCH_ANALYTICS_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/tally_bench_analytics';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const COLD = Number(process.env.BENCH_COLD ?? 100);
const CACHED = Number(process.env.BENCH_CACHED ?? 500);
const SCANS = Number(process.env.BENCH_SCANS ?? 5);
const MAX_AGE_MS = Number(process.env.BENCH_DATASET_MAX_AGE_HOURS ?? 24) * 3_600_000;
const FLUSH_DATABASE_URL =
  process.env.BENCH_FLUSH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tally_bench_flush';
const API_KEY = 'tly_benchana_' + 'a'.repeat(43);
const PREFIX = `bench-analytics-${randomBytes(3).toString('hex')}:`;

interface AnswerRow {
  bucketStart?: string;
  date?: string;
  customerId?: string;
  calls: number;
  tokens: number;
}

interface Answer {
  from: string;
  to: string;
  data: AnswerRow[];
}

interface ScanRow {
  b: Date;
  date: string;
  customer_id: string;
  calls: string;
  tokens: string;
}

interface Target {
  name: string;
  url: string;
  route: string;
  /** The same answer by scanning windows, as comparable lines. */
  scan: (db: Client, answer: Answer) => Promise<string[]>;
  /** The service's answer as the same lines. */
  lines: (answer: Answer) => string[];
}

const TARGETS = (nowMs: number): Target[] => {
  const sevenDays = new Date(nowMs - 7 * 86_400_000).toISOString();
  const thirtyDays = new Date(nowMs - 30 * 86_400_000).toISOString();
  const now = new Date(nowMs).toISOString();
  const byBucket = (answer: Answer) =>
    answer.data
      .filter((r) => r.calls > 0)
      .map((r) => `${Date.parse(r.bucketStart ?? '')} ${r.calls} ${r.tokens}`);
  const scanBuckets = (unit: 'hour' | 'day') => async (db: Client, answer: Answer) =>
    (
      await db.query<ScanRow>(
        `SELECT date_trunc('${unit}', window_start, 'UTC') AS b, sum(total_calls) AS calls,
                    sum(total_tokens) AS tokens
             FROM aggregation_windows
             WHERE tenant_id = $1 AND window_start >= $2 AND window_start < $3
             GROUP BY 1`,
        [TENANT_ID, answer.from, answer.to],
      )
    ).rows.map((r) => `${r.b.getTime()} ${r.calls} ${r.tokens}`);
  return [
    {
      name: '/v1/usage/daily',
      url: '/v1/usage/daily',
      route: '/v1/usage/daily',
      lines: (a) => a.data.map((r) => `${r.date} ${r.customerId} ${r.calls} ${r.tokens}`),
      scan: async (db, a) =>
        (
          await db.query<ScanRow>(
            `SELECT to_char(date_trunc('day', window_start, 'UTC'), 'YYYY-MM-DD') AS date, customer_id,
                    sum(total_calls) AS calls, sum(total_tokens) AS tokens
             FROM aggregation_windows
             WHERE tenant_id = $1 AND window_start >= $2 AND window_start < $3
             GROUP BY 1, 2`,
            [TENANT_ID, a.from, a.to],
          )
        ).rows.map((r) => `${r.date} ${r.customer_id} ${r.calls} ${r.tokens}`),
    },
    {
      name: '/v1/usage/top?hours=24',
      url: '/v1/usage/top?hours=24',
      route: '/v1/usage/top',
      lines: (a) => a.data.map((r) => `${r.customerId} ${r.calls} ${r.tokens}`),
      scan: async (db, a) =>
        (
          await db.query<ScanRow>(
            `SELECT customer_id, sum(total_calls) AS calls, sum(total_tokens) AS tokens
             FROM aggregation_windows
             WHERE tenant_id = $1 AND window_start >= $2 AND window_start < $3
             GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3`,
            [TENANT_ID, a.from, a.to],
          )
        ).rows.map((r) => `${r.customer_id} ${r.calls} ${r.tokens}`),
    },
    {
      name: '/v1/usage?granularity=hour (7 days)',
      url: `/v1/usage?granularity=hour&from=${sevenDays}&to=${now}`,
      route: '/v1/usage',
      lines: byBucket,
      scan: scanBuckets('hour'),
    },
    {
      name: '/v1/usage?granularity=day (30 days)',
      url: `/v1/usage?granularity=day&from=${thirtyDays}&to=${now}`,
      route: '/v1/usage',
      lines: byBucket,
      scan: scanBuckets('day'),
    },
  ];
};

/** The service's own time per request, from its request log lines. */
class ServerTimes {
  private readonly seen: { route: string; ms: number }[] = [];

  constructor(child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as {
          msg?: string;
          route?: string;
          ms?: number;
          status?: number;
        };
        if (
          entry.msg === 'request completed' &&
          entry.route?.startsWith('/v1/') &&
          entry.status === 200
        ) {
          this.seen.push({ route: entry.route, ms: entry.ms! });
        }
      } catch {
        process.stderr.write(`[service] ${line}\n`);
      }
    });
  }

  mark(): number {
    return this.seen.length;
  }

  /** The `count` times logged after `mark`, once they are all in. */
  async since(mark: number, count: number): Promise<number[]> {
    const deadline = Date.now() + 10_000;
    while (this.seen.length < mark + count) {
      if (Date.now() > deadline) throw new Error('request log lines missing');
      await sleep(20);
    }
    return this.seen.slice(mark, mark + count).map((s) => s.ms);
  }
}

interface Row {
  target: string;
  cold: number[];
  cached: number[];
  /** The service's CPU time per cached request, ms (null: not on Linux). */
  cachedCpu: number | null;
  scan: number[];
  agrees: boolean;
}

async function main(): Promise<void> {
  const revision = await sourceRevision(ROOT);
  const apiKeySecret = BENCH_APP_ENV.API_KEY_SECRET;
  const dataset = await ensureDataset(DATABASE_URL, API_KEY, apiKeySecret, MAX_AGE_MS);
  const redis = new Redis(REDIS_URL);
  const port = await freePort();
  const child = spawn(
    resolve(ROOT, 'node_modules/.bin/node'),
    [resolve(ROOT, 'dist/src/main.js')],
    {
      env: {
        PATH: process.env.PATH,
        ...BENCH_APP_ENV,
        DATABASE_URL,
        REDIS_URL,
        REDIS_KEY_PREFIX: PREFIX,
        PORT: String(port),
        HOST: '127.0.0.1',
        APP_ROLE: 'api',
        API_KEY_RATE_LIMIT: '0',
        LOG_LEVEL: 'info',
        LOG_REQUESTS: 'true',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const times = new ServerTimes(child);
  const base = `http://127.0.0.1:${port}`;
  const db = new Client({ connectionString: DATABASE_URL, options: '-c role=tally_app' });
  try {
    await waitReady(base);
    await db.connect();
    const rows: Row[] = [];
    for (const target of TARGETS(Date.now())) {
      const get = async () => {
        const response = await fetch(`${base}${target.url}`, { headers: { 'x-api-key': API_KEY } });
        if (response.status !== 200)
          throw new Error(`${target.url}: ${response.status} ${await response.text()}`);
        return (await response.json()) as Answer;
      };
      const versions = `${PREFIX}{a:${TENANT_ID}}:versions`;
      for (let i = 0; i < 5; i++) {
        await redis.del(versions);
        await get();
      }
      let mark = times.mark();
      for (let i = 0; i < COLD; i++) {
        await redis.del(versions);
        await get();
      }
      const cold = await times.since(mark, COLD);
      const answer = await get();
      mark = times.mark();
      const cpuBefore = await cpuMs(child.pid);
      for (let i = 0; i < CACHED; i++) await get();
      const cpuAfter = await cpuMs(child.pid);
      const cached = await times.since(mark, CACHED);
      const cachedCpu =
        cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / CACHED;
      const scan: number[] = [];
      let scanned: string[] = [];
      for (let i = 0; i < SCANS; i++) {
        await db.query<ScanRow>('BEGIN');
        await db.query<ScanRow>(`SELECT set_config('app.tenant_id', $1, true)`, [TENANT_ID]);
        const started = performance.now();
        scanned = await target.scan(db, answer);
        scan.push(performance.now() - started);
        await db.query<ScanRow>('COMMIT');
      }
      const agrees =
        JSON.stringify([...target.lines(answer)].sort()) === JSON.stringify([...scanned].sort());
      if (!agrees) {
        process.stderr.write(
          `DISAGREE ${target.name}\nservice: ${target.lines(answer).slice(0, 5).join('; ')}\nscan: ${scanned.slice(0, 5).join('; ')}\n`,
        );
      }
      rows.push({ target: target.name, cold, cached, cachedCpu, scan, agrees });
      process.stderr.write(
        `${target.name}: cold p50 ${quantile(cold, 0.5)} ms, cached p50 ${quantile(cached, 0.5)} ms, scan p50 ${quantile(scan, 0.5).toFixed(0)} ms\n`,
      );
    }
    await db.end();
    child.kill('SIGTERM');
    const flush = await measureFlushCost(FLUSH_DATABASE_URL);
    process.stdout.write(render(rows, revision, dataset, flush));
    if (rows.some((r) => !r.agrees)) process.exitCode = 1;
  } finally {
    child.kill('SIGTERM');
    await db.end().catch(() => undefined);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
    await redis.quit();
  }
}

async function waitReady(base: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const status = await fetch(`${base}/health/ready`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await sleep(200);
  }
  throw new Error('the service did not become ready');
}

/**
 * The service's CPU time so far, user and system, in ms: what a request costs whatever the
 * machine's load, where server time also counts the waits for a core. Linux only (null
 * elsewhere); /proc counts in ticks of 10 ms (USER_HZ 100), so it is read over many requests.
 */
async function cpuMs(pid: number | undefined): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function render(
  rows: Row[],
  revision: string,
  dataset: Awaited<ReturnType<typeof ensureDataset>>,
  flush: FlushCost,
): string {
  const cost = (w: number, wo: number) =>
    `${wo.toFixed(1)} ms → ${w.toFixed(1)} ms (+${((w / wo - 1) * 100).toFixed(0)} %, ${(((w - wo) * 1000) / flush.windows).toFixed(0)} µs a window)`;
  const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  const ageHours = ((Date.now() - dataset.generatedAtMs) / 3_600_000).toFixed(1);
  const lines = [
    `# Analytics benchmark, ${new Date().toISOString()}`,
    '',
    `Source: ${revision}.`,
    `Command: \`npm run bench:analytics\`: ${COLD} cold and ${CACHED} cached requests per answer, one at a time; the scan ${SCANS} times.`,
    `Data: 1 tenant, ${CUSTOMERS} customers × ${DAYS} days of 30-second windows = ${dataset.windows.toLocaleString('en')} windows, ${dataset.reused ? `reused (generated ${ageHours} h before)` : `generated in ${dataset.generationSeconds!.toFixed(0)} s`}.`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; Postgres, Redis and the service on the same machine; load average at the end ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')} (1 / 5 / 15 min: anything above 2 is other work competing for the 2 cores).`,
    '',
    "Server time (the service's own, per request) in ms; cached CPU: the service's CPU time per cached request (user + system, over all of them); the scan in Postgres alone. Targets: cold p99 ≤ 50 ms and ≥ 20× faster than the scan; cached p99 ≤ 2 ms.",
    '',
    '| answer | cold p50 | cold p99 | cached p50 | cached p99 | cached CPU | scan p50 | scan ÷ cold p99 | agrees |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows.map(
      (r) =>
        `| ${r.target} | ${ms(quantile(r.cold, 0.5))} | ${ms(quantile(r.cold, 0.99))} | ${ms(quantile(r.cached, 0.5))} | ${ms(quantile(r.cached, 0.99))} | ${r.cachedCpu === null ? '?' : r.cachedCpu.toFixed(2)} | ${ms(quantile(r.scan, 0.5))} | ${(quantile(r.scan, 0.5) / quantile(r.cold, 0.99)).toFixed(0)}× | ${r.agrees ? 'yes' : 'NO'} |`,
    ),
    '',
    `The closer's flush statement, ${flush.windows} windows, without → with the rollup triggers (medians of ${flush.rounds} rounds each, alternated):`,
    `first flush (inserts) ${cost(flush.insert.with, flush.insert.without)}; re-flush (updates) ${cost(flush.update.with, flush.update.without)}.`,
    '',
  ];
  return lines.join('\n');
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
