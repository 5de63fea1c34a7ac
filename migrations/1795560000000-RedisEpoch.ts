import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The Redis epoch Postgres last knew, and the state of the recovery after a Redis data loss
 * (docs/reliability/redis-data-loss.md). One row (`singleton`), written the first time an
 * instance starts and at each loss; an instance that starts after a loss finds here the
 * epoch Redis no longer holds.
 *
 * Not tenant data: row-level security is on with the system policy only, so the tenant
 * path sees no row and only SystemDatabase (tally_system) reads or writes it.
 */
export class RedisEpoch1795560000000 implements MigrationInterface {
  name = 'RedisEpoch1795560000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE redis_epoch (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        epoch_id uuid NOT NULL,
        started_at timestamptz NOT NULL,
        losses integer NOT NULL DEFAULT 0,
        owned_before timestamptz,
        recover_from timestamptz,
        recovery_requested integer NOT NULL DEFAULT 0,
        recovery_done integer NOT NULL DEFAULT 0,
        recovered_at timestamptz,
        recovered_windows integer,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (recovery_done <= recovery_requested)
      )`);
    await q.query(`GRANT SELECT, INSERT, UPDATE ON redis_epoch TO tally_app`);
    await q.query(`ALTER TABLE redis_epoch ENABLE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE redis_epoch FORCE ROW LEVEL SECURITY`);
    await q.query(`
      CREATE POLICY system_access ON redis_epoch TO tally_system
        USING (true)
        WITH CHECK (true)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE redis_epoch`);
  }
}
