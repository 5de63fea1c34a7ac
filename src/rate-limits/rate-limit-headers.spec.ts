import { rateLimitHeaders, retryAfterSeconds } from './rate-limit-headers';
import type { LimitDecision, NamedRule } from './rate-limiter';

const rules: NamedRule[] = [
  { field: 'calls:60s', limit: 100, periodMs: 60_000, algorithm: 'sliding' },
  { field: 'calls:86400s', limit: 5000, periodMs: 86_400_000, algorithm: 'fixed' },
];

const decision = (over: Partial<LimitDecision> = {}): LimitDecision => ({
  allowed: true,
  enforced: true,
  nowMs: 1_000_000,
  states: [
    { remaining: 7, resetAtMs: 1_000_000 + 12_500 },
    { remaining: 4000, resetAtMs: 1_000_000 + 3_600_000 },
  ],
  binding: 0,
  retryAtMs: null,
  ...over,
});

describe('rateLimitHeaders', () => {
  it("gives the current draft's structured fields for every rule and draft 06's trio for the binding one", () => {
    expect(rateLimitHeaders(rules, decision())).toEqual({
      'RateLimit-Policy': '"calls:60s";q=100;w=60, "calls:86400s";q=5000;w=86400',
      RateLimit: '"calls:60s";r=7;t=13, "calls:86400s";r=4000;t=3600',
      'RateLimit-Limit': '100',
      'RateLimit-Remaining': '7',
      'RateLimit-Reset': '13',
    });
  });

  it('names the binding rule in the trio when it is not the first', () => {
    expect(rateLimitHeaders(rules, decision({ binding: 1 }))).toMatchObject({
      'RateLimit-Limit': '5000',
      'RateLimit-Remaining': '4000',
      'RateLimit-Reset': '3600',
    });
  });

  it('gives none without a rule', () => {
    expect(rateLimitHeaders([], decision({ binding: -1, states: [] }))).toEqual({});
  });

  it('points Retry-After at the retry time, at least a second ahead', () => {
    expect(retryAfterSeconds(decision({ allowed: false, retryAtMs: 1_000_000 + 2_100 }))).toBe(3);
    expect(retryAfterSeconds(decision({ allowed: false, retryAtMs: 1_000_000 }))).toBe(1);
  });
});
