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
    const charge = { bucket, rules, units };
    let reply: number[];
    try {
      reply = await this.run([charge]);
    } catch (error) {
      if (isScriptError(error)) throw error;
      return this.undecided(kind, error);
    }
    return this.counted(kind, this.interpret([charge], reply)[0]);
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
    let admitted = true;
    decisions.forEach((decision, i) => {
      if (admitted) this.counted(charges[i].kind, decision);
      admitted &&= decision.allowed;
    });
    return decisions;
  }

  /** The rules' state now, consuming nothing. */
  async peek(bucket: string, rules: readonly NamedRule[]): Promise<LimitDecision> {
    if (rules.length === 0) return this.unlimited(true);
    const charge = { bucket, rules, units: 0 };
    return this.interpret([charge], await this.orUnavailable(this.run([charge])))[0];
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
    const args: (string | number)[] = [charges.reduce((n, c) => n + c.rules.length, 0)];
    charges.forEach(({ rules, units }, k) => {
      for (const r of rules) args.push(k + 1, r.field, r.limit, r.periodMs, r.algorithm, units);
    });
    const buckets = charges.map((c) => c.bucket);
    return this.withTimeout(() => this.command(buckets.length, ...buckets, ...args));
  }

  /**
   * One decision per charge, re-derived from the counters the script read. Each says
   * whether its own rules admit their units (all were charged only if every charge
   * admits) and describes its rules as they stand after the call.
   */
  private interpret(charges: readonly Charge[], reply: number[]): LimitDecision[] {
    const [nowMs, allowedByScript] = reply;
    const rules = charges.flatMap((c) => c.rules);
    const units = charges.flatMap((c) => c.rules.map(() => c.units));
    const stored: Counters[] = rules.map((_, i) => ({
      window: reply[2 + 3 * i],
      current: reply[3 + 3 * i],
      previous: reply[4 + 3 * i],
    }));
    const { allowed, counters } = decide(rules, stored, nowMs, units);
    if (allowed !== (allowedByScript === 1)) {
      throw new Error('LIMITER_LUA and limiter-math disagree; one of them was changed alone');
    }
    let offset = 0;
    return charges.map((charge) => {
      const at = offset;
      offset += charge.rules.length;
      const slice = <T>(list: T[]) => list.slice(at, at + charge.rules.length);
      return describe(charge, slice(stored), slice(counters), nowMs);
    });
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
  private async withTimeout<T>(send: () => Promise<T>): Promise<T> {
    if (this.redis.status !== 'ready') throw new Error(`Redis is ${this.redis.status}`);
    const call = send();
    const ms = this.config.quota.redisTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([call, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * A charge's decision: `allowed` when its own rules admit its units. Refused, it names
 * the refusing rule that holds out longest and when the call could pass; otherwise the
 * rule nearest to its limit.
 */
function describe(
  { rules, units }: Charge,
  stored: Counters[],
  counters: Counters[],
  nowMs: number,
): LimitDecision {
  const allowed = rules.every((rule, i) => admits(rule, stored[i], nowMs, units));
  const states = rules.map((rule, i) => ({
    remaining: Math.max(0, remaining(rule, counters[i], nowMs)),
    resetAtMs: resetAt(rule, counters[i], nowMs),
  }));
  const decision: LimitDecision = {
    allowed,
    enforced: true,
    nowMs,
    states,
    binding: -1,
    retryAtMs: null,
  };
  if (allowed || units === 0) return { ...decision, binding: nearestToLimit(states) };
  rules.forEach((rule, i) => {
    if (admits(rule, stored[i], nowMs, units)) return;
    const at = retryAt(rule, stored[i], nowMs, units);
    if (decision.binding === -1 || holdsOutLonger(at, decision.retryAtMs)) {
      decision.binding = i;
      decision.retryAtMs = at;
    }
  });
  return decision;
}

/** Lowest remaining; on a tie the one that takes longest to come back. */
function nearestToLimit(states: RuleState[]): number {
  let best = 0;
  states.forEach((s, i) => {
    const b = states[best];
    if (s.remaining < b.remaining || (s.remaining === b.remaining && s.resetAtMs > b.resetAtMs)) {
      best = i;
    }
  });
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
