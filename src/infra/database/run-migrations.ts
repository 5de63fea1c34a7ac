import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source';

/** Arbitrary constant shared by every instance: "tally migrations". */
const MIGRATION_LOCK_KEY = 727_001;

/**
 * Runs pending migrations while holding a session-level advisory lock, so that ten
 * instances starting together apply each migration once and the rest wait for it.
 */
export async function runMigrationsLocked(dataSource: DataSource): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await runner
      .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY])
      .catch(() => undefined);
    await runner.release();
  }
}

/**
 * Migrates as the URL's user, the schema's owner, on a short-lived pool of two: one
 * connection holds the lock while the other runs the migrations.
 */
export async function migrateAsOwner(url: string): Promise<void> {
  const owner = await new DataSource(dataSourceOptions(url, { poolSize: 2 })).initialize();
  try {
    await runMigrationsLocked(owner);
  } finally {
    await owner.destroy();
  }
}
