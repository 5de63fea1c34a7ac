import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { defineScript, type ScriptCommand } from '../infra/redis/define-script';
import { LIMITER_REDIS } from '../infra/redis/redis.tokens';
import { CLOCK, type Clock } from '../common/clock';
import {
  Metrics,
  type QuotaDecisionKind,
  type QuotaDecisionOutcome,
} from '../infra/metrics/metrics';
import {
  admits,
  type Counters,
  decide,
  LimitRule,
  remaining,
  resetAt,
  retryAt,
} from './limiter-math';
import { LIMITER_LUA } from './limiter.lua';

/** A rule plus the bucket field its counters live under (unique within the bucket). */
export interface NamedRule extends LimitRule {
  field: string;
}

export interface RuleState {
  /** Whole units left after the decision, never below 0. */
  remaining: number;
  resetAtMs: number;
}

export interface LimitDecision {
  allowed: boolean;
  /** False when Redis could not be asked and the fail-open policy let the call through. */
  enforced: boolean;
  nowMs: number;
  /** One per rule, in the order given. */
  states: RuleState[];
  /**
   * The rule the answer is about (RateLimit-* headers): when refused, the refusing rule
   * that holds out longest; when allowed, the one nearest to its limit; -1 without rules.
   */
  binding: number;
  /** Refused only: the earliest time the same call could pass; null if it never can. */
  retryAtMs: number | null;
}

export interface RateLimitOutcome {
  rules: readonly NamedRule[];
  decision: LimitDecision;
}

/** Units to charge to the rules of one bucket, within a call that may charge several. */
export interface Charge {
  bucket: string;
  rules: readonly NamedRule[];
  units: number;
}

/** One charge of a call judging several: its decision counts on /metrics as `kind`. */
export interface KindedCharge extends Charge {
  kind: QuotaDecisionKind;
}

const FAIL_OPEN_WARN_EVERY_MS = 10_000;

type DecisionCounters = Record<QuotaDecisionKind, Record<QuotaDecisionOutcome, { inc(): void }>>;

/**
 * Atomic multi-rule limiter over Redis buckets, shared by customer quotas and per-API-key
 * rate limits. If Redis cannot be asked, consume follows QUOTA_FAILURE_POLICY; reads and
 * resets simply answer 503.
 */
@Injectable()
export class RateLimiter {
  private readonly logger = new Logger(RateLimiter.name);
  private readonly command: ScriptCommand<number[]>;
  private lastFailOpenWarnMs = -Infinity;
  private failOpenSinceWarn = 0;
  /** tally_quota_decisions_total, one series per kind and outcome, bound once. */
  private readonly decisions: DecisionCounters;

