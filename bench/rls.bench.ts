/**
 * npm run bench:rls — what tenant isolation's last layer costs on a read route.
 *
 * GET /v1/windows (100 windows a page, one tenant of 20 with 2,000 windows each) against
 * the same build in three ways, alternated over several rounds in one run:
 *  - "RLS": as built. Each repository call is BEGIN; set_config('app.tenant_id');
 *    the query as tally_app under the policies; COMMIT.
 *  - "policies off": as built, with row-level security disabled on aggregation_windows
 *    for the phase: the transaction and the setting, without the policy check.
 *  - "no RLS": policies off and TenantDatabase.run patched to run the query alone on the
 *    pool, which is what the route did before the tenancy issue.
 * The app is a child process (`rls.bench.js serve <variant> <port>`) so that autocannon
 * and the server do not share an event loop.
 */
import autocannon from 'autocannon';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { createApp } from '../src/bootstrap';
import { loadConfig } from '../src/config/load-config';
import { TenantDatabase } from '../src/infra/database/tenant-database';
import { migrateAsOwner } from '../src/infra/database/run-migrations';
import { hashKey } from '../src/api-keys/api-key-codec';
import { BENCH_APP_ENV } from './in-process-env';

const SERVER_URL = process.env.BENCH_DATABASE_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432';
const DATABASE = 'tally_bench_rls';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const API_KEY = 'tly_benchrls_' + 'b'.repeat(43);
const TENANTS = 20;
const CUSTOMERS = 20;
const WINDOWS_PER_CUSTOMER = 100;

type Variant = 'as-built' | 'plain';
type Phase = 'RLS' | 'policies off' | 'no RLS';

const ENV: Record<string, string> = {
  DATABASE_URL: `${SERVER_URL}/${DATABASE}`,
  REDIS_URL,
  REDIS_KEY_PREFIX: 'benchrls:',
  ...BENCH_APP_ENV,
  APP_ROLE: 'api',
  API_KEY_RATE_LIMIT: '0',
  DATABASE_POOL_SIZE: '10',
  HOST: '127.0.0.1',
};

async function serve(variant: Variant, port: number): Promise<void> {
  const app = await createApp(loadConfig({ ...process.env, ...ENV, PORT: String(port) }));
  if (variant === 'plain') {
    const manager = app.get(DataSource).manager;
    const db = app.get(TenantDatabase);
    db.run = (_scope, work) => work(manager);
  }
  await app.listen({ port, host: '127.0.0.1' });
}

async function main(): Promise<void> {
  const admin = new Client({ connectionString: `${SERVER_URL}/postgres` });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DATABASE}`);
  await admin.end();
  await migrateAsOwner(ENV.DATABASE_URL);
  const owner = new Client({ connectionString: ENV.DATABASE_URL });
  await owner.connect();
  const children: ChildProcess[] = [];
  try {
    await seed(owner);
    const targets = new Map<Variant, string>();
    for (const variant of ['as-built', 'plain'] as const) {
      const port = await freePort();
      children.push(await start(variant, port));
      targets.set(variant, `http://127.0.0.1:${port}/v1/windows?limit=100`);
    }
    const results = new Map<Phase, Run[]>();
    const phases: [Phase, Variant, boolean][] = [
      ['RLS', 'as-built', true],
      ['policies off', 'as-built', false],
      ['no RLS', 'plain', false],
    ];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [phase, variant, policies] of phases) {
        const toggle = policies ? 'ENABLE' : 'DISABLE';
        await owner.query(`ALTER TABLE aggregation_windows ${toggle} ROW LEVEL SECURITY`);
        const run = await measure(targets.get(variant)!);
        results.set(phase, [...(results.get(phase) ?? []), run]);
        process.stderr.write(`round ${round} ${phase}: ${Math.round(run.rps)} req/s\n`);
      }
    }
    await owner.query('ALTER TABLE aggregation_windows ENABLE ROW LEVEL SECURITY');
    report(results);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await owner.end();
  }
}

/** 20 tenants × 20 customers × 100 windows, all within the route's default last 24 h. */
async function seed(owner: Client): Promise<void> {
  await owner.query(
    `INSERT INTO tenants (name) SELECT 'bench-' || i FROM generate_series(1, $1) AS i`,
    [TENANTS],
  );
  await owner.query(
    `INSERT INTO aggregation_windows (tenant_id, customer_id, window_start, window_end,
       total_calls, total_tokens, total_input_tokens, total_output_tokens, latency_sum_ms,
       latency_count, avg_latency_ms, aggregation_data)
     SELECT t.id, 'c-' || c, date_trunc('minute', now()) - w * interval '30 seconds',
       date_trunc('minute', now()) - (w - 1) * interval '30 seconds',
       10, 1000, 400, 600, 2000, 10, 200,
       '{"byEndpoint": {"/a": {"calls": 10, "tokens": 1000}}, "byModel": {}}'
     FROM tenants t, generate_series(1, $1) AS c, generate_series(1, $2) AS w`,
    [CUSTOMERS, WINDOWS_PER_CUSTOMER],
  );
  await owner.query(
    `INSERT INTO api_keys (tenant_id, name, prefix, key_hash, scopes)
     SELECT id, 'bench', 'benchrls', $1, '{read}' FROM tenants ORDER BY name LIMIT 1`,
    [hashKey(API_KEY, ENV.API_KEY_SECRET)],
  );
  await owner.query('ANALYZE');
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
}

async function measure(url: string): Promise<Run> {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { 'x-api-key': API_KEY },
    warmup: { duration: 2 },
  });
  if (result.non2xx + result.errors > 0) {
    throw new Error(`${result.non2xx} non-2xx answers and ${result.errors} errors from ${url}`);
  }
  return {
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

function report(results: Map<Phase, Run[]>): void {
  const median = (values: number[]) => [...values].sort((x, y) => x - y)[values.length >> 1];
  const baseline = median(results.get('no RLS')!.map((r) => r.rps));
  const cpu = cpus();
  const lines = [
    `Machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB; Postgres and Redis local.`,
    `Command: \`npm run bench:rls\` — GET /v1/windows?limit=100, ${CONNECTIONS} connections, ${SECONDS} s per phase after 2 s warm-up, ${ROUNDS} rounds alternating the phases; medians.`,
    '',
    '| phase | req/s | vs no RLS | p50 ms | p99 ms |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...[...results].map(([phase, runs]) => {
      const rps = median(runs.map((r) => r.rps));
      const change = ((rps / baseline - 1) * 100).toFixed(1);
      return `| ${phase} | ${Math.round(rps)} | ${change}% | ${median(runs.map((r) => r.p50))} | ${median(runs.map((r) => r.p99))} |`;
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function start(variant: Variant, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [__filename, 'serve', variant, String(port)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the ${variant} server exited early`);
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return child;
    if (Date.now() > deadline) throw new Error(`the ${variant} server did not become ready`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

if (process.argv[2] === 'serve') {
  void serve(process.argv[3] as Variant, Number(process.argv[4]));
} else {
  main().catch((error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}
