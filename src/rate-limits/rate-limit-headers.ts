import type { LimitDecision, NamedRule } from './rate-limiter';

/** Names the configured failure policy on every consume answer: `fail-open` or `fail-closed`. */
export const QUOTA_POLICY_HEADER = 'Tally-Quota-Policy';

export function quotaPolicyValue(policy: 'open' | 'closed'): string {
  return `fail-${policy}`;
}

/**
 * The rate-limit fields of a decision, in two generations (docs/quotas.md, "Headers"):
 *
 * - `RateLimit-Policy` and `RateLimit`, the structured fields of the current draft
 *   (draft-ietf-httpapi-ratelimit-headers-09/10): one item per rule applied, named by its
 *   bucket field, `"calls:3600s";q=100;w=3600` and `"calls:3600s";r=42;t=1800`.
 * - `RateLimit-Limit` / `-Remaining` / `-Reset` of draft 06, which most client libraries
 *   still read, for the decision's binding rule.
 *
 * None when no rule applied or the decision was not enforced.
 */
export function rateLimitHeaders(
  rules: readonly NamedRule[],
  decision: LimitDecision,
): Record<string, string> {
  const { binding, states, nowMs } = decision;
  if (binding < 0) return {};
  let current = '';
  for (let i = 0; i < rules.length; i++) {
    if (i > 0) current += ', ';
    current += `"${rules[i].field}";r=${states[i].remaining};t=${secondsUntil(states[i].resetAtMs, nowMs)}`;
  }
  return {
    'RateLimit-Policy': policyOf(rules),
    RateLimit: current,
    'RateLimit-Limit': String(rules[binding].limit),
    'RateLimit-Remaining': String(states[binding].remaining),
    'RateLimit-Reset': String(secondsUntil(states[binding].resetAtMs, nowMs)),
  };
}

/**
 * RateLimit-Policy depends on the rules alone, and a rule list is one object for as
 * long as its definitions stand (the quota snapshot, the key budget's own): built once
 * per list rather than on every answer.
 */
const policies = new WeakMap<readonly NamedRule[], string>();

function policyOf(rules: readonly NamedRule[]): string {
  let policy = policies.get(rules);
  if (policy === undefined) {
    policy = rules.map((r) => `"${r.field}";q=${r.limit};w=${r.periodMs / 1000}`).join(', ');
    policies.set(rules, policy);
  }
  return policy;
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
