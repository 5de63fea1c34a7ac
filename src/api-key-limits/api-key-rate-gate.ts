import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Principal } from '../common/access/principal';
import { APP_CONFIG, type ApiKeyRateClass, type AppConfig } from '../config/app-config';
import { QUOTA_POLICY_HEADER, quotaPolicyValue } from '../rate-limits';
import { ApiKeyBudget } from './api-key-budget';
import { answerKeyRate } from './api-key-rate';

/**
 * Charges a request to its key's rate and answers on the reply: the key's RateLimit-*
 * headers, the 429 when the budget refuses, and with the failure policy's 503 the header
 * naming the policy. The guard runs it before a route's handler; ingestion's handler runs
 * it itself, so that its round trip overlaps the handler's own work.
 */
@Injectable()
export class ApiKeyRateGate {
  private readonly policy: string;

  constructor(
    private readonly budget: ApiKeyBudget,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.policy = quotaPolicyValue(config.quota.failurePolicy);
  }

  /** `events` spends one unit per event in the body (an array), `requests` one per request. */
  async admit(
    key: Pick<Principal, 'keyId' | 'rateLimits'>,
    rateClass: ApiKeyRateClass,
    body: unknown,
    reply: FastifyReply,
  ): Promise<void> {
    const units = rateClass === 'events' && Array.isArray(body) ? Math.max(body.length, 1) : 1;
    const limited = await this.budget.charge(key, rateClass, units).catch((error: unknown) => {
      // Fail-closed with Redis unreachable: the 503 names the policy that produced it.
      void reply.header(QUOTA_POLICY_HEADER, this.policy);
      throw error;
    });
    if (limited) answerKeyRate(reply, rateClass, limited);
  }
}
