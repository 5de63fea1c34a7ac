import type { Scope } from './scope';

/** Who is calling: set once by the auth guard, read through TenantContext. */
export interface Principal {
  tenantId: string;
  keyId: string;
  scopes: Scope[];
}