  constructor(
    @Inject(LIMITER_REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    metrics: Metrics,
  ) {
    this.command = defineScript(redis, 'tallyLimit', LIMITER_LUA);
    const counters = (kind: QuotaDecisionKind) => {
      const of = (outcome: QuotaDecisionOutcome) =>
        metrics.quotaDecisions.labels({ kind, outcome });
      return {
        allowed: of('allowed'),
        denied: of('denied'),
        failure_open: of('failure_open'),
        failure_closed: of('failure_closed'),
      };
    };
    this.decisions = {
      consume: counters('consume'),
      api_key_requests: counters('api_key_requests'),
      api_key_events: counters('api_key_events'),
    };
  }

  /**
   * Charges `units` to every rule of the bucket, or to none if any rule refuses. Each call
   * is one decision of `kind` on /metrics.
   */
  async consume(
    kind: QuotaDecisionKind,
    bucket: string,
    rules: readonly NamedRule[],
    units: number,
  ): Promise<LimitDecision> {
    if (rules.length === 0) return this.counted(kind, this.unlimited(true));
    const charges = [{ bucket, rules, units }];
    let reply: number[];
    try {
      reply = await this.run(charges);
    } catch (error) {
      if (isScriptError(error)) throw error;
      return this.undecided(kind, error);
    }
    return this.counted(kind, this.interpret(charges, reply)[0]);
  }

  /**
   * Several charges in one script call, all charged or none. Charge i's decision is
   * counted (as its `kind`) only when every charge before it was allowed: an earlier
   * refusal decides the call. If Redis cannot be asked, each follows the failure policy,
   * in order.
   */
  async consumeAll(charges: readonly KindedCharge[]): Promise<LimitDecision[]> {
    let reply: number[];
    try {
      reply = await this.run(charges);
    } catch (error) {
      if (isScriptError(error)) throw error;
      return charges.map(({ kind }) => this.undecided(kind, error));
    }
    const decisions = this.interpret(charges, reply);
    for (let i = 0; i < decisions.length; i++) {
      this.counted(charges[i].kind, decisions[i]);
      if (!decisions[i].allowed) break;
    }
    return decisions;
  }

  /** The rules' state now, consuming nothing. */
  async peek(bucket: string, rules: readonly NamedRule[]): Promise<LimitDecision> {
    if (rules.length === 0) return this.unlimited(true);
    const charges = [{ bucket, rules, units: 0 }];
    return this.interpret(charges, await this.orUnavailable(this.run(charges)))[0];
  }

  /** Forgets all usage of the bucket: every rule is whole again. */
  async reset(bucket: string): Promise<void> {
    await this.orUnavailable(this.withTimeout(() => this.redis.del(bucket)));
  }

  /**
   * The answer when a consume cannot be judged (Redis, or the quota definitions,
   * unreachable): fail-open lets it through unchecked and logs, fail-closed is a 503.
   */
  undecided(kind: QuotaDecisionKind, cause: unknown): LimitDecision {
    if (this.config.quota.failurePolicy === 'closed') {
      this.decisions[kind].failure_closed.inc();
      throw unavailable();
    }
    this.warnFailOpen(cause);
    return this.counted(kind, this.unlimited(false));
  }

  private run(charges: readonly Charge[]): Promise<number[]> {
    // KEYS then ARGV in one list, spread once: ioredis copies its arguments at every layer.
    const args: (string | number)[] = [];
    let ruleCount = 0;
    for (const charge of charges) {
      args.push(charge.bucket);
      ruleCount += charge.rules.length;
    }
    args.push(ruleCount);
    for (let k = 0; k < charges.length; k++) {
      const { rules, units } = charges[k];
      for (const r of rules) args.push(k + 1, r.field, r.limit, r.periodMs, r.algorithm, units);
    }
    return this.withTimeout(() => this.command(charges.length, ...args));
  }

  /**
   * One decision per charge, re-derived from the counters the script read. Each says
   * whether its own rules admit their units (all were charged only if every charge
   * admits) and describes its rules as they stand after the call. One pass over the
   * reply: this runs on every quota check.
   */
  private interpret(charges: readonly Charge[], reply: number[]): LimitDecision[] {
    const nowMs = reply[0];
    const rules: NamedRule[] = [];
    const stored: Counters[] = [];
    const units: number[] = [];
    for (const charge of charges) {
      for (const rule of charge.rules) {
        const at = 2 + 3 * rules.length;
        rules.push(rule);
        stored.push({ window: reply[at], current: reply[at + 1], previous: reply[at + 2] });
        units.push(charge.units);
      }
    }
    const { allowed, counters } = decide(rules, stored, nowMs, units);
    if (allowed !== (reply[1] === 1)) {
      throw new Error('LIMITER_LUA and limiter-math disagree; one of them was changed alone');
    }
    const decisions: LimitDecision[] = [];
    let from = 0;
    for (const charge of charges) {
      decisions.push(describe(charge, stored, counters, from, nowMs));
      from += charge.rules.length;
    }
    return decisions;
  }

  private counted(kind: QuotaDecisionKind, decision: LimitDecision): LimitDecision {
    const outcome = !decision.enforced ? 'failure_open' : decision.allowed ? 'allowed' : 'denied';
    this.decisions[kind][outcome].inc();
    return decision;
  }

  private unlimited(enforced: boolean): LimitDecision {
    return {
      allowed: true,
      enforced,
      nowMs: this.clock.now(),
      states: [],
      binding: -1,
      retryAtMs: null,
    };
  }

  /** "Allow and log", without one log line per call while Redis is down. */
  private warnFailOpen(cause: unknown): void {
    const nowMs = this.clock.now();
    this.failOpenSinceWarn++;
    if (nowMs - this.lastFailOpenWarnMs >= FAIL_OPEN_WARN_EVERY_MS) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      this.logger.warn(
        `cannot judge quotas (${reason}); fail-open let ` +
          `${this.failOpenSinceWarn} call(s) through unchecked since the last warning`,
      );
      this.lastFailOpenWarnMs = nowMs;
      this.failOpenSinceWarn = 0;
    }
  }

