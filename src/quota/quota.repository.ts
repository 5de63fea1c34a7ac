import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull } from 'typeorm';
import type { Algorithm } from './limiter-math';
import type { Metric } from './metric';
import { Quota } from './quota.entity';

export interface QuotaLimit {
  limit: number;
  periodSeconds: number;
  algorithm: Algorithm;
}

/** Quota rows, always under a tenant predicate. `customerId` null means the tenant's default. */
@Injectable()
export class QuotaRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The customer's limits on the metric and the tenant's defaults for it, in one read. */
  applicable(tenantId: string, customerId: string, metric: Metric): Promise<Quota[]> {
    return this.dataSource
      .getRepository(Quota)
      .createQueryBuilder('q')
      .where('q.tenant_id = :tenantId AND q.metric = :metric', { tenantId, metric })
      .andWhere('(q.customer_id = :customerId OR q.customer_id IS NULL)', { customerId })
      .orderBy('q.period_seconds')
      .getMany();
  }

  list(tenantId: string, customerId: string | null, metric: Metric): Promise<Quota[]> {
    return this.dataSource.getRepository(Quota).find({
      where: { tenantId, customerId: customerId ?? IsNull(), metric },
      order: { periodSeconds: 'ASC' },
    });
  }

  /**
   * Replaces the whole set in one transaction. The advisory lock serialises writers of
   * the same set, so two concurrent PUTs end as one of them, never a mixture.
   */
  replace(
    tenantId: string,
    customerId: string | null,
    metric: Metric,
    limits: QuotaLimit[],
  ): Promise<Quota[]> {
    return this.dataSource.transaction(async (manager) => {
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

  async remove(tenantId: string, customerId: string | null, metric: Metric): Promise<void> {
    await this.dataSource
      .getRepository(Quota)
      .delete({ tenantId, customerId: customerId ?? IsNull(), metric });
  }
}
