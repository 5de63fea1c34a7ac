import type { ApiKey } from './api-key.entity';
import type { CreatedKey } from './api-keys.service';
import { keyRateLimitsView } from './key-rate-limits';

/** A key as the API shows it: never its secret or hash. */
export function keyView(k: ApiKey) {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes,
    rateLimits: keyRateLimitsView(k.rateLimits),
    createdAt: k.createdAt.toISOString(),
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
  };
}

/** A key just created: the one answer that carries the key itself. */
export function createdKeyView(created: CreatedKey) {
  return {
    ...created,
    rateLimits: keyRateLimitsView(created.rateLimits),
    createdAt: created.createdAt.toISOString(),
  };
}

/** The first key of a new tenant, as POST /v1/tenants answers it. */
export function firstKeyView({ id, key, prefix, scopes }: CreatedKey) {
  return { id, key, prefix, scopes };
}
