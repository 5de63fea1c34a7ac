import { MigrationInterface, QueryRunner } from 'typeorm';

const ROLLUP_TABLES = ['usage_rollups', 'usage_rollup_breakdowns'];

/**
 * The statement that moves the rollups by a set of signed window rows: `source` yields
 * `sign` (+1 a row as it now is, -1 a row as it was) and the columns of aggregation_windows.
 * Rows are inserted in key order, so two transactions touching the same rollup rows lock
 * them in the same order and cannot deadlock each other. (`totals` runs although nothing
 * reads it: Postgres runs every data-modifying WITH to completion.)
 */
function applySignedWindows(source: string): string {
  const grains = `(VALUES ('hour'), ('day')) AS g (grain)`;
  return `
WITH src AS (${source}),
totals AS (
  INSERT INTO usage_rollups AS r (tenant_id, grain, bucket_start, customer_id, calls, tokens,
    input_tokens, output_tokens, latency_sum_ms, latency_count, late_events)
  SELECT s.tenant_id, g.grain, date_trunc(g.grain, s.window_start, 'UTC'),
         COALESCE(s.customer_id, ''),
         sum(s.sign * s.total_calls), sum(s.sign * s.total_tokens),
         sum(s.sign * s.total_input_tokens), sum(s.sign * s.total_output_tokens),
         sum(s.sign * s.latency_sum_ms), sum(s.sign * s.latency_count),
         sum(s.sign * s.late_events)
  FROM src s CROSS JOIN ${grains}
  GROUP BY s.tenant_id, g.grain, date_trunc(g.grain, s.window_start, 'UTC'),
           GROUPING SETS ((s.customer_id), ())
  HAVING sum(s.sign * s.total_calls) <> 0 OR sum(s.sign * s.total_tokens) <> 0
      OR sum(s.sign * s.total_input_tokens) <> 0 OR sum(s.sign * s.total_output_tokens) <> 0
      OR sum(s.sign * s.latency_sum_ms) <> 0 OR sum(s.sign * s.latency_count) <> 0
      OR sum(s.sign * s.late_events) <> 0
  ORDER BY 1, 2, 3, 4
  ON CONFLICT (tenant_id, grain, bucket_start, customer_id) DO UPDATE SET
    calls = r.calls + EXCLUDED.calls,
    tokens = r.tokens + EXCLUDED.tokens,
    input_tokens = r.input_tokens + EXCLUDED.input_tokens,
    output_tokens = r.output_tokens + EXCLUDED.output_tokens,
    latency_sum_ms = r.latency_sum_ms + EXCLUDED.latency_sum_ms,
    latency_count = r.latency_count + EXCLUDED.latency_count,
    late_events = r.late_events + EXCLUDED.late_events
)
INSERT INTO usage_rollup_breakdowns AS r (tenant_id, grain, dimension, bucket_start,
  customer_id, name, calls, tokens)
SELECT s.tenant_id, g.grain, d.dimension, date_trunc(g.grain, s.window_start, 'UTC'),
       COALESCE(s.customer_id, ''), e.key, sum(s.sign * (e.value->>'calls')::bigint),
       sum(s.sign * (e.value->>'tokens')::bigint)
FROM src s
CROSS JOIN (VALUES ('endpoint', 'byEndpoint'), ('model', 'byModel')) AS d (dimension, field)
CROSS JOIN LATERAL jsonb_each(s.aggregation_data -> d.field) AS e
CROSS JOIN ${grains}
GROUP BY s.tenant_id, g.grain, d.dimension, date_trunc(g.grain, s.window_start, 'UTC'), e.key,
         GROUPING SETS ((s.customer_id), ())
HAVING sum(s.sign * (e.value->>'calls')::bigint) <> 0
    OR sum(s.sign * (e.value->>'tokens')::bigint) <> 0
ORDER BY 1, 2, 3, 4, 5, 6
ON CONFLICT (tenant_id, grain, dimension, bucket_start, customer_id, name) DO UPDATE SET
  calls = r.calls + EXCLUDED.calls,
  tokens = r.tokens + EXCLUDED.tokens`;
}

/**
 * The trigger function that applies a statement's window changes to the rollups, by its
 * event's transition tables. `prelude` runs first (a later migration adds a lock there).
 */
