import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import type { TenantScope } from '../infra/database/tenant-scope';
import { CLOCK, type Clock } from '../common/clock';
import { ExpiringCache } from '../common/cache/expiring-cache';
import type { Metric } from './metric';
import { ruleField } from './quota-keys';
import type { Quota } from './quota.entity';
import { QuotaLimit, QuotaRepository } from './quota.repository';
import type { NamedRule } from './rate-limiter';

/** A limit as consume applies it, with where it came from. */
export interface AppliedQuota extends NamedRule {
  metric: Metric;
  periodSeconds: number;
  source: 'customer' | 'default';
}

/**
 * Quota definitions: the customer's own limits on a metric replace the tenant's default
 * for that metric as a whole. Reads for consume are cached for QUOTA_CACHE_SECONDS; a
 * change clears this instance's cache at once, other instances see it when theirs expires.
 */
@Injectable()
export class QuotaDefinitions {
  private readonly cache: ExpiringCache<AppliedQuota[]>;

  constructor(
    private readonly repository: QuotaRepository,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(CLOCK) clock: Clock,
  ) {
    this.cache = new ExpiringCache(config.quota.cacheMs, clock);
  }

  applicable(scope: TenantScope, customerId: string, metric: Metric): Promise<AppliedQuota[]> {
    return this.cache.get(cacheKey(scope, metric, customerId), async () => {
      const rows = await this.repository.applicable(scope, customerId, metric);
      const own = rows.filter((q) => q.customerId !== null);
      return own.length > 0 ? own.map(toApplied) : rows.map(toApplied);
    });
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
    this.forget(scope, customerId, metric);
    return rows.map(toLimit);
  }

  async remove(scope: TenantScope, customerId: string | null, metric: Metric): Promise<void> {
    await this.repository.remove(scope, customerId, metric);
    this.forget(scope, customerId, metric);
  }

  /** A default change reaches every customer of the tenant that falls back to it. */
  private forget(scope: TenantScope, customerId: string | null, metric: Metric): void {
    const key = cacheKey(scope, metric, customerId ?? '');
    this.cache.deleteWhere(customerId === null ? (k) => k.startsWith(key) : (k) => k === key);
  }
}

/** Newlines cannot occur in a tenant id, metric or customer id, so the key is unambiguous. */
function cacheKey(scope: TenantScope, metric: Metric, customerId: string): string {
  return `${scope.tenantId}\n${metric}\n${customerId}`;
}

function toLimit(q: Quota): QuotaLimit {
  return { limit: q.limit, periodSeconds: q.periodSeconds, algorithm: q.algorithm };
}

function toApplied(q: Quota): AppliedQuota {
  return {
    field: ruleField(q.metric, q.periodSeconds),
    limit: q.limit,
    periodMs: q.periodSeconds * 1000,
    algorithm: q.algorithm,
    metric: q.metric,
    periodSeconds: q.periodSeconds,
    source: q.customerId === null ? 'default' : 'customer',
  };
}
