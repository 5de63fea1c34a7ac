/*
 * Every statement that writes or reads aggregation_windows. Reviewed text: see
 * docs/consistency.md for why each write has SET semantics.
 */

const SET_TOTALS = `
  window_end = EXCLUDED.window_end,
  total_calls = EXCLUDED.total_calls,
  total_tokens = EXCLUDED.total_tokens,
  total_input_tokens = EXCLUDED.total_input_tokens,
  total_output_tokens = EXCLUDED.total_output_tokens,
  latency_sum_ms = EXCLUDED.latency_sum_ms,
  latency_count = EXCLUDED.latency_count,
  avg_latency_ms = EXCLUDED.avg_latency_ms,
  aggregation_data = EXCLUDED.aggregation_data,
  late_events = EXCLUDED.late_events,
  flushed_rev = EXCLUDED.flushed_rev,
  version = w.version + 1,
  updated_at = now()`;

/**
 * Flush from Redis hashes, many windows in one statement. The WHERE clause is the
 * fence: a row is only overwritten by a newer hash revision, never by a stale
 * flusher whose lock expired, and never once Postgres owns it (flushed_rev = -1).
 */
export const UPSERT_FROM_REDIS_SQL = `
INSERT INTO aggregation_windows AS w (
  tenant_id, customer_id, window_start, window_end, total_calls, total_tokens,
  total_input_tokens, total_output_tokens, latency_sum_ms, latency_count, avg_latency_ms,
  aggregation_data, late_events, flushed_rev)
SELECT t, c, ws, we, calls, tokens, tin, tout, lat, latn,
       CASE WHEN latn > 0 THEN round(lat::numeric / latn, 2)::float8 END,
       data, late, rev
FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::bigint[],
            $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[],
            $11::jsonb[], $12::bigint[], $13::bigint[])
  AS u (t, c, ws, we, calls, tokens, tin, tout, lat, latn, data, late, rev)
ON CONFLICT ON CONSTRAINT aggregation_windows_key_uq DO UPDATE SET ${SET_TOTALS}
WHERE w.flushed_rev >= 0 AND w.flushed_rev < EXCLUDED.flushed_rev
RETURNING *`;

/**
 * Recompute one window from raw events (exact), and mark it owned by Postgres
 * (flushed_rev = -1). $5 is the grace in ms: an event received after end + grace is late.
 * A stored window with no raw events left (counted in a Redis that lost them before they
 * were persisted) goes to zero: a window equals its raw events.
 */
export const RECOMPUTE_FROM_RAW_SQL = `
WITH ev AS (
  SELECT endpoint,
         metadata->>'model' AS model,
         COALESCE((metadata->>'tokens')::bigint, 0) AS tokens,
         COALESCE((metadata->>'inputTokens')::bigint, 0) AS tin,
         COALESCE((metadata->>'outputTokens')::bigint, 0) AS tout,
         (metadata->>'latencyMs')::bigint AS lat,
         received_at
  FROM usage_events
  WHERE tenant_id = $1 AND customer_id = $2 AND ts >= $3 AND ts < $4
), totals AS (
  SELECT count(*) AS calls, COALESCE(sum(tokens), 0) AS tokens, COALESCE(sum(tin), 0) AS tin,
         COALESCE(sum(tout), 0) AS tout, COALESCE(sum(lat), 0) AS lat, count(lat) AS latn,
         count(*) FILTER (WHERE received_at > $4::timestamptz + $5 * interval '1 millisecond') AS late
  FROM ev
), by_endpoint AS (
  SELECT COALESCE(jsonb_object_agg(endpoint, jsonb_build_object('calls', c, 'tokens', t)), '{}') AS j
  FROM (SELECT endpoint, count(*) AS c, sum(tokens) AS t FROM ev GROUP BY endpoint) x
), by_model AS (
  SELECT COALESCE(jsonb_object_agg(model, jsonb_build_object('calls', c, 'tokens', t)), '{}') AS j
  FROM (SELECT model, count(*) AS c, sum(tokens) AS t FROM ev WHERE model IS NOT NULL GROUP BY model) x
)
INSERT INTO aggregation_windows AS w (
  tenant_id, customer_id, window_start, window_end, total_calls, total_tokens,
  total_input_tokens, total_output_tokens, latency_sum_ms, latency_count, avg_latency_ms,
  aggregation_data, late_events, flushed_rev)
SELECT $1, $2, $3, $4, calls, tokens, tin, tout, lat, latn,
       CASE WHEN latn > 0 THEN round(lat::numeric / latn, 2)::float8 END,
       jsonb_build_object('byEndpoint', by_endpoint.j, 'byModel', by_model.j), late, -1
FROM totals, by_endpoint, by_model
WHERE totals.calls > 0
   OR EXISTS (SELECT 1 FROM aggregation_windows
              WHERE tenant_id = $1 AND customer_id = $2 AND window_start = $3)
ON CONFLICT ON CONSTRAINT aggregation_windows_key_uq DO UPDATE SET ${SET_TOTALS}
RETURNING *`;

/**
 * Keyset pagination, in two shapes so each runs on its own index: a tenant's windows
 * by (window_start, customer_id) on aggregation_windows_tenant_start_idx; one
 * customer's by window_start alone on the (tenant_id, customer_id, window_start) key.
 * Reviewed with plans in docs/queries.md.
 */
export const LIST_TENANT_WINDOWS_SQL = `
SELECT * FROM aggregation_windows
WHERE tenant_id = $1 AND window_start >= $2 AND window_start < $3
  AND (window_start, customer_id) > ($4, $5)
ORDER BY window_start, customer_id
LIMIT $6`;

export const LIST_CUSTOMER_WINDOWS_SQL = `
SELECT * FROM aggregation_windows
WHERE tenant_id = $1 AND customer_id = $2 AND window_start >= $3 AND window_start < $4
  AND window_start > $5
ORDER BY window_start
LIMIT $6`;
