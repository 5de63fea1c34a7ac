/** Every statement on api_keys that is not a plain entity read or insert. */
import type { KeyRateLimits } from '../common/access/principal';
import type { Scope } from '../common/access/scope';

export interface KeyStateRow {
  id: string;
  tenant_id: string;
  scopes: Scope[];
  rate_limits: KeyRateLimits;
  revoked: boolean;
  tenant_active: boolean;
}

const KEY_STATE = `
SELECT k.id, k.tenant_id, k.scopes, k.rate_limits, k.revoked_at IS NOT NULL AS revoked,
  t.active AS tenant_active
FROM api_keys k JOIN tenants t ON t.id = k.tenant_id`;

/** Unique index on key_hash; revoked keys are found too, so the answer can say "revoked". */
export const KEY_BY_HASH_SQL = `${KEY_STATE} WHERE k.key_hash = $1`;

export const KEY_BY_ID_SQL = `${KEY_STATE} WHERE k.tenant_id = $1 AND k.id = $2`;

/**
 * Keeps the first revocation time: revoking twice is not an error and changes nothing.
 * Wrapped in a SELECT because TypeORM answers a bare UPDATE with [rows, count].
 */
export const REVOKE_KEY_SQL = `
WITH revoked AS (
  UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
  WHERE tenant_id = $1 AND id = $2
  RETURNING id)
SELECT id FROM revoked`;

/** Replaces the key's overrides; wrapped like REVOKE_KEY_SQL. */
export const SET_KEY_RATE_LIMITS_SQL = `
WITH updated AS (
  UPDATE api_keys SET rate_limits = $3
  WHERE tenant_id = $1 AND id = $2
  RETURNING id)
SELECT id FROM updated`;

/** The time guard keeps N instances from rewriting the row N times a minute. */
export const NOTE_KEY_USED_SQL = `
UPDATE api_keys SET last_used_at = now()
WHERE tenant_id = $1 AND id = $2
  AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`;
