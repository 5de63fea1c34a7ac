import { Injectable } from '@nestjs/common';
import type { TenantScope } from '../infra/database/tenant-scope';
import type { Principal } from '../common/access/principal';
import type { Metric } from './metric';
import { QuotaDefinitions } from './quota-definitions';
import type { AppliedQuota } from './quota-snapshot';
import { QuotaKeys } from '../infra/redis/redis-keys';
import { ApiKeyBudget } from '../api-key-limits';
import { LimitDecision, RateLimiter, type RateLimitOutcome } from '../rate-limits';

export interface ConsumeRequest {
  customerId: string;
  metric: Metric;
  units: number;
}

export interface QuotaOutcome {
  rules: readonly AppliedQuota[];
  decision: LimitDecision;
}

export interface ConsumeOutcome extends QuotaOutcome {
  /** The key's event budget, judged first: when it refuses, nothing was charged. */
  key: RateLimitOutcome | null;
}

/** Customer quotas: the applicable definitions, judged by the shared limiter in the customer's bucket. */
@Injectable()
export class QuotaService {
  constructor(
    private readonly definitions: QuotaDefinitions,
    private readonly limiter: RateLimiter,
    private readonly budget: ApiKeyBudget,
    private readonly keys: QuotaKeys,
  ) {}

  /**
   * The customer's limits and one unit of the key's event budget, in one limiter call.
   * Postgres matters only on a definitions cache miss; if it fails then, the key is
   * charged alone and the failure policy decides the rest.
   */
  async consume(
    scope: TenantScope,
    key: Pick<Principal, 'keyId' | 'rateLimits'>,
    request: ConsumeRequest,
  ): Promise<ConsumeOutcome> {
    const { customerId, metric, units } = request;
    let rules: readonly AppliedQuota[];
    try {
      rules = await this.definitions.applicable(scope, customerId, metric);
    } catch (error) {
      const keyOutcome = await this.budget.charge(key, 'events', 1);
      if (keyOutcome && !keyOutcome.decision.allowed) {
        return { rules: [], decision: keyOutcome.decision, key: keyOutcome };
      }
      return { rules: [], decision: this.limiter.undecided('consume', error), key: keyOutcome };
    }
    const bucket = this.keys.customer(scope.tenantId, customerId);
    const outcome = await this.budget.chargeWith(key, bucket, rules, units);
    return { rules, decision: outcome.quota, key: outcome.key };
  }

  async status(scope: TenantScope, customerId: string, metrics: Metric[]): Promise<QuotaOutcome> {
    const perMetric = await Promise.all(
      metrics.map((metric) => this.definitions.applicable(scope, customerId, metric)),
    );
    const rules = perMetric.flat();
    return {
      rules,
      decision: await this.limiter.peek(this.keys.customer(scope.tenantId, customerId), rules),
    };
  }

  /** Usage of every metric starts over; the definitions stay. */
  reset(scope: TenantScope, customerId: string): Promise<void> {
    return this.limiter.reset(this.keys.customer(scope.tenantId, customerId));
  }
}
