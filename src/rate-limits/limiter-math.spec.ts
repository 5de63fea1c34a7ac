import fc from 'fast-check';
import type { Clock } from '../common/clock';
import {
  admits,
  type Counters,
  decide,
  type LimitRule,
  remaining,
  resetAt,
  retryAt,
  rollForward,
  UNUSED,
  used,
} from './limiter-math';
import { MAX_PERIOD_SECONDS } from '../common/period/period';
import { MAX_LIMIT } from '../quotas/quota.schemas';

class ManualClock implements Clock {
  constructor(private ms: number) {}

  now(): number {
    return this.ms;
  }

  set(ms: number): void {
    this.ms = ms;
  }
}

/** What one Redis bucket does with the script, in memory: the counters `decide` leaves. */
function bucket(rules: LimitRule[], clock: Clock) {
  let stored: Counters[] = rules.map(() => UNUSED);
  return {
    consume(units: number): boolean {
      const { allowed, counters } = decide(rules, stored, clock.now(), units);
      stored = counters;
      return allowed;
    },
    remaining: (i = 0) => remaining(rules[i], stored[i], clock.now()),
    resetAt: (i = 0) => resetAt(rules[i], stored[i], clock.now()),
    retryAt: (units: number, i = 0) => retryAt(rules[i], stored[i], clock.now(), units),
  };
}

const P = 10_000;
/** An arbitrary epoch-aligned window start, far from 0 like real time. */
const T0 = 176_374_080 * P;

describe('fixed window', () => {
  const rule: LimitRule = { limit: 3, periodMs: P, algorithm: 'fixed' };

  it('refuses past the limit until the boundary, then is whole at the boundary', () => {
    const clock = new ManualClock(T0 + 2_000);
    const b = bucket([rule], clock);
    expect([b.consume(1), b.consume(2), b.consume(1)]).toEqual([true, true, false]);
    expect(b.remaining()).toBe(0);
    expect(b.resetAt()).toBe(T0 + P);
    expect(b.retryAt(1)).toBe(T0 + P);

    clock.set(T0 + P - 1);
    expect(b.consume(1)).toBe(false);
    clock.set(T0 + P);
    expect(b.remaining()).toBe(3);
    expect(b.consume(3)).toBe(true);
  });

  it('admits a full limit on each side of a boundary (the known fixed-window burst)', () => {
    const clock = new ManualClock(T0 + P - 1);
    const b = bucket([rule], clock);
    expect(b.consume(3)).toBe(true);
    clock.set(T0 + P);
    expect(b.consume(3)).toBe(true);
  });

  it('reports the whole limit and no reset while unused', () => {
    const clock = new ManualClock(T0 + 5);
    const b = bucket([rule], clock);
    expect(b.remaining()).toBe(3);
    expect(b.resetAt()).toBe(T0 + 5);
  });
});

describe('sliding window counter', () => {
  const rule: LimitRule = { limit: 10, periodMs: P, algorithm: 'sliding' };

  it('weights the previous window by the share of it still inside the period', () => {
    const clock = new ManualClock(T0 + 9_000);
    const b = bucket([rule], clock);
    expect(b.consume(10)).toBe(true);

    clock.set(T0 + P);
    expect(b.remaining()).toBe(0);
    expect(b.consume(1)).toBe(false);

    clock.set(T0 + P + 5_000);
    expect(b.remaining()).toBe(5);
    expect(b.consume(5)).toBe(true);
    expect(b.consume(1)).toBe(false);
    expect(b.resetAt()).toBe(T0 + 3 * P);

    clock.set(T0 + 2 * P);
    expect(b.remaining()).toBe(5);
    clock.set(T0 + 3 * P - 1);
    expect(b.remaining()).toBe(9);
    clock.set(T0 + 3 * P);
    expect(b.remaining()).toBe(10);
  });

  it('is continuous across a boundary: the current window becomes the fully weighted previous', () => {
    const clock = new ManualClock(T0 + 3_000);
    const b = bucket([rule], clock);
    b.consume(4);
    clock.set(T0 + P - 1);
    b.consume(3);
    expect(b.remaining()).toBe(3);
    clock.set(T0 + P);
    expect(b.remaining()).toBe(3);
    expect(used(rule, { window: T0 / P, current: 7, previous: 0 }, T0 + P)).toBe(7);
  });

  it('forgets everything after two idle windows', () => {
    expect(rollForward({ window: 5, current: 4, previous: 9 }, P, 7 * P)).toEqual({
      window: 7,
      current: 0,
      previous: 0,
    });
    expect(rollForward({ window: 6, current: 4, previous: 9 }, P, 7 * P)).toEqual({
      window: 7,
      current: 0,
      previous: 4,
    });
  });

  it('promises a retry time at which the call passes and before which it does not', () => {
    const clock = new ManualClock(T0 + 9_000);
    const b = bucket([rule], clock);
    b.consume(8);
    clock.set(T0 + P + 2_000);
    b.consume(2);
    expect(b.consume(3)).toBe(false);
    const at = b.retryAt(3)!;
    expect(at).toBeGreaterThan(clock.now());
    clock.set(at - 1);
    expect(b.consume(3)).toBe(false);
    clock.set(at);
    expect(b.consume(3)).toBe(true);
  });

  it('never promises a retry for more units than the limit', () => {
    const b = bucket([rule], new ManualClock(T0));
    expect(b.consume(11)).toBe(false);
    expect(b.retryAt(11)).toBeNull();
  });
});

