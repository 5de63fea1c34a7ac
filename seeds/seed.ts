import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from '../src/config/load-config';
import { entities } from '../src/entities';
import { dataSourceOptions } from '../src/infra/database/data-source';
import { runMigrationsLocked } from '../src/infra/database/run-migrations';
import { hashKey, isWellFormedKey } from '../src/api-keys/api-key-codec';
import { SCOPES } from '../src/common/access/scope';

/** Well known on purpose: for local development only; `prod` refuses to seed. */
const DEV_API_KEY = 'tly_devdev00_' + 'd'.repeat(43);
const DEMO_TENANT_ID = '00000000-0000-4000-8000-000000000001';
const DEMO_CUSTOMERS = ['c-1', 'c-2', 'c-42'];

/** Idempotent: a second run changes nothing. */
async function seed(): Promise<void> {
  const config = loadConfig(process.env);
  if (config.profile === 'prod') throw new Error('seed refuses to run with APP_PROFILE=prod');
  const apiKey = process.env.SEED_API_KEY ?? DEV_API_KEY;
  if (!isWellFormedKey(apiKey)) throw new Error('SEED_API_KEY is not a well-formed tly_ key');
  const dataSource = await new DataSource(
    dataSourceOptions(config.databaseUrl, { entities, poolSize: 2 }),
  ).initialize();
  try {
    await runMigrationsLocked(dataSource);
    await dataSource.transaction(async (m) => {
      await m.query(
        `INSERT INTO tenants (id, name) VALUES ($1, 'demo') ON CONFLICT (id) DO NOTHING`,
        [DEMO_TENANT_ID],
      );
      await m.query(
        `INSERT INTO api_keys (tenant_id, name, prefix, key_hash, scopes)
         VALUES ($1, 'development', $2, $3, $4) ON CONFLICT (key_hash) DO NOTHING`,
        [DEMO_TENANT_ID, apiKey.slice(4, 12), hashKey(apiKey, config.apiKeySecret), [...SCOPES]],
      );
      await m.query(
        `INSERT INTO customers (tenant_id, external_id, name)
         SELECT $1, c, 'Demo customer ' || c FROM unnest($2::text[]) AS c
         ON CONFLICT ON CONSTRAINT customers_tenant_external_uq DO NOTHING`,
        [DEMO_TENANT_ID, DEMO_CUSTOMERS],
      );
    });
    process.stdout.write(`demo tenant ${DEMO_TENANT_ID}, API key ${apiKey}\n`);
  } finally {
    await dataSource.destroy();
  }
}

seed().catch((error: Error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
