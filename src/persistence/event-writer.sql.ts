/** Customers seen in events are created on first sight; sorted input avoids lock-order deadlocks. */
export const UPSERT_CUSTOMERS_SQL = `
INSERT INTO customers (tenant_id, external_id)
SELECT DISTINCT t, c FROM unnest($1::uuid[], $2::text[]) AS u (t, c)
ORDER BY t, c
ON CONFLICT ON CONSTRAINT customers_tenant_external_uq DO NOTHING`;

/**
 * One statement per batch, failing on a row already stored. That is the usual case (Redis
 * lets each event into the stream once), and skipping the speculative insertion that
 * ON CONFLICT costs on every row saves Postgres about a quarter of its work per event
 * (docs/performance.md).
 */
export const INSERT_NEW_EVENTS_SQL = `
INSERT INTO usage_events (event_id, tenant_id, customer_id, ts, endpoint, metadata, received_at)
SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[], $6::jsonb[], $7::timestamptz[])`;

/**
 * The batch again after a conflict (an entry redelivered after its commit, or a duplicate
 * beyond the Redis horizon): rows already stored are skipped.
 */
export const INSERT_EVENTS_SKIPPING_STORED_SQL = `${INSERT_NEW_EVENTS_SQL}
ON CONFLICT DO NOTHING`;
