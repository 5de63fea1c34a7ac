import { Inject, Injectable } from '@nestjs/common';
import type { Principal } from '../common/access/principal';
import {
  APP_CONFIG,
  type ApiKeyRate,
  type ApiKeyRateClass,
  type AppConfig,
} from '../config/app-config';
import { QuotaKeys, ruleField } from '../infra/redis/redis-keys';
import {
  type LimitDecision,
  type NamedRule,
  RateLimiter,
  type RateLimitOutcome,
} from '../rate-limits';

type Key = Pick<Principal, 'keyId' | 'rateLimits'>;

/** A consume judged together with the key's event budget: one script call, all or nothing. */
export interface ConsumeWithKeyOutcome {
  /** The key's event budget; null when no event limit applies to the key. */
  key: RateLimitOutcome | null;
  /** The customer's limits. */
  quota: LimitDecision;
}

/**
 * The one place an API key's own rate limit is charged: by the guard on every tenant
 * route, and with a customer's consume (or alone when that cannot be judged) by the
 * quota service. A class's limit is the key's own, else the configured one.
 */
@Injectable()
export class ApiKeyBudget {
  /** The configured limit of each class as a rule list, built once: most keys have none of their own. */
  private readonly configured: Record<ApiKeyRateClass, readonly NamedRule[] | null>;

  constructor(
    private readonly limiter: RateLimiter,
    private readonly keys: QuotaKeys,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    const { requests, events } = config.quota.apiKeyRates;
    this.configured = {
      requests: this.rulesOf('requests', requests),
      events: this.rulesOf('events', events),
    };
  }

  /** Charges the key's limit of `rateClass`; null when none applies (0 and none of its own). */
  async charge(
    key: Key,
    rateClass: ApiKeyRateClass,
    units: number,
  ): Promise<RateLimitOutcome | null> {
    const rules = this.rules(key, rateClass);
    if (!rules) return null;
    const bucket = this.keys.apiKey(key.keyId);
    return {
      rules,
      decision: await this.limiter.consume(`api_key_${rateClass}`, bucket, rules, units),
    };
  }

  /**
   * A customer's consume and one unit of the key's event budget in one script call (one
   * round trip instead of two; measured in docs/performance.md), all charged or none. It
   * answers as the two calls in a row did, except that a consume the customer's limits
   * refuse no longer spends the key's budget: the key's refusal comes first, and only a
   * consume the key's budget admits is counted as a consume decision.
   */
  async chargeWith(
    key: Key,
    bucket: string,
    rules: readonly NamedRule[],
    units: number,
  ): Promise<ConsumeWithKeyOutcome> {
    const keyRules = this.rules(key, 'events');
    if (!keyRules) {
      return { key: null, quota: await this.limiter.consume('consume', bucket, rules, units) };
    }
    if (rules.length === 0) {
      const outcome = await this.charge(key, 'events', 1);
      return { key: outcome, quota: await this.limiter.consume('consume', bucket, rules, units) };
    }
    const [keyDecision, quota] = await this.limiter.consumeAll([
      { kind: 'api_key_events', bucket: this.keys.apiKey(key.keyId), rules: keyRules, units: 1 },
      { kind: 'consume', bucket, rules, units },
    ]);
    return { key: { rules: keyRules, decision: keyDecision }, quota };
  }

  private rules(key: Pick<Principal, 'rateLimits'>, rateClass: ApiKeyRateClass) {
    const own = key.rateLimits[rateClass];
    return own ? this.rulesOf(rateClass, own) : this.configured[rateClass];
  }

  private rulesOf(
    rateClass: ApiKeyRateClass,
    rate: ApiKeyRate | null,
  ): readonly NamedRule[] | null {
    if (!rate) return null;
    const rule: NamedRule = {
      field: ruleField(rateClass, rate.periodSeconds),
      limit: rate.limit,
      periodMs: rate.periodSeconds * 1000,
      algorithm: this.config.quota.apiKeyAlgorithm,
    };
    return [rule];
  }
}
