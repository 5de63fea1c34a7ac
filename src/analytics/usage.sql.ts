/*
 * The analytics reads, reviewed with their plans in docs/queries.md. Each bucket is read
 * through segments (bucket-plan.ts): $2..$6 are the segments' source ('day', 'hour',
 * 'window'), bounds, bucket and sign, unnested into a small table joined to the rollups
 * or to aggregation_windows on their (tenant_id, grain, bucket_start) or
 * (tenant_id, window_start) indexes. A filter or grouping left out is a NULL or false
 * parameter: node-postgres sends unnamed statements, which Postgres plans with the
 * values, so `$7::text[] IS NULL OR …` folds away before it can hide an index.
 */

const SEGMENTS = `
seg AS (
  SELECT * FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[], $5::int[], $6::int[])
    AS s (source, lo, hi, bucket, sign)
)`;

/**
 * Totals per bucket (and customer when $8): $7 customer filter, $9 row limit, $10 true to
 * read the rollups' all-customers rows (customer_id '': no grouping or filter by
 * customer), false for the per-customer ones.
 * Rows: bucket, customer_id, calls, tokens, input_tokens, output_tokens, latency_sum_ms,
 * latency_count, late_events.
 */
export const USAGE_TOTALS_SQL = `
WITH ${SEGMENTS},
parts AS (
  SELECT s.bucket, s.sign, r.*
  FROM seg s
  CROSS JOIN LATERAL (
    SELECT r.customer_id, r.calls, r.tokens, r.input_tokens, r.output_tokens,
           r.latency_sum_ms, r.latency_count, r.late_events
    FROM usage_rollups r
    WHERE r.tenant_id = $1 AND r.grain = s.source
      AND r.bucket_start >= s.lo AND r.bucket_start < s.hi
      AND ($7::text[] IS NULL OR r.customer_id = ANY ($7))
      AND (r.customer_id = '') = $10::boolean
    OFFSET 0) r
  WHERE s.source <> 'window'
  UNION ALL
  SELECT s.bucket, s.sign, w.*
  FROM seg s
  CROSS JOIN LATERAL (
    SELECT w.customer_id, w.total_calls, w.total_tokens, w.total_input_tokens,
           w.total_output_tokens, w.latency_sum_ms, w.latency_count, w.late_events
    FROM aggregation_windows w
    WHERE w.tenant_id = $1 AND w.window_start >= s.lo AND w.window_start < s.hi
      AND ($7::text[] IS NULL OR w.customer_id = ANY ($7))
    OFFSET 0) w
  WHERE s.source = 'window'
)
SELECT bucket, CASE WHEN $8::boolean THEN customer_id END AS customer_id,
       sum(sign * calls) AS calls, sum(sign * tokens) AS tokens,
       sum(sign * input_tokens) AS input_tokens, sum(sign * output_tokens) AS output_tokens,
       sum(sign * latency_sum_ms) AS latency_sum_ms, sum(sign * latency_count) AS latency_count,
       sum(sign * late_events) AS late_events
FROM parts
GROUP BY 1, 2
HAVING sum(sign * calls) <> 0
ORDER BY 1, 2
LIMIT $9`;

/**
 * Calls and tokens per bucket by endpoint or model ($11: 'endpoint' or 'model', $12 the
 * matching aggregation_data field), grouped by customer when $8 and by name when $13;
 * $7 customer filter, $14 name filter, $9 row limit, $10 all-customers rows as above.
 * Rows: bucket, customer_id, name, calls, tokens.
 */
export const USAGE_BREAKDOWN_SQL = `
WITH ${SEGMENTS},
parts AS (
  SELECT s.bucket, s.sign, r.*
  FROM seg s
  CROSS JOIN LATERAL (
    SELECT r.customer_id, r.name, r.calls, r.tokens
    FROM usage_rollup_breakdowns r
    WHERE r.tenant_id = $1 AND r.grain = s.source AND r.dimension = $11
      AND r.bucket_start >= s.lo AND r.bucket_start < s.hi
      AND ($7::text[] IS NULL OR r.customer_id = ANY ($7))
      AND (r.customer_id = '') = $10::boolean
      AND ($14::text[] IS NULL OR r.name = ANY ($14))
    OFFSET 0) r
  WHERE s.source <> 'window'
  UNION ALL
  SELECT s.bucket, s.sign, w.*
  FROM seg s
  CROSS JOIN LATERAL (
    SELECT w.customer_id, e.key AS name, (e.value->>'calls')::bigint AS calls,
           (e.value->>'tokens')::bigint AS tokens
    FROM aggregation_windows w
    CROSS JOIN LATERAL jsonb_each(w.aggregation_data -> $12::text) AS e
    WHERE w.tenant_id = $1 AND w.window_start >= s.lo AND w.window_start < s.hi
      AND ($7::text[] IS NULL OR w.customer_id = ANY ($7))
      AND ($14::text[] IS NULL OR e.key = ANY ($14))
    OFFSET 0) w
  WHERE s.source = 'window'
)
SELECT bucket, CASE WHEN $8::boolean THEN customer_id END AS customer_id,
       CASE WHEN $13::boolean THEN name END AS name,
       sum(sign * calls) AS calls, sum(sign * tokens) AS tokens
FROM parts
GROUP BY 1, 2, 3
HAVING sum(sign * calls) <> 0
ORDER BY 1, 2, 3
LIMIT $9`;

/** Given windows of one tenant as they are now, by (customer_id, window_start) on the key index. */
export const WINDOW_ROWS_SQL = `
SELECT w.customer_id, w.window_start, w.flushed_rev, w.total_calls, w.total_tokens,
       w.total_input_tokens, w.total_output_tokens, w.latency_sum_ms, w.latency_count,
       w.late_events, w.aggregation_data
FROM unnest($2::text[], $3::timestamptz[]) AS k (customer_id, window_start)
JOIN aggregation_windows w ON w.tenant_id = $1 AND w.customer_id = k.customer_id
                          AND w.window_start = k.window_start`;

/**
 * One customer's raw events by (ts, event_id), keyset-paginated: the index
 * (tenant_id, customer_id, ts) of each daily partition, and only the partitions the
 * range [$3, $4) touches (pruned at planning, the bounds being values).
 */
export const CUSTOMER_EVENTS_SQL = `
SELECT event_id, ts, customer_id, endpoint, metadata, received_at
FROM usage_events
WHERE tenant_id = $1 AND customer_id = $2 AND ts >= $3 AND ts < $4
  AND (ts, event_id) > ($5::timestamptz, $6::text)
ORDER BY ts, event_id
LIMIT $7`;
