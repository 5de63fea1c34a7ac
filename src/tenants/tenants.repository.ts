import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { isUuid } from '../common/uuid';
import { SystemDatabase } from '../infra/database/system-database';
import { TenantDatabase } from '../infra/database/tenant-database';
import type { TenantScope } from '../infra/database/tenant-scope';
import { Tenant } from './tenant.entity';

export interface TenantChanges {
  active?: boolean;
  name?: string;
}

/**
 * The tenants table. A new tenant is written in its own transaction (the one its first
 * key joins); reads and changes span tenants, so they go the system path.
 */
@Injectable()
export class TenantsRepository {
  constructor(
    private readonly tenantDb: TenantDatabase,
    private readonly systemDb: SystemDatabase,
  ) {}

  /** Inside `work`, the new tenant's transaction is open: what `work` writes for it joins. */
  create<T>(scope: TenantScope, name: string, work: (tenant: Tenant) => Promise<T>): Promise<T> {
    return this.tenantDb.run(scope, async (m) =>
      work(await m.getRepository(Tenant).save({ id: scope.tenantId, name, active: true })),
    );
  }

  get(id: string): Promise<Tenant> {
    return this.systemDb.runAcrossTenants((m) => find(m, id));
  }

  /** Oldest first, from after the tenant `after` (by created_at, id); one more than `limit`. */
  page(limit: number, after?: string): Promise<Tenant[]> {
    return this.systemDb.runAcrossTenants((m) => {
      const query = m.getRepository(Tenant).createQueryBuilder('t');
      if (after !== undefined) {
        query.where(
          '(t.created_at, t.id) > (SELECT a.created_at, a.id FROM tenants a WHERE a.id = :after)',
          { after },
        );
      }
      return query
        .orderBy('t.created_at')
        .addOrderBy('t.id')
        .take(limit + 1)
        .getMany();
    });
  }

  update(id: string, changes: TenantChanges): Promise<Tenant> {
    return this.systemDb.runAcrossTenants(async (m) =>
      m.getRepository(Tenant).save(m.getRepository(Tenant).merge(await find(m, id), changes)),
    );
  }
}

async function find(m: EntityManager, id: string): Promise<Tenant> {
  const tenant = isUuid(id) ? await m.getRepository(Tenant).findOneBy({ id }) : null;
  if (!tenant) throw new DomainError(ErrorCode.NotFound, `No tenant '${id}'.`);
  return tenant;
}
