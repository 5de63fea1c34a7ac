import type { Tenant } from './tenant.entity';

export interface TenantView {
  id: string;
  name: string;
  active: boolean;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export function toTenantView(tenant: Tenant): TenantView {
  return {
    id: tenant.id,
    name: tenant.name,
    active: tenant.active,
    createdAt: tenant.createdAt.toISOString(),
    updatedAt: tenant.updatedAt.toISOString(),
    version: tenant.version,
  };
}
