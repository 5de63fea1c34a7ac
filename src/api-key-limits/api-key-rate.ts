import type { FastifyReply } from 'fastify';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import type { ApiKeyRateClass } from '../config/app-config';
import { rateLimitHeaders, type RateLimitOutcome, retryAfterSeconds } from '../rate-limits';

/** The key's RateLimit-* headers on the reply, and the 429 when its budget refused. */
export function answerKeyRate(
  reply: FastifyReply,
  rateClass: ApiKeyRateClass,
  outcome: RateLimitOutcome,
): void {
  void reply.headers(rateLimitHeaders(outcome.rules, outcome.decision));
  if (!outcome.decision.allowed) {
    throw new DomainError(ErrorCode.RateLimited, `This API key is over its ${rateClass} rate.`, {
      retryAfterSeconds: retryAfterSeconds(outcome.decision),
    });
  }
}
