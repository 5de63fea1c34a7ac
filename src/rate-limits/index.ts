// What other features may import from rate-limits/ (the rest is internal; .dependency-cruiser.cjs).
export type { Algorithm } from './limiter-math';
export {
  QUOTA_POLICY_HEADER,
  quotaPolicyValue,
  rateLimitHeaders,
  retryAfterSeconds,
} from './rate-limit-headers';
export { RateLimiter } from './rate-limiter';
export type { LimitDecision, NamedRule, RateLimitOutcome, RuleState } from './rate-limiter';
export { RateLimitsModule } from './rate-limits.module';
