import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { CLOCK, type Clock } from './clock';
import { ExpiringCache } from './expiring-cache';
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

  applicable(tenantId: string, customerId: string, metric: Metric): Promise<AppliedQuota[]> {
    return this.cache.get(cacheKey(tenantId, metric, customerId), async () => {
      const rows = await this.repository.applicable(tenantId, customerId, metric);
      const own = rows.filter((q) => q.customerId !== null);
      return own.length > 0 ? own.map(toApplied) : rows.map(toApplied);
    });
  }

  async list(tenantId: string, customerId: string | null, metric: Metric): Promise<QuotaLimit[]> {
    return (await this.repository.list(tenantId, customerId, metric)).map(toLimit);
  }

  async replace(
    tenantId: string,
    customerId: string | null,
    metric: Metric,
    limits: QuotaLimit[],
  ): Promise<QuotaLimit[]> {
    const rows = await this.repository.replace(tenantId, customerId, metric, limits);
    this.forget(tenantId, customerId, metric);
    return rows.map(toLimit);
  }

  async remove(tenantId: string, customerId: string | null, metric: Metric): Promise<void> {
    await this.repository.remove(tenantId, customerId, metric);
    this.forget(tenantId, customerId, metric);
  }

  /** A default change reaches every customer of the tenant that falls back to it. */
  private forget(tenantId: string, customerId: string | null, metric: Metric): void {
    const key = cacheKey(tenantId, metric, customerId ?? '');
    this.cache.deleteWhere(customerId === null ? (k) => k.startsWith(key) : (k) => k === key);
  }
}

/** Newlines cannot occur in a tenant id, metric or customer id, so the key is unambiguous. */
function cacheKey(tenantId: string, metric: Metric, customerId: string): string {
  return `${tenantId}\n${metric}\n${customerId}`;
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
