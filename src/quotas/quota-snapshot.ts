import type { Metric } from './metric';
import { ruleField } from '../infra/redis/redis-keys';
import type { Quota } from './quota.entity';
import type { NamedRule } from '../rate-limits';

/** A limit as consume applies it, with where it came from. */
export interface AppliedQuota extends NamedRule {
  metric: Metric;
  periodSeconds: number;
  source: 'customer' | 'default';
}

const NONE: readonly AppliedQuota[] = Object.freeze([]);

/**
 * Every quota definition of one tenant, indexed for the consume path: a lookup is two
 * map reads. The customer's own limits on a metric replace the tenant's default for that
 * metric as a whole.
 */
export class QuotaSnapshot {
  private readonly defaults = new Map<Metric, AppliedQuota[]>();
  private readonly own = new Map<string, Map<Metric, AppliedQuota[]>>();

  /** `rows` ordered by period, as the repository reads them. */
  constructor(rows: readonly Quota[]) {
    for (const row of rows) {
      const byMetric = row.customerId === null ? this.defaults : this.customerMap(row.customerId);
      const list = byMetric.get(row.metric);
      if (list) list.push(toApplied(row));
      else byMetric.set(row.metric, [toApplied(row)]);
    }
  }

  applicable(customerId: string, metric: Metric): readonly AppliedQuota[] {
    return this.own.get(customerId)?.get(metric) ?? this.defaults.get(metric) ?? NONE;
  }

  private customerMap(customerId: string): Map<Metric, AppliedQuota[]> {
    let byMetric = this.own.get(customerId);
    if (!byMetric) this.own.set(customerId, (byMetric = new Map<Metric, AppliedQuota[]>()));
    return byMetric;
  }
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
