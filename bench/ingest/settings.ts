import { envSchema } from '../../src/config/env.schema';

export interface BenchSettings {
  seconds: number;
  warmupSeconds: number;
  singleConnections: number;
  batchConnections: number;
  batchSize: number;
  drainCapSeconds: number;
  databaseUrl: string;
  redisUrl: string;
  /** Service variables (e.g. INGEST_BATCH_DELAY_MS) passed through from this environment. */
  serviceOverrides: Record<string, string>;
  shards: number;
}

/** Variables the benchmark sets itself; passing them through would break its bookkeeping. */
const OWNED = new Set([
  'PORT',
  'HOST',
  'APP_PROFILE',
  'APP_ROLE',
  'DATABASE_URL',
  'REDIS_URL',
  'REDIS_KEY_PREFIX',
  'ADMIN_TOKEN',
  'API_KEY_SECRET',
  'STREAM_HIGH_WATER',
]);

export function readSettings(env: NodeJS.ProcessEnv): BenchSettings {
  const serviceOverrides: Record<string, string> = {};
  for (const name of Object.keys(envSchema.properties)) {
    const value = env[name];
    if (value !== undefined && value !== '' && !OWNED.has(name)) serviceOverrides[name] = value;
  }
  return {
    seconds: positive(env, 'BENCH_SECONDS', 10),
    warmupSeconds: positive(env, 'BENCH_WARMUP_SECONDS', 2),
    singleConnections: positive(env, 'BENCH_CONNECTIONS', 50),
    batchConnections: positive(env, 'BENCH_BATCH_CONNECTIONS', 10),
    batchSize: positive(env, 'BENCH_BATCH_SIZE', 100, 1000),
    drainCapSeconds: positive(env, 'BENCH_DRAIN_CAP_SECONDS', 60),
    databaseUrl: env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tally_bench',
    redisUrl: env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    serviceOverrides,
    shards: Number(serviceOverrides.SHARDS ?? envSchema.properties.SHARDS.default),
  };
}

/** The BENCH_* and service variables this run was given, to print the exact command. */
export function benchVariables(env: NodeJS.ProcessEnv): string[] {
  return Object.keys(env)
    .filter((name) => name.startsWith('BENCH_') || name in envSchema.properties)
    .filter((name) => !OWNED.has(name) && env[name] !== '')
    .sort()
    .map((name) => `${name}=${redact(name, env[name] ?? '')}`);
}

/** The printed command ends up in committed docs: never a secret, nor a password in a URL. */
function redact(name: string, value: string): string {
  if (/SECRET|TOKEN|PASSWORD|KEY$/.test(name)) return '***';
  return value.replace(/(\/\/[^:/@]+:)[^@/]+@/, '$1***@');
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number, max = 1e6): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(`${name} must be an integer from 1 to ${max}`);
  }
  return value;
}
