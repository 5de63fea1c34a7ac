import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { Child, freePort } from './processes';

export const ROOT = resolve(__dirname, '..', '..', '..');
const NODE = resolve(ROOT, 'node_modules/.bin/node');

/** Far above any backlog a run builds, so back-pressure 503s never show up as errors. */
export const STREAM_HIGH_WATER = 10_000_000;

/**
 * Service settings the benchmark changes unless told otherwise: the per-key event limiter
 * still runs and costs what it costs, but must not cap a capacity test.
 */
export const SERVICE_DEFAULTS: Record<string, string> = { API_KEY_EVENT_RATE_LIMIT: '1000000000' };

export interface Target {
  child: Child;
  url: string;
  headers: Record<string, string>;
}

export interface ServiceOptions {
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
  overrides: Record<string, string>;
}

/** Starts the built service on its own database and key prefix, and makes a tenant for the load. */
export async function startService(
  options: ServiceOptions,
  register: (c: Child) => void,
): Promise<Target> {
  const port = await freePort();
  const adminToken = randomBytes(16).toString('hex');
  // BENCH_SERVICE_NODE_OPTIONS: Node/V8 flags for the service alone (e.g. a GC setting).
  const nodeOptions = process.env.BENCH_SERVICE_NODE_OPTIONS;
  const child = new Child('service', NODE, resolve(ROOT, 'dist/src/main.js'), {
    PATH: process.env.PATH,
    ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
    ...SERVICE_DEFAULTS,
    ...options.overrides,
    PORT: String(port),
    HOST: '127.0.0.1',
    APP_PROFILE: 'test',
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    REDIS_KEY_PREFIX: options.prefix,
    ADMIN_TOKEN: adminToken,
    API_KEY_SECRET: randomBytes(32).toString('hex'),
    JWT_SECRET: randomBytes(32).toString('hex'),
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    STREAM_HIGH_WATER: String(STREAM_HIGH_WATER),
  });
  register(child);
  const base = `http://127.0.0.1:${port}`;
  // Start-up runs the migrations on the fresh database, hence the long wait.
  await child.waitFor(`${base}/health/ready`, 200, 60_000);
  const apiKey = await createTenant(base, adminToken);
  return { child, url: `${base}/v1/events`, headers: { 'x-api-key': apiKey } };
}

/** `env` may add BASELINE_REDIS_URL (and _PREFIX) for the quota benchmark's Redis floor. */
export async function startBaseline(
  register: (c: Child) => void,
  env: Record<string, string> = {},
): Promise<Target> {
  const port = await freePort();
  const child = new Child('baseline', NODE, resolve(__dirname, '..', 'baseline-server.js'), {
    ...env,
    PATH: process.env.PATH,
    PORT: String(port),
  });
  register(child);
  const base = `http://127.0.0.1:${port}`;
  // The baseline has no health route: its 404 proves it listens.
  await child.waitFor(base, 404);
  return { child, url: `${base}/v1/events`, headers: {} };
}

async function createTenant(base: string, adminToken: string): Promise<string> {
  const response = await fetch(`${base}/v1/tenants`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-admin-token': adminToken },
    body: JSON.stringify({ name: 'bench' }),
  });
  if (response.status !== 201) {
    throw new Error(`creating the tenant answered ${response.status}: ${await response.text()}`);
  }
  const created = (await response.json()) as { apiKey: { key: string } };
  return created.apiKey.key;
}
