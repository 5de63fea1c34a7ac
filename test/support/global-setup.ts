import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { migrateAsOwner } from '../../src/infra/database/run-migrations';
import { reachable, withDatabase } from './services';

interface Stoppable {
  stop(): Promise<unknown>;
}

declare global {
  var __TALLY_CONTAINERS__: Stoppable[] | undefined;
}

/**
 * Finds real Postgres and Redis: DATABASE_URL / REDIS_URL when set, else the local
 * services if they answer, else Testcontainers; if none works, fails loudly rather
 * than letting every integration test skip. Then migrates a template database that
 * each test file clones (CREATE DATABASE … TEMPLATE), so files never share state.
 */
export default async function globalSetup(): Promise<void> {
  process.env.DATABASE_URL ??= await localOrContainerPostgres();
  process.env.REDIS_URL ??= await localOrContainerRedis();
  // Workers inherit this process's environment, so they find the template by name.
  const template = `tally_test_template_${randomBytes(4).toString('hex')}`;
  process.env.TALLY_TEST_TEMPLATE = template;
  const admin = new Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${template}`);
  } finally {
    await admin.end();
  }
  await migrateAsOwner(withDatabase(process.env.DATABASE_URL, template));
}

async function localOrContainerPostgres(): Promise<string> {
  if (await reachable('127.0.0.1', 5432)) return 'postgres://postgres@127.0.0.1:5432/postgres';
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const container = await new PostgreSqlContainer('postgres:16-alpine').start().catch(noEngine);
  track(container);
  return container.getConnectionUri();
}

async function localOrContainerRedis(): Promise<string> {
  if (await reachable('127.0.0.1', 6379)) return 'redis://127.0.0.1:6379';
  const { RedisContainer } = await import('@testcontainers/redis');
  const container = await new RedisContainer('redis:7-alpine').start().catch(noEngine);
  track(container);
  return container.getConnectionUrl();
}

function track(container: Stoppable): void {
  (globalThis.__TALLY_CONTAINERS__ ??= []).push(container);
}

function noEngine(error: Error): never {
  throw new Error(
    `Integration tests need Postgres and Redis: set DATABASE_URL/REDIS_URL, run them locally, ` +
      `or provide a Docker engine for Testcontainers (${error.message})`,
  );
}
