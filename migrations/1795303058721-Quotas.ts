import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Quota definitions: one row per limit, keyed by (tenant, customer, metric, period).
 * customer_id is the external id events carry (as in usage_events), NULL for the
 * tenant-wide default; NULLS NOT DISTINCT makes the key unique for defaults too.
 */
export class Quotas1795303058721 implements MigrationInterface {
  name = 'Quotas1795303058721';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE quotas (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        customer_id text,
        metric text NOT NULL CHECK (metric IN ('calls', 'tokens')),
        "limit" bigint NOT NULL CHECK ("limit" > 0),
        period_seconds integer NOT NULL CHECK (period_seconds > 0),
        algorithm text NOT NULL CHECK (algorithm IN ('fixed', 'sliding')),
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT quotas_limit_uq UNIQUE NULLS NOT DISTINCT (tenant_id, customer_id, metric, period_seconds)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE quotas`);
  }
}
