import { DataSource } from 'typeorm';

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
