import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import type { TenantScope } from '../infra/database/tenant-scope';
import { CLOCK, type Clock } from '../common/clock';
import { LoadingCache } from '../common/cache/loading-cache';
import { DefinitionChanges } from './definition-changes';
import type { Metric } from './metric';
import type { Quota } from './quota.entity';
import { QuotaLimit, QuotaRepository } from './quota.repository';
import { type AppliedQuota, QuotaSnapshot } from './quota-snapshot';

/**
 * Quota definitions. Consume reads them from a snapshot of the whole tenant's definitions,
 * loaded in one query and kept for QUOTA_CACHE_SECONDS: a cache per customer sent a large
 * share of checks to Postgres once a tenant had many customers (docs/performance.md). A
 * change is announced to every instance, which reloads its snapshot of that tenant before
 * the next check. While Postgres is unreachable, the last snapshot stays in force for up
 * to QUOTA_STALE_SECONDS, so checks keep their exact limits through an outage.
 */
@Injectable()
export class QuotaDefinitions {
  private readonly snapshots: LoadingCache<QuotaSnapshot>;

  constructor(
    private readonly repository: QuotaRepository,
    private readonly changes: DefinitionChanges,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(CLOCK) clock: Clock,
  ) {
    this.snapshots = new LoadingCache({
      freshMs: config.quota.cacheMs,
      staleMs: config.quota.staleMs,
      clock,
    });
    // Expired rather than dropped: if Postgres cannot be read when the change is heard
    // (another instance wrote it through a path this one lacks, or a Redis reconnect said
    // "anything may have changed"), the last limits beat none.
    changes.onChange((tenantId) =>
      tenantId === null ? this.snapshots.expireAll() : this.snapshots.expire(tenantId),
    );
  }

  async applicable(
    scope: TenantScope,
    customerId: string,
    metric: Metric,
  ): Promise<readonly AppliedQuota[]> {
    const snapshot = await this.snapshots.get(scope.tenantId, async () => {
      return new QuotaSnapshot(await this.repository.allOfTenant(scope));
    });
    return snapshot.applicable(customerId, metric);
  }

  async list(scope: TenantScope, customerId: string | null, metric: Metric): Promise<QuotaLimit[]> {
    return (await this.repository.list(scope, customerId, metric)).map(toLimit);
  }

  async replace(
    scope: TenantScope,
    customerId: string | null,
    metric: Metric,
    limits: QuotaLimit[],
  ): Promise<QuotaLimit[]> {
    const rows = await this.repository.replace(scope, customerId, metric, limits);
    await this.changes.announce(scope.tenantId);
    return rows.map(toLimit);
  }

  async remove(scope: TenantScope, customerId: string | null, metric: Metric): Promise<void> {
    await this.repository.remove(scope, customerId, metric);
    await this.changes.announce(scope.tenantId);
  }
}

function toLimit(q: Quota): QuotaLimit {
  return { limit: q.limit, periodSeconds: q.periodSeconds, algorithm: q.algorithm };
}
