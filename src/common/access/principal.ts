import type { ApiKeyRateClass } from '../../config/app-config';
import type { Scope } from './scope';

/** A key's own rate limit for one class, replacing the configured default. */
export interface KeyRateLimit {
  limit: number;
  periodSeconds: number;
}

export type KeyRateLimits = Partial<Record<ApiKeyRateClass, KeyRateLimit>>;

/** Who is calling: set once by the auth guard, read through TenantContext. */
export interface Principal {
  tenantId: string;
  keyId: string;
  scopes: Scope[];
  rateLimits: KeyRateLimits;
}
