/*
 * Every statement on redis_epoch but the persistence worker's (event-writer.sql.ts).
 * Reviewed text: docs/reliability/redis-data-loss.md has the argument each one serves.
 * Times travel as ms since the Unix epoch, exact both ways.
 */

const ms = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`;
const at = (param: string) => `(timestamptz 'epoch' + ${param}::float8 * interval '1 millisecond')`;

const EPOCH_COLUMNS = `
  epoch_id AS "epochId", ${ms('started_at')} AS "startedAtMs", losses,
  ${ms('owned_before')} AS "ownedBeforeMs", ${ms('recover_from')} AS "recoverFromMs",
  recovery_requested AS "recoveryRequested", recovery_done AS "recoveryDone"`;

/** Taken exclusively by an epoch change, shared by every write of raw events. */
export const EPOCH_LOCK_KEY = 727_003;

export const CURRENT_EPOCH_SQL = `SELECT ${EPOCH_COLUMNS} FROM redis_epoch`;

/** The first start ever: nothing was lost, nothing to recover. A concurrent first start wins alike. */
export const RECORD_FIRST_EPOCH_SQL = `
INSERT INTO redis_epoch (epoch_id, started_at) VALUES ($1, ${at('$2')})
ON CONFLICT DO NOTHING`;

/**
 * Compare-and-set from the epoch Redis lost ($1) to the one it holds now ($2, started at
 * $3), under the exclusive epoch lock: it waits for every raw-event write in flight, and
 * every later write reads the new row. A recovery left unfinished keeps its lower bound,
 * so the next one covers both; the owned range only grows.
 */
export const CHANGE_EPOCH_SQL = `
UPDATE redis_epoch SET
  epoch_id = $2,
  started_at = ${at('$3')},
  losses = losses + 1,
  owned_before = greatest(owned_before, ${at('$4')}),
  recover_from = CASE WHEN recovery_done < recovery_requested
                      THEN least(recover_from, ${at('$5')}) ELSE ${at('$5')} END,
  recovery_requested = recovery_requested + 1,
  updated_at = now()
WHERE epoch_id = $1
RETURNING ${EPOCH_COLUMNS}`;

/** Only if no other change came in between: a newer loss or a late write keeps it pending. */
export const MARK_RECOVERED_SQL = `
UPDATE redis_epoch SET
  recovery_done = $2, recovered_at = now(), recovered_windows = $3, updated_at = now()
WHERE epoch_id = $1 AND recovery_requested = $2
RETURNING ${EPOCH_COLUMNS}`;

/**
 * Every (tenant, customer, window) with raw events or a stored row in [$1, $2) ms; $3 is
 * the window length in ms. A stored row without raw events is one whose events were lost
 * with Redis: its recompute brings it to zero.
 */
export const WINDOWS_TO_RECOVER_SQL = `
SELECT tenant_id AS "tenantId", customer_id AS "customerId",
       ${ms(`date_bin($3::float8 * interval '1 millisecond', ts, timestamptz 'epoch')`)} AS "windowStartMs"
FROM usage_events
WHERE ts >= ${at('$1')} AND ts < ${at('$2')}
UNION
SELECT tenant_id, customer_id, ${ms('window_start')}
FROM aggregation_windows
WHERE window_start >= ${at('$1')} AND window_start < ${at('$2')}`;
