/**
 * The limiter's arithmetic, free of Redis and of any clock: every function takes the
 * time it should judge at. LIMITER_LUA executes `decide` atomically in Redis and must
 * mirror it operation for operation (same doubles, same order, same floor), because the
 * RateLimiter re-runs `decide` on what the script read and treats any disagreement as a
 * bug. Both algorithms keep, per rule, the index of the current fixed window and the
 * units consumed in it and in the window before:
 *
 * - fixed: units in the current window; the whole limit comes back at its end.
 * - sliding (sliding-window counter): the current window's units plus the previous
 *   window's units weighted by the share of the previous window that still lies inside
 *   the trailing period. It assumes the previous window's units were evenly spread;
 *   docs/quotas.md states the error that assumption allows.
 */

export type Algorithm = 'fixed' | 'sliding';

export interface LimitRule {
  limit: number;
  periodMs: number;
  algorithm: Algorithm;
}

/** One rule's counters as the bucket stores them; `window` is -1 before first use. */
export interface Counters {
  window: number;
  current: number;
  previous: number;
}

export const UNUSED: Counters = { window: -1, current: 0, previous: 0 };

export interface Decision {
  allowed: boolean;
  /** Each rule's counters after the decision, rolled to `nowMs`. */
  counters: Counters[];
}

/** Moves stored counters to the window holding `nowMs`; a gap of two windows or more empties them. */
export function rollForward(stored: Counters, periodMs: number, nowMs: number): Counters {
  const window = Math.floor(nowMs / periodMs);
  if (stored.window === window) return stored;
  if (stored.window === window - 1) return { window, current: 0, previous: stored.current };
  return { window, current: 0, previous: 0 };
}

/** Units the rule counts as used at `nowMs` (fractional for sliding). */
export function used(rule: LimitRule, stored: Counters, nowMs: number): number {
  const { window, current, previous } = rollForward(stored, rule.periodMs, nowMs);
  if (rule.algorithm === 'fixed') return current;
  const p = rule.periodMs;
  return current + (previous * (p - (nowMs - window * p))) / p;
}

/** Whole units left; negative when the limit was lowered below what is already used. */
export function remaining(rule: LimitRule, stored: Counters, nowMs: number): number {
  return Math.floor(rule.limit - used(rule, stored, nowMs));
}

export function admits(rule: LimitRule, stored: Counters, nowMs: number, units: number): boolean {
  return remaining(rule, stored, nowMs) >= units;
}

/**
 * All rules admit their units and all are charged, or none is. `units` is one amount for
 * every rule, or one per rule (a call that charges two buckets different amounts). Zero
 * units only reads.
 */
export function decide(
  rules: readonly LimitRule[],
  stored: Counters[],
  nowMs: number,
  units: number | readonly number[],
): Decision {
  // One pass and one array: the limiter runs this on every quota check.
  const counters: Counters[] = [];
  let allowed = true;
  for (let i = 0; i < rules.length; i++) {
    const rolled = rollForward(stored[i], rules[i].periodMs, nowMs);
    counters.push(rolled);
    allowed &&= admits(rules[i], rolled, nowMs, typeof units === 'number' ? units : units[i]);
  }
  if (!allowed) return { allowed, counters };
  for (let i = 0; i < rules.length; i++) {
    const charged = typeof units === 'number' ? units : units[i];
    const { window, current, previous } = counters[i];
    if (charged !== 0) counters[i] = { window, current: current + charged, previous };
  }
  return { allowed, counters };
}

/** When the rule's whole limit is available again if nothing more is consumed. */
export function resetAt(rule: LimitRule, stored: Counters, nowMs: number): number {
  const { window, current, previous } = rollForward(stored, rule.periodMs, nowMs);
  const boundary = (window + 1) * rule.periodMs;
  if (rule.algorithm === 'fixed') return current > 0 ? boundary : nowMs;
  if (current > 0) return boundary + rule.periodMs;
  return previous > 0 ? boundary : nowMs;
}

/**
 * The earliest time the rule admits `units` if nothing more is consumed, or null if it
 * never will (more units than the limit). Sliding usage decays linearly within a window
 * and is continuous across the boundary, so the answer solves one linear inequality,
 * either in the current window or in the next one (where current becomes previous).
 */
export function retryAt(
  rule: LimitRule,
  stored: Counters,
  nowMs: number,
  units: number,
): number | null {
  if (admits(rule, stored, nowMs, units)) return nowMs;
  if (units > rule.limit) return null;
  const { window, current, previous } = rollForward(stored, rule.periodMs, nowMs);
  const p = rule.periodMs;
  const boundary = (window + 1) * p;
  if (rule.algorithm === 'fixed') return boundary;
  const room = rule.limit - units - current;
  if (room >= 0 && previous > 0) {
    const elapsed = Math.ceil(p - (room * p) / previous);
    if (elapsed < p) return earliestAdmitting(rule, stored, window * p + elapsed, nowMs, units);
  }
  const elapsed = current === 0 ? 0 : Math.ceil(p - ((rule.limit - units) * p) / current);
  return earliestAdmitting(rule, stored, boundary + Math.max(0, elapsed), nowMs, units);
}

/**
 * The closed-form time can be a millisecond off the `admits` predicate, whose doubles
 * round differently; nudging it makes the promise exact: admitted then, not a ms before.
 */
function earliestAdmitting(
  rule: LimitRule,
  stored: Counters,
  estimate: number,
  nowMs: number,
  units: number,
): number {
  let t = estimate;
  while (!admits(rule, stored, t, units)) t++;
  while (t - 1 > nowMs && admits(rule, stored, t - 1, units)) t--;
  return t;
}
