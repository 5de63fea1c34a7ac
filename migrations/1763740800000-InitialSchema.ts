import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The first schema. Raw SQL because TypeORM cannot declare partitioned tables.
 * usage_events uses its natural key (tenant_id, event_id, ts) as primary key: the
 * partition key must be part of every unique index, and a surrogate id would cost a
 * second unique index on the hottest table.
 */
export class InitialSchema1763740800000 implements MigrationInterface {
  name = 'InitialSchema1763740800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tenants (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        version integer NOT NULL DEFAULT 1
      )`);
    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        name text NOT NULL,
        prefix text NOT NULL,
        key_hash text NOT NULL UNIQUE,
        scopes text[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at timestamptz
      )`);
    await q.query(`CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id)`);
    await q.query(`
      CREATE TABLE customers (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        external_id text NOT NULL,
        name text,
        email_encrypted bytea,
        email_key_id text,
        email_hash text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        version integer NOT NULL DEFAULT 1,
        CONSTRAINT customers_tenant_external_uq UNIQUE (tenant_id, external_id)
      )`);
    await q.query(
      `CREATE INDEX customers_email_hash_idx ON customers (tenant_id, email_hash) WHERE email_hash IS NOT NULL`,
    );
    await q.query(`
      CREATE TABLE usage_events (
        event_id text NOT NULL,
        tenant_id uuid NOT NULL,
        customer_id text NOT NULL,
        ts timestamptz NOT NULL,
        endpoint text NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, event_id, ts)
      ) PARTITION BY RANGE (ts)`);
    await q.query(
      `CREATE INDEX usage_events_tenant_customer_ts_idx ON usage_events (tenant_id, customer_id, ts)`,
    );
    // Catches any row outside the daily partitions the service creates ahead, so an
    // accepted event is never refused by Postgres for want of a partition.
    await q.query(`CREATE TABLE usage_events_default PARTITION OF usage_events DEFAULT`);
    await q.query(`
      CREATE TABLE aggregation_windows (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        customer_id text NOT NULL,
        window_start timestamptz NOT NULL,
        window_end timestamptz NOT NULL,
        total_calls bigint NOT NULL,
        total_tokens bigint NOT NULL,
        total_input_tokens bigint NOT NULL,
        total_output_tokens bigint NOT NULL,
        latency_sum_ms bigint NOT NULL,
        latency_count bigint NOT NULL,
        avg_latency_ms double precision,
        aggregation_data jsonb NOT NULL,
        late_events bigint NOT NULL DEFAULT 0,
        flushed_rev bigint NOT NULL DEFAULT 0,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT aggregation_windows_key_uq UNIQUE (tenant_id, customer_id, window_start)
      )`);
    await q.query(
      `CREATE INDEX aggregation_windows_tenant_start_idx ON aggregation_windows (tenant_id, window_start, customer_id)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE aggregation_windows`);
    await q.query(`DROP TABLE usage_events`);
    await q.query(`DROP TABLE customers`);
    await q.query(`DROP TABLE api_keys`);
    await q.query(`DROP TABLE tenants`);
  }
}
