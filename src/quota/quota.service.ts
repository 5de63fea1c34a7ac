import { Injectable } from '@nestjs/common';
import type { Metric } from './metric';
import { AppliedQuota, QuotaDefinitions } from './quota-definitions';
import { QuotaKeys } from './quota-keys';
import { LimitDecision, RateLimiter } from './rate-limiter';

export interface ConsumeRequest {
  customerId: string;
  metric: Metric;
  units: number;
}

export interface QuotaOutcome {
  rules: AppliedQuota[];
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
  async consume(tenantId: string, request: ConsumeRequest): Promise<QuotaOutcome> {
    const { customerId, metric, units } = request;
    let rules: AppliedQuota[];
    try {
      rules = await this.definitions.applicable(tenantId, customerId, metric);
    } catch (error) {
      return { rules: [], decision: this.limiter.undecided(error) };
    }
    const bucket = this.keys.customer(tenantId, customerId);
    return { rules, decision: await this.limiter.consume(bucket, rules, units) };
  }

  async status(tenantId: string, customerId: string, metrics: Metric[]): Promise<QuotaOutcome> {
    const perMetric = await Promise.all(
      metrics.map((metric) => this.definitions.applicable(tenantId, customerId, metric)),
    );
    const rules = perMetric.flat();
    return {
      rules,
      decision: await this.limiter.peek(this.keys.customer(tenantId, customerId), rules),
    };
  }

  /** Usage of every metric starts over; the definitions stay. */
  reset(tenantId: string, customerId: string): Promise<void> {
    return this.limiter.reset(this.keys.customer(tenantId, customerId));
  }
}
