import type { AppliedQuota } from './quota-snapshot';
import { formatPeriod } from '../common/period/period';
import type { LimitDecision, RuleState } from '../rate-limits';

export interface LimitView {
  metric: string;
  period: string;
  algorithm: string;
  limit: number;
  remaining: number;
  resetAt: string;
  source: 'customer' | 'default';
}

export interface DecisionView {
  allowed: boolean;
  enforced: boolean;
  limit: number | null;
  remaining: number | null;
  resetAt: string | null;
  limits: LimitView[];
}

export interface ExceededView extends DecisionView {
  retryAt: string | null;
  exceeded: LimitView;
}

/** One per rule judged; none when the decision was not enforced (Redis unreachable). */
export function limitViews(rules: readonly AppliedQuota[], decision: LimitDecision): LimitView[] {
  const views: LimitView[] = [];
  for (let i = 0; i < decision.states.length; i++) {
    views.push(limitView(rules[i], decision.states[i]));
  }
  return views;
}

/** Top-level limit, remaining and resetAt describe the binding limit, as the headers do. */
export function decisionView(
  rules: readonly AppliedQuota[],
  decision: LimitDecision,
): DecisionView {
  const limits = limitViews(rules, decision);
  const binding = limits[decision.binding] as LimitView | undefined;
  return {
    allowed: decision.allowed,
    enforced: decision.enforced,
    limit: binding?.limit ?? null,
    remaining: binding?.remaining ?? null,
    resetAt: binding?.resetAt ?? null,
    limits,
  };
}

export function exceededView(
  rules: readonly AppliedQuota[],
  decision: LimitDecision,
): ExceededView {
  const view = decisionView(rules, decision);
  return {
    ...view,
    retryAt: decision.retryAtMs === null ? null : new Date(decision.retryAtMs).toISOString(),
    exceeded: view.limits[decision.binding],
  };
}

function limitView(rule: AppliedQuota, state: RuleState): LimitView {
  return {
    metric: rule.metric,
    period: formatPeriod(rule.periodSeconds),
    algorithm: rule.algorithm,
    limit: rule.limit,
    remaining: state.remaining,
    resetAt: isoTime(state.resetAtMs),
    source: rule.source,
  };
}

/**
 * A limit resets at a window boundary, the same instant for every check in that window:
 * its ISO spelling is looked up rather than built (a Date and a string) for every limit
 * of every check. Cleared when full, as times long past are never asked for again.
 */
const isoTimes = new Map<number, string>();
const ISO_TIMES_KEPT = 1024;

function isoTime(ms: number): string {
  let text = isoTimes.get(ms);
  if (text === undefined) {
    if (isoTimes.size >= ISO_TIMES_KEPT) isoTimes.clear();
    text = new Date(ms).toISOString();
    isoTimes.set(ms, text);
  }
  return text;
}
