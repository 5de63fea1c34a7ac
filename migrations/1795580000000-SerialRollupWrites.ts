import { MigrationInterface, QueryRunner } from 'typeorm';
import { rollUpFunctionSql } from './1795570000000-UsageRollups';

/** pg_advisory_xact_lock key of the rollups' writers (727_001… are the service's other locks). */
const ROLLUP_LOCK_KEY = 727_004;

/**
 * Writers of aggregation_windows apply their rollup changes one transaction at a time.
 *
 * An `INSERT … ON CONFLICT DO UPDATE` that both inserts and updates windows (a flush of new
 * and re-flushed windows) fires the INSERT and the UPDATE statement triggers one after the
 * other, and each locks its own rollup rows in key order: together the two passes do not
 * lock in one order, so a flush and another writer of the same buckets could each hold a
 * row the other waits for. Postgres then aborted one of them as a deadlock (seen about once
 * in 13 runs of test/rollups.property.int-spec.ts). Taking one transaction-level lock before
 * touching any rollup makes that impossible: a statement's window rows are already locked
 * when its trigger runs, and the rollup rows are only ever taken under this lock.
 *
 * The closer (one instance at a time, under its Redlock) is the only writer in normal
 * running, so the lock waits only when writers really overlap (a closer whose lock lapsed).
 */
export class SerialRollupWrites1795580000000 implements MigrationInterface {
  name = 'SerialRollupWrites1795580000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      rollUpFunctionSql(
        'CREATE OR REPLACE',
        `\n        PERFORM pg_advisory_xact_lock(${ROLLUP_LOCK_KEY});`,
      ),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(rollUpFunctionSql('CREATE OR REPLACE', ''));
  }
}