export function rollUpFunctionSql(verb: 'CREATE' | 'CREATE OR REPLACE', prelude: string): string {
  const apply = (source: string) => applySignedWindows(source).replace(/'/g, "''");
  return `
    ${verb} FUNCTION tally_roll_up_windows() RETURNS trigger
      LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp
      AS $$
      BEGIN${prelude}
        -- The transition tables a trigger has depend on its event.
        IF TG_OP = 'INSERT' THEN
          EXECUTE '${apply('SELECT 1 AS sign, * FROM new_rows')}';
        ELSIF TG_OP = 'UPDATE' THEN
          EXECUTE '${apply('SELECT 1 AS sign, * FROM new_rows UNION ALL SELECT -1, * FROM old_rows')}';
        ELSE
          EXECUTE '${apply('SELECT -1 AS sign, * FROM old_rows')}';
        END IF;
        RETURN NULL;
      END $$`;
}

/**
 * Exact hourly and daily (UTC) rollups of aggregation_windows, by customer (totals) and by
 * customer and endpoint or model (breakdowns), kept by triggers on aggregation_windows.
 * Each bucket also has a row for all the tenant's customers together, customer_id '' (no
 * customer has an empty id: ingestion refuses it), so an answer that neither groups nor
 * filters by customer reads one row per bucket instead of one per customer.
 *
 * Each statement that writes windows applies the difference between the rows as they were
 * (OLD TABLE) and as they are (NEW TABLE) to the rollups, in the same transaction. A
 * re-flush (version + 1) or a recompute therefore moves a rollup by exactly what changed
 * in its windows, concurrent writers serialise on the window row and then on the rollup
 * row, and the rollup of a bucket always equals the sum of its windows, whatever the order
 * of flushes and whichever path (closer, recompute, a future one) wrote them
 * (docs/analytics.md). Statement-level with transition tables: one rollup upsert per
 * statement, not one per window. The function runs as the writer (SECURITY INVOKER), so
 * the rollups are under the same row-level security as the windows.
 *
 * Windows present before this migration are rolled up here, with the windows locked
 * against writes until the migration commits (CREATE TRIGGER already takes that lock).
 */
export class UsageRollups1795570000000 implements MigrationInterface {
  name = 'UsageRollups1795570000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`LOCK TABLE aggregation_windows IN SHARE ROW EXCLUSIVE MODE`);
    // fillfactor: a flush updates measures only, so room on the page keeps it a HOT
    // update that touches no index.
    await q.query(`
      CREATE TABLE usage_rollups (
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        grain text NOT NULL CHECK (grain IN ('hour', 'day')),
        bucket_start timestamptz NOT NULL,
        customer_id text NOT NULL,
        calls bigint NOT NULL,
        tokens bigint NOT NULL,
        input_tokens bigint NOT NULL,
        output_tokens bigint NOT NULL,
        latency_sum_ms bigint NOT NULL,
        latency_count bigint NOT NULL,
        late_events bigint NOT NULL,
        PRIMARY KEY (tenant_id, grain, bucket_start, customer_id)
      ) WITH (fillfactor = 80)`);
    await q.query(
      `CREATE INDEX usage_rollups_customer_idx ON usage_rollups (tenant_id, grain, customer_id, bucket_start)`,
    );
    await q.query(`
      CREATE TABLE usage_rollup_breakdowns (
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        grain text NOT NULL CHECK (grain IN ('hour', 'day')),
        dimension text NOT NULL CHECK (dimension IN ('endpoint', 'model')),
        bucket_start timestamptz NOT NULL,
        customer_id text NOT NULL,
        name text NOT NULL,
        calls bigint NOT NULL,
        tokens bigint NOT NULL,
        PRIMARY KEY (tenant_id, grain, dimension, bucket_start, customer_id, name)
      ) WITH (fillfactor = 80)`);
    await q.query(
      `CREATE INDEX usage_rollup_breakdowns_customer_idx ON usage_rollup_breakdowns (tenant_id, grain, dimension, customer_id, bucket_start)`,
    );

    await q.query(rollUpFunctionSql('CREATE', ''));
    await q.query(`
      CREATE TRIGGER aggregation_windows_roll_up_insert AFTER INSERT ON aggregation_windows
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION tally_roll_up_windows()`);
    await q.query(`
      CREATE TRIGGER aggregation_windows_roll_up_update AFTER UPDATE ON aggregation_windows
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION tally_roll_up_windows()`);
    await q.query(`
      CREATE TRIGGER aggregation_windows_roll_up_delete AFTER DELETE ON aggregation_windows
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION tally_roll_up_windows()`);

    await q.query(applySignedWindows('SELECT 1 AS sign, * FROM aggregation_windows'));

    // The application role reads the rollups; it writes them only through the trigger,
    // which runs as the window's writer. DELETE of windows stays ungranted as before.
    for (const table of ROLLUP_TABLES) {
      await q.query(`GRANT SELECT, INSERT, UPDATE ON ${table} TO tally_app`);
      await q.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      await q.query(`ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`);
      await q.query(`
        CREATE POLICY tenant_isolation ON ${table} TO tally_app
          USING (tenant_id = tally_current_tenant())
          WITH CHECK (tenant_id = tally_current_tenant())`);
      await q.query(`
        CREATE POLICY system_access ON ${table} TO tally_system
          USING (true)
          WITH CHECK (true)`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const op of ['insert', 'update', 'delete']) {
      await q.query(`DROP TRIGGER aggregation_windows_roll_up_${op} ON aggregation_windows`);
    }
    await q.query(`DROP FUNCTION tally_roll_up_windows()`);
    for (const table of ROLLUP_TABLES) await q.query(`DROP TABLE ${table}`);
  }
}
