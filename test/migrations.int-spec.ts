import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { migrations } from '../migrations';
import { dataSourceOptions } from '../src/infra/database/data-source';
import { runMigrationsLocked } from '../src/infra/database/run-migrations';
import { withDatabase } from './support/services';

describe('migrations at start', () => {
  const database = `tally_test_mig_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: process.env.DATABASE_URL });

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
  });

  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('apply once when several instances start together', async () => {
    const url = withDatabase(process.env.DATABASE_URL!, database);
    const sources = await Promise.all(
      Array.from({ length: 4 }, () =>
        new DataSource(dataSourceOptions(url, { poolSize: 2 })).initialize(),
      ),
    );
    try {
      await Promise.all(sources.map((s) => runMigrationsLocked(s)));
      const applied = await sources[0].query<{ name: string }[]>('SELECT name FROM migrations');
      expect(applied.map((m) => m.name)).toEqual(migrations.map((m) => m.name));
    } finally {
      await Promise.all(sources.map((s) => s.destroy()));
    }
  });
});