  private async orUnavailable<T>(call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (error) {
      if (isScriptError(error)) throw error;
      throw unavailable();
    }
  }

  /**
   * ioredis would queue a command while disconnected and send it on reconnect: a consume
   * answered 503 (or let through unchecked) would then charge its units later, and the
   * caller's retry twice. So nothing is sent unless connected. ioredis also waits for a
   * reconnect before failing a command it sent; a gateway needs its answer sooner. A
   * script sent on a live connection that times out may still run: its units stay consumed.
   */
  private withTimeout<T>(send: () => Promise<T>): Promise<T> {
    const status = this.redis.status;
    if (status !== 'ready') return Promise.reject(new Error(`Redis is ${status}`));
    const ms = this.config.quota.redisTimeoutMs;
    // One promise and one timer per call, not a race: this runs on every quota check.
    return new Promise<T>((resolve, reject) => {
      const call = send();
      const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      call.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }
}

/**
 * A charge's decision: `allowed` when its own rules admit its units. Refused, it names
 * the refusing rule that holds out longest and when the call could pass; otherwise the
 * rule nearest to its limit. The charge's rules are `stored[from…]` and `counters[from…]`.
 */
function describe(
  { rules, units }: Charge,
  stored: readonly Counters[],
  counters: readonly Counters[],
  from: number,
  nowMs: number,
): LimitDecision {
  let allowed = true;
  const states: RuleState[] = [];
  for (let i = 0; i < rules.length; i++) {
    const after = counters[from + i];
    states.push({
      remaining: Math.max(0, remaining(rules[i], after, nowMs)),
      resetAtMs: resetAt(rules[i], after, nowMs),
    });
    allowed &&= admits(rules[i], stored[from + i], nowMs, units);
  }
  const decision: LimitDecision = {
    allowed,
    enforced: true,
    nowMs,
    states,
    binding: -1,
    retryAtMs: null,
  };
  if (allowed || units === 0) {
    decision.binding = nearestToLimit(states);
    return decision;
  }
  for (let i = 0; i < rules.length; i++) {
    if (admits(rules[i], stored[from + i], nowMs, units)) continue;
    const at = retryAt(rules[i], stored[from + i], nowMs, units);
    if (decision.binding === -1 || holdsOutLonger(at, decision.retryAtMs)) {
      decision.binding = i;
      decision.retryAtMs = at;
    }
  }
  return decision;
}

/** Lowest remaining; on a tie the one that takes longest to come back. */
function nearestToLimit(states: readonly RuleState[]): number {
  let best = 0;
  for (let i = 1; i < states.length; i++) {
    const s = states[i];
    const b = states[best];
    if (s.remaining < b.remaining || (s.remaining === b.remaining && s.resetAtMs > b.resetAtMs)) {
      best = i;
    }
  }
  return best;
}

/** Retry times compare with null as "never". */
function holdsOutLonger(at: number | null, than: number | null): boolean {
  return than !== null && (at === null || at > than);
}

/** Redis answered, with an error: a bug in the script or its arguments, not an outage. */
function isScriptError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError';
}

function unavailable(): DomainError {
  return new DomainError(ErrorCode.Unavailable, 'The quota store is unreachable; retry shortly.', {
    retryAfterSeconds: 1,
  });
}
