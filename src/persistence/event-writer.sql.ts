/**
 * One statement per batch. The stream entries go in as one JSON array, unparsed in Node:
 * Postgres reads it once (json_to_recordset), creates the customers seen for the first
 * time (sorted, so concurrent writers take row locks in one order), stores the events,
 * and answers how many there were and which (tenant, customer, window) had events older
 * than $3 ms or in a window Postgres owns since a Redis data loss (`ownedBeforeMs`, from
 * redis_epoch), the candidates for a recompute. $2 is the window length in ms.
 *
 * $4 is the Redis epoch the entries were read in. The statement runs after
 * EPOCH_WRITE_LOCK_SQL, so redis_epoch cannot change before the commit. Entries of an
 * epoch already replaced (read before a loss, written after it was recorded) ask for the
 * recovery again in the same transaction, from the batch's oldest window: the recovery
 * may have looked before these events were in (docs/reliability/redis-data-loss.md).
 *
 * Plain INSERT fails on a row already stored. That is the usual case (Redis lets each
 * event into the stream once), and skipping the speculative insertion ON CONFLICT costs
 * on every row saves Postgres about a quarter of its work per event (docs/performance.md).
 */
export const WRITE_NEW_EVENTS_SQL = writeEvents('');

/**
 * The batch again after a conflict (an entry redelivered after its commit, or a duplicate
 * beyond the Redis horizon): rows already stored are skipped.
 */
export const WRITE_EVENTS_SKIPPING_STORED_SQL = writeEvents('ON CONFLICT DO NOTHING');

function writeEvents(onConflict: string): string {
  return `
WITH epoch AS (
  SELECT (extract(epoch FROM owned_before) * 1000)::float8 AS owned_before_ms FROM redis_epoch
), batch AS MATERIALIZED (
  SELECT * FROM json_to_recordset($1::json)
    AS x (i text, t uuid, c text, ts float8, e text, m jsonb, r float8)
), new_customers AS (
  INSERT INTO customers (tenant_id, external_id)
  SELECT DISTINCT t, c FROM batch ORDER BY t, c
  ON CONFLICT ON CONSTRAINT customers_tenant_external_uq DO NOTHING
), stored AS (
  INSERT INTO usage_events (event_id, tenant_id, customer_id, ts, endpoint, metadata, received_at)
  SELECT i, t, c, to_timestamp(ts / 1000), e, m, to_timestamp(r / 1000) FROM batch
  ${onConflict}
), superseded AS (
  UPDATE redis_epoch SET
    recovery_requested = recovery_requested + 1,
    recover_from = least(recover_from, (
      SELECT date_bin($2::float8 * interval '1 millisecond', to_timestamp(min(ts) / 1000), timestamptz 'epoch')
      FROM batch)),
    updated_at = now()
  WHERE epoch_id::text IS DISTINCT FROM $4::text
)
SELECT
  (SELECT count(*) FROM batch)::int AS events,
  (SELECT coalesce(json_agg(w), '[]') FROM (
    SELECT DISTINCT t AS "tenantId", c AS "customerId", floor(ts / $2) * $2 AS "windowStartMs"
    FROM batch WHERE ts < greatest($3::float8, (SELECT owned_before_ms FROM epoch))
  ) w) AS old,
  (SELECT owned_before_ms FROM epoch) AS "ownedBeforeMs"`;
}

/** Taken before the write: shared with every other write, exclusive to an epoch change. */
export const EPOCH_WRITE_LOCK_SQL = 'SELECT pg_advisory_xact_lock_shared($1)';
