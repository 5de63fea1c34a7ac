import { Injectable } from '@nestjs/common';
import type { TenantScope } from '../infra/database/tenant-scope';
import type { Metric } from './metric';
import { QuotaDefinitions } from './quota-definitions';
import type { AppliedQuota } from './quota-snapshot';
import { QuotaKeys } from './quota-keys';
import { LimitDecision, RateLimiter } from './rate-limiter';

export interface ConsumeRequest {
  customerId: string;
  metric: Metric;
  units: number;
}

export interface QuotaOutcome {
  rules: readonly AppliedQuota[];
  decision: LimitDecision;
}

/** Customer quotas: the applicable definitions, judged by the shared limiter in the customer's bucket. */
@Injectable()
export class QuotaService {
  constructor(
    private readonly definitions: QuotaDefinitions,
    private readonly limiter: RateLimiter,
    private readonly keys: QuotaKeys,
  ) {}

  /** Postgres matters only on a definitions cache miss; if it fails then, the failure policy decides. */
  async consume(scope: TenantScope, request: ConsumeRequest): Promise<QuotaOutcome> {
    const { customerId, metric, units } = request;
    let rules: readonly AppliedQuota[];
    try {
      rules = await this.definitions.applicable(scope, customerId, metric);
    } catch (error) {
      return { rules: [], decision: this.limiter.undecided('consume', error) };
    }
    const bucket = this.keys.customer(scope.tenantId, customerId);
    return { rules, decision: await this.limiter.consume('consume', bucket, rules, units) };
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
