import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import { TenantDatabase } from '../infra/database/tenant-database';
import type { TenantScope } from '../infra/database/tenant-scope';
import type { Algorithm } from '../rate-limits';
import type { Metric } from './metric';
import { Quota } from './quota.entity';

export interface QuotaLimit {
  limit: number;
  periodSeconds: number;
  algorithm: Algorithm;
}

/** Quota rows of one tenant at a time. `customerId` null means the tenant's default. */
@Injectable()
export class QuotaRepository {
  constructor(private readonly db: TenantDatabase) {}

  /** Every definition of the tenant (defaults and customers'), each set ordered by period. */
  allOfTenant(scope: TenantScope): Promise<Quota[]> {
    return this.db.run(scope, (m) =>
      m.getRepository(Quota).find({
        where: { tenantId: scope.tenantId },
        order: { periodSeconds: 'ASC' },
      }),
    );
  }

  list(scope: TenantScope, customerId: string | null, metric: Metric): Promise<Quota[]> {
    return this.db.run(scope, (m) =>
      m.getRepository(Quota).find({
        where: { tenantId: scope.tenantId, customerId: customerId ?? IsNull(), metric },
        order: { periodSeconds: 'ASC' },
      }),
    );
  }

  /**
   * Replaces the whole set in one transaction. The advisory lock serialises writers of
   * the same set, so two concurrent PUTs end as one of them, never a mixture.
   */
  replace(
    scope: TenantScope,
    customerId: string | null,
    metric: Metric,
    limits: QuotaLimit[],
  ): Promise<Quota[]> {
    const { tenantId } = scope;
    return this.db.run(scope, async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `quotas:${tenantId}:${metric}:${customerId ?? ''}`,
      ]);
      await manager.delete(Quota, { tenantId, customerId: customerId ?? IsNull(), metric });
      const rows = limits
        .map((l) => manager.create(Quota, { tenantId, customerId, metric, ...l }))
        .sort((a, b) => a.periodSeconds - b.periodSeconds);
      return manager.save(rows);
    });
  }

  async remove(scope: TenantScope, customerId: string | null, metric: Metric): Promise<void> {
    await this.db.run(scope, (m) =>
      m.delete(Quota, { tenantId: scope.tenantId, customerId: customerId ?? IsNull(), metric }),
    );
  }
}
