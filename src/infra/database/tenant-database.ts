import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AsyncLocalStorage } from 'node:async_hooks';
import { DataSource, EntityManager } from 'typeorm';
import { rethrowUnavailable } from './pg-errors';
import type { TenantScope } from './tenant-scope';

interface OpenTransaction {
  tenantId: string;
  manager: EntityManager;
}

/**
 * The path of every query made for one tenant. Row-level security sees the tenant
 * through `app.tenant_id`, set for this transaction only, so a pooled connection never
 * carries it to the next borrower. Calls made inside `work` for the same tenant join the
 * open transaction (a tenant and its first key commit together); a call for another
 * tenant there is a bug and throws. Postgres being unreachable comes out as
 * DatabaseUnavailableError (503 with Retry-After), whatever the query was.
 */
@Injectable()
export class TenantDatabase {
  private readonly open = new AsyncLocalStorage<OpenTransaction>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  run<T>(scope: TenantScope, work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const current = this.open.getStore();
    if (current) {
      if (current.tenantId !== scope.tenantId) {
        throw new Error('a transaction for another tenant is already open here');
      }
      return work(current.manager);
    }
    return this.dataSource
      .transaction(async (manager) => {
        await manager.query(`SELECT set_config('app.tenant_id', $1, true)`, [scope.tenantId]);
        return this.open.run({ tenantId: scope.tenantId, manager }, () => work(manager));
      })
      .catch(rethrowUnavailable);
  }
}