describe('several rules', () => {
  it('charges all or none', () => {
    const clock = new ManualClock(T0 + 1_000);
    const rules: LimitRule[] = [
      { limit: 10, periodMs: P, algorithm: 'fixed' },
      { limit: 25, periodMs: 10 * P, algorithm: 'sliding' },
    ];
    const b = bucket(rules, clock);
    expect(b.consume(7)).toBe(true);
    expect(b.consume(7)).toBe(false);
    expect([b.remaining(0), b.remaining(1)]).toEqual([3, 18]);
    clock.set(T0 + P);
    expect(b.consume(7)).toBe(true);
    expect([b.remaining(0), b.remaining(1)]).toEqual([3, 11]);
  });

  it('only reads for zero units', () => {
    const rule: LimitRule = { limit: 1, periodMs: P, algorithm: 'fixed' };
    const { allowed, counters } = decide([rule], [UNUSED], T0, 0);
    expect(allowed).toBe(true);
    expect(counters[0].current).toBe(0);
  });

  it('charges each rule its own units when given one amount per rule, or none', () => {
    const key: LimitRule = { limit: 2, periodMs: P, algorithm: 'fixed' };
    const customer: LimitRule = { limit: 10, periodMs: P, algorithm: 'sliding' };
    const charged = decide([key, customer], [UNUSED, UNUSED], T0, [1, 7]);
    expect(charged.allowed).toBe(true);
    expect(charged.counters.map((c) => c.current)).toEqual([1, 7]);
    // The key's rule has room for 1 more, the customer's for 3, not 7: neither is charged.
    const refused = decide([key, customer], charged.counters, T0, [1, 7]);
    expect(refused.allowed).toBe(false);
    expect(refused.counters.map((c) => c.current)).toEqual([1, 7]);
  });

  it('counts a lowered limit against usage already there', () => {
    const rule: LimitRule = { limit: 2, periodMs: P, algorithm: 'fixed' };
    const stored = { window: T0 / P, current: 5, previous: 0 };
    expect(remaining(rule, stored, T0)).toBe(-3);
    expect(admits(rule, stored, T0, 1)).toBe(false);
  });
});

describe('properties', () => {
  const ruleArb = fc.record({
    limit: fc.integer({ min: 1, max: 1_000 }),
    periodMs: fc.constantFrom(1_000, 7_000, 60_000, 86_400_000),
    algorithm: fc.constantFrom<LimitRule['algorithm']>('fixed', 'sliding'),
  });
  /** Arrivals as (gap to the previous one, units asked). */
  const arrivalsArb = fc.array(
    fc.tuple(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 1, max: 300 })),
    { minLength: 1, maxLength: 200 },
  );

  function run(rule: LimitRule, arrivals: [number, number][]) {
    const clock = new ManualClock(T0);
    const b = bucket([rule], clock);
    const admitted: { t: number; units: number }[] = [];
    for (const [gap, units] of arrivals) {
      clock.set(clock.now() + gap);
      if (b.consume(units)) admitted.push({ t: clock.now(), units });
    }
    return admitted;
  }

  const sum = (xs: { units: number }[]) => xs.reduce((s, x) => s + x.units, 0);

  it('never admits more than the limit within one fixed window, either algorithm', () => {
    fc.assert(
      fc.property(ruleArb, arrivalsArb, (rule, arrivals) => {
        const perWindow = new Map<number, number>();
        for (const a of run(rule, arrivals)) {
          const w = Math.floor(a.t / rule.periodMs);
          perWindow.set(w, (perWindow.get(w) ?? 0) + a.units);
        }
        for (const total of perWindow.values()) expect(total).toBeLessThanOrEqual(rule.limit);
      }),
    );
  });

  it('sliding admits at most limit + previous window × elapsed share in any trailing period', () => {
    fc.assert(
      fc.property(ruleArb, arrivalsArb, (base, arrivals) => {
        const rule: LimitRule = { ...base, algorithm: 'sliding' };
        const admitted = run(rule, arrivals);
        const p = rule.periodMs;
        for (const { t } of admitted) {
          const w = Math.floor(t / p);
          const share = (t - w * p) / p;
          const previous = sum(admitted.filter((a) => Math.floor(a.t / p) === w - 1));
          const trailing = sum(admitted.filter((a) => a.t > t - p && a.t <= t));
          expect(trailing).toBeLessThanOrEqual(rule.limit + previous * share + 1e-9);
          expect(trailing).toBeLessThan(2 * rule.limit);
        }
      }),
    );
  });

  it('retryAt is exact: admitted then, refused a millisecond before, up to the largest limits', () => {
    const share = fc.double({ min: 0, max: 1, noNaN: true });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: MAX_LIMIT }),
        fc.constantFrom(1_000, 7_000, 3_600_000, 86_400_000, MAX_PERIOD_SECONDS * 1000),
        fc.constantFrom<LimitRule['algorithm']>('fixed', 'sliding'),
        fc.tuple(share, share, share),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 0, max: MAX_PERIOD_SECONDS * 1000 }),
        (limit, periodMs, algorithm, [current, previous, asked], age, offset) => {
          const rule: LimitRule = { limit, periodMs, algorithm };
          const now = T0 + offset;
          const stored = {
            window: Math.floor(now / periodMs) - age,
            current: Math.floor(current * limit),
            previous: Math.floor(previous * limit),
          };
          const units = Math.max(1, Math.ceil(asked * limit));
          const at = retryAt(rule, stored, now, units)!;
          expect(admits(rule, stored, at, units)).toBe(true);
          if (at > now) expect(admits(rule, stored, at - 1, units)).toBe(false);
          expect(at).toBeLessThanOrEqual(resetAt(rule, stored, now));
        },
      ),
      { numRuns: 20_000 },
    );
  });
});
