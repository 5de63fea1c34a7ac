import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { SchedulerRegistry } from '@nestjs/schedule';
import { type AppOptions, createApp, shutdown } from '../../src/bootstrap';
import type { AppConfig } from '../../src/config/app-config';
import type { RawEnv } from '../../src/config/env.schema';
import { loadConfig } from '../../src/config/load-config';
import { migrateAsOwner } from '../../src/infra/database/run-migrations';
import { WindowCloser } from '../../src/windows/window-closer';
import { templateDb, withDatabase } from './services';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const JWT_SECRET = 'test-jwt-secret-0123456789abcdef0123';
/** 32 bytes, base64: test data only. */
export const ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');

/**
 * One test file's world: its own database cloned from the migrated template, its own
 * Redis key prefix, and the app instances it starts on them.
 */
export class TestStack {
  readonly apps: NestFastifyApplication[] = [];

  private constructor(
    readonly env: RawEnv,
    readonly pg: Client,
    readonly redis: Redis,
    private readonly server: string,
    private readonly database: string,
  ) {}

  /**
   * `databaseServer`: a server of the test's own (a ThrowawayPostgres) instead of the
   * shared one; the database is created there empty and migrated, as on a first start.
   */
  static async create(
    overrides: RawEnv = {},
    { databaseServer }: { databaseServer?: string } = {},
  ): Promise<TestStack> {
    const baseUrl = databaseServer ?? requireEnv('DATABASE_URL');
    const database = `tally_test_${randomBytes(6).toString('hex')}`;
    const admin = new Client({ connectionString: baseUrl });
    await admin.connect();
    try {
      const template = databaseServer ? '' : ` TEMPLATE ${templateDb()}`;
      await admin.query(`CREATE DATABASE ${database}${template}`);
    } finally {
      await admin.end();
    }
    if (databaseServer) await migrateAsOwner(withDatabase(baseUrl, database));
    const env: RawEnv = {
      DATABASE_URL: withDatabase(baseUrl, database),
      REDIS_URL: requireEnv('REDIS_URL'),
      REDIS_KEY_PREFIX: `test:${randomBytes(4).toString('hex')}:`,
      ADMIN_TOKEN,
      API_KEY_SECRET: 'test-api-key-secret-0123456789abcdef',
      JWT_SECRET,
      ENCRYPTION_KEY,
      APP_PROFILE: 'test',
      WINDOW_SECONDS: '2',
      WINDOW_GRACE_SECONDS: '0.5',
      MAX_LATENESS_SECONDS: '30',
      DEDUP_TTL_SECONDS: '60',
      CLOSER_INTERVAL_MS: '100',
      PERSIST_IDLE_DELAY_MS: '10',
      INGEST_BATCH_DELAY_MS: '1',
      DATABASE_POOL_SIZE: '4',
      // The stack's own spool root (its instances each claim a directory in it), never the
      // working directory's default that every test file would share.
      SPOOL_DIR: overrides.SPOOL_DIR ?? mkdtempSync(join(tmpdir(), 'tally-spool-')),
      ...overrides,
    };
    const pg = new Client({ connectionString: env.DATABASE_URL });
    // A test that stops its own Postgres must not die of this client's 'error' event.
    pg.on('error', () => undefined);
    await pg.connect();
    // The stack's own view of Redis: the throwaway one when the test brought its own.
    const redis = new Redis(env.REDIS_URL!, { maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    return new TestStack(env, pg, redis, baseUrl, database);
  }

  get prefix(): string {
    return this.env.REDIS_KEY_PREFIX ?? '';
  }

  config(overrides: RawEnv = {}): AppConfig {
    return loadConfig({
      INSTANCE_ID: `test-${randomUUID().slice(0, 8)}`,
      ...this.env,
      ...overrides,
    });
  }

  /** Starts an instance (not listening; requests go through Fastify's inject). */
  async start(overrides: RawEnv = {}, options: AppOptions = {}): Promise<NestFastifyApplication> {
    const app = await createApp(this.config(overrides), options);
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    this.apps.push(app);
    return app;
  }

  async stop(app: NestFastifyApplication): Promise<void> {
    this.apps.splice(this.apps.indexOf(app), 1);
    await shutdown(app);
  }

  /** Redis keys of this stack matching a pattern after the prefix. */
  async keys(pattern = '*'): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(
        cursor,
        'MATCH',
        `${this.prefix}${pattern}`,
        'COUNT',
        1000,
      );
      found.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return found;
  }

  /** Tolerates servers the test killed: what cannot be cleaned up went down with them. */
  async dispose(): Promise<void> {
    await Promise.all([...this.apps].map((app) => this.stop(app)));
    rmSync(this.env.SPOOL_DIR!, { recursive: true, force: true }); // with any spool left in it
    const keys = await this.keys().catch(() => []);
    if (keys.length > 0) await this.redis.del(...keys).catch(() => undefined);
    this.redis.disconnect();
    await this.pg.end().catch(() => undefined);
    const admin = new Client({ connectionString: this.server });
    try {
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`);
    } catch (error) {
      if (this.server === requireEnv('DATABASE_URL')) throw error;
    } finally {
      await admin.end().catch(() => undefined);
    }
  }
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: the integration global setup did not run`);
  return value;
}

/**
 * The app's WindowCloser with its timer taken off, for tests whose windows flush only when
 * they call closeAll: a long CLOSER_INTERVAL_MS is not enough, as a slow run outlasts it and
 * the timer's pass flushes a window the test still expects open.
 */
export function closerByHand(app: NestFastifyApplication): WindowCloser {
  app.get(SchedulerRegistry).deleteInterval('window-closer');
  return app.get(WindowCloser);
}

/** Polls until the check passes or the time is up, then rethrows its last failure. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 15000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
