import type { LimitDecision, NamedRule } from './rate-limiter';

/** Names the configured failure policy on every consume answer: `fail-open` or `fail-closed`. */
export const QUOTA_POLICY_HEADER = 'Tally-Quota-Policy';

export function quotaPolicyValue(policy: 'open' | 'closed'): string {
  return `fail-${policy}`;
}

/**
 * RateLimit-Limit / -Remaining / -Reset (draft-ietf-httpapi-ratelimit-headers-06) for the
 * decision's binding rule, and RateLimit-Policy listing every rule applied; none when no
 * rule applied or the decision was not enforced.
 */
export function rateLimitHeaders(
  rules: readonly NamedRule[],
  decision: LimitDecision,
): Record<string, string> {
  if (decision.binding < 0) return {};
  const rule = rules[decision.binding];
  const state = decision.states[decision.binding];
  return {
    'RateLimit-Limit': String(rule.limit),
    'RateLimit-Remaining': String(state.remaining),
    'RateLimit-Reset': String(secondsUntil(state.resetAtMs, decision.nowMs)),
    'RateLimit-Policy': rules.map((r) => `${r.limit};w=${r.periodMs / 1000}`).join(', '),
  };
}

/**
 * Retry-After for a refused decision: until the call could pass, or, for a call larger
 * than the limit, until the limit is whole again (it still will not pass: the body says so).
 */
export function retryAfterSeconds(decision: LimitDecision): number {
  const at = decision.retryAtMs ?? decision.states[decision.binding].resetAtMs;
  return Math.max(1, secondsUntil(at, decision.nowMs));
}

function secondsUntil(atMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((atMs - nowMs) / 1000));
}
