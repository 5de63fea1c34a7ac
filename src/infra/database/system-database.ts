import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { SYSTEM_DB_ROLE } from './data-source';
import { rethrowUnavailable } from './pg-errors';

/**
 * The one explicit way to see every tenant's rows, for work that is not done for one
 * tenant: the closer's flush, the persistence worker, partition upkeep, looking a key up
 * by its hash before its tenant is known, and the operator's tenant routes. The
 * transaction switches to the system role, whose policy admits every row; the
 * connection is back to the application role when it returns to the pool. Keep its
 * callers few; each is listed in docs/multi-tenancy.md. Postgres being unreachable comes
 * out as DatabaseUnavailableError, as from TenantDatabase.
 */
@Injectable()
export class SystemDatabase {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  runAcrossTenants<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource
      .transaction(async (manager) => {
        await manager.query(`SET LOCAL ROLE ${SYSTEM_DB_ROLE}`);
        return work(manager);
      })
      .catch(rethrowUnavailable);
  }
}
