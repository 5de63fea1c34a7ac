import { isUuid } from '../../common/uuid';

declare const SCOPE: unique symbol;

/**
 * The tenant a unit of data access acts for. Every method of a tenant-owned table's
 * repository takes one, and a bare string does not type-check: forgetting the tenant is
 * a compile error, and "no tenant" can never mean "all tenants".
 */
export type TenantScope = { readonly tenantId: string } & { readonly [SCOPE]: true };

/**
 * A request gets its scope from TenantContext.scope(); a job names the tenant it works
 * for, e.g. the one a Redis window key belongs to.
 */
export function tenantScope(tenantId: string): TenantScope {
  if (!isUuid(tenantId)) throw new Error(`not a tenant id: '${tenantId}'`);
  return { tenantId } as TenantScope;
}

/** A write's last check before it reaches Postgres: the row belongs to the scope it is written for. */
export function assertOwned(scope: TenantScope, row: { tenantId: string }): void {
  if (row.tenantId !== scope.tenantId) {
    throw new Error(`refusing to write a row of tenant ${row.tenantId} for ${scope.tenantId}`);
  }
}
