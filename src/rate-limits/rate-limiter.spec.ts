import type { Redis } from 'ioredis';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { loadConfig } from '../config/load-config';
import { REQUIRED_ENV } from '../config/required-env.fixture';
import { Metrics } from '../infra/metrics/metrics';
import { QuotaKeys } from '../infra/redis/redis-keys';
import { type NamedRule, RateLimiter } from './rate-limiter';

const NOW = 1_795_303_058_721;
const HOUR = 3_600_000;

function limiter(
  script: (...args: unknown[]) => Promise<unknown>,
  env: Record<string, string> = {},
  metrics = new Metrics(),
  status = 'ready',
) {
  const config = loadConfig({
    ...REQUIRED_ENV,
    QUOTA_REDIS_TIMEOUT_MS: '20',
    ...env,
  });
  const redis = { status, defineCommand: () => undefined, tallyLimit: script, del: script };
  const keys = new QuotaKeys('');
  return new RateLimiter(redis as unknown as Redis, config, { now: () => NOW }, keys, metrics);
}

const perSecond: NamedRule = { field: 's', limit: 5, periodMs: 1_000, algorithm: 'fixed' };
const perHour: NamedRule = { field: 'h', limit: 10, periodMs: HOUR, algorithm: 'fixed' };
const windowOf = (rule: NamedRule) => Math.floor(NOW / rule.periodMs);

describe('RateLimiter', () => {
  it('names the refusing rule that holds out longest, and when the call could pass', async () => {
    const reply = [NOW, 0, windowOf(perSecond), 5, 0, windowOf(perHour), 10, 0];
    const decision = await limiter(async () => reply).consume(
      'consume',
      'b',
      [perSecond, perHour],
      1,
    );
    expect(decision).toMatchObject({ allowed: false, enforced: true, binding: 1 });
    expect(decision.retryAtMs).toBe((windowOf(perHour) + 1) * HOUR);
    expect(decision.states.map((s) => s.remaining)).toEqual([0, 0]);
  });

  it('describes an allowed call by the rule nearest to its limit', async () => {
    const reply = [NOW, 1, windowOf(perSecond), 1, 0, windowOf(perHour), 7, 0];
    const decision = await limiter(async () => reply).consume(
      'consume',
      'b',
      [perSecond, perHour],
      1,
    );
    expect(decision).toMatchObject({ allowed: true, binding: 1, retryAtMs: null });
    expect(decision.states.map((s) => s.remaining)).toEqual([3, 2]);
  });

  it('fails loudly when the script and the arithmetic disagree', async () => {
    const reply = [NOW, 1, windowOf(perSecond), 5, 0];
    await expect(
      limiter(async () => reply).consume('consume', 'b', [perSecond], 1),
    ).rejects.toThrow('LIMITER_LUA and limiter-math disagree');
  });

  it('fails open when Redis is unreachable and the policy is open', async () => {
    const down = async () => Promise.reject(new Error('connect ECONNREFUSED'));
    const decision = await limiter(down).consume('consume', 'b', [perSecond], 1);
    expect(decision).toMatchObject({ allowed: true, enforced: false, binding: -1 });
  });

  it('treats a Redis that does not answer in time as unreachable', async () => {
    const silent = () => new Promise(() => undefined);
    const decision = await limiter(silent).consume('consume', 'b', [perSecond], 1);
    expect(decision.enforced).toBe(false);
  });

  it('answers 503 with Retry-After when Redis is unreachable and the policy is closed', async () => {
    const down = async () => Promise.reject(new Error('connect ECONNREFUSED'));
    const closed = limiter(down, { QUOTA_FAILURE_POLICY: 'closed' });
    const error = await closed.consume('consume', 'b', [perSecond], 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: ErrorCode.Unavailable, extras: { retryAfterSeconds: 1 } });
  });

  it('does not fail open on a script error, which is a bug rather than an outage', async () => {
    const bug = Object.assign(new Error('ERR Error running script'), { name: 'ReplyError' });
    await expect(
      limiter(async () => Promise.reject(bug)).consume('consume', 'b', [perSecond], 1),
    ).rejects.toBe(bug);
  });

  it('counts each decision once by kind and outcome', async () => {
    const metrics = new Metrics();
    const denied = [NOW, 0, windowOf(perSecond), 5, 0];
    const allowed = [NOW, 1, windowOf(perSecond), 1, 0];
    const down = async () => Promise.reject(new Error('connect ECONNREFUSED'));
    await limiter(async () => denied, {}, metrics).consume('consume', 'b', [perSecond], 1);
    await limiter(async () => allowed, {}, metrics).consume('consume', 'b', [perSecond], 1);
    await limiter(async () => allowed, {}, metrics).consume('consume', 'b', [], 1);
    await limiter(down, {}, metrics).consume('api_key_events', 'b', [perSecond], 1);
    const closed = limiter(down, { QUOTA_FAILURE_POLICY: 'closed' }, metrics);
    await closed.consume('api_key_requests', 'b', [perSecond], 1).catch(() => undefined);
    expect(closed.undecided.bind(closed, 'consume', new Error('pg down'))).toThrow(DomainError);

    const counted = (await metrics.quotaDecisions.get()).values
      .filter((v) => v.value > 0)
      .map((v) => [v.labels.kind, v.labels.outcome, v.value]);
    expect(counted).toEqual([
      ['consume', 'allowed', 2],
      ['consume', 'denied', 1],
      ['consume', 'failure_closed', 1],
      ['api_key_requests', 'failure_closed', 1],
      ['api_key_events', 'failure_open', 1],
    ]);
  });

  it('sends nothing while disconnected, so no refused or unchecked call is charged on reconnect', async () => {
    const sent: unknown[] = [];
    const script = async (...args: unknown[]) => {
      sent.push(args);
      return [NOW, 1, -1, 0, 0];
    };
    const reconnecting = limiter(script, {}, new Metrics(), 'reconnecting');
    expect(await reconnecting.consume('consume', 'b', [perSecond], 1)).toMatchObject({
      allowed: true,
      enforced: false,
    });
    await expect(reconnecting.reset('b')).rejects.toMatchObject({ code: ErrorCode.Unavailable });
    expect(sent).toEqual([]);
  });

  it('answers status and reset with 503 whatever the policy', async () => {
    const down = limiter(async () => Promise.reject(new Error('Connection is closed.')));
    await expect(down.peek('b', [perSecond])).rejects.toMatchObject({
      code: ErrorCode.Unavailable,
    });
    await expect(down.reset('b')).rejects.toMatchObject({ code: ErrorCode.Unavailable });
  });

  it("judges a consume and the key's event budget in one call, each described on its own", async () => {
    const calls: unknown[][] = [];
    const metrics = new Metrics();
    // The key's rule (events, 2 a second) is full; the customer's hour has 7 of 10 used.
    const reply = [NOW, 0, Math.floor(NOW / 1000), 2, 0, windowOf(perHour), 7, 0];
    const on = limiter(
      async (...args: unknown[]) => {
        calls.push(args);
        return reply;
      },
      { API_KEY_EVENT_RATE_LIMIT: '2' },
      metrics,
    );
    const { key, quota } = await on.consumeWithApiKey(
      { keyId: 'key-1', rateLimits: {} },
      '{q:c}',
      [perHour],
      3,
    );
    expect(calls).toEqual([
      [
        2,
        '{k:key-1}',
        '{q:c}',
        2,
        1,
        'events:1s',
        2,
        1000,
        'sliding',
        1,
        2,
        'h',
        10,
        HOUR,
        'fixed',
        3,
      ],
    ]);
    expect(key?.decision).toMatchObject({ allowed: false, binding: 0, states: [{ remaining: 0 }] });
    // Nothing was charged: the customer's rule still shows 3 left, and would have admitted.
    expect(quota).toMatchObject({ allowed: true, states: [{ remaining: 3 }] });
    const text = await metrics.registry.metrics();
    // Refused by the key, as before the two were one call: no consume decision is counted.
    const series = (kind: string, outcome: string) =>
      `tally_quota_decisions_total{kind="${kind}",outcome="${outcome}"}`;
    expect(text).toContain(`${series('api_key_events', 'denied')} 1`);
    expect(text).toContain(`${series('consume', 'allowed')} 0`);
    expect(text).toContain(`${series('consume', 'denied')} 0`);
  });

  it('limits API keys per class, only where that class has a limit', async () => {
    const calls: unknown[][] = [];
    const script = async (...args: unknown[]) => {
      calls.push(args);
      return [NOW, 1, -1, 0, 0];
    };
    const key = { keyId: 'key-1', rateLimits: {} };
    const off = limiter(script, { API_KEY_RATE_LIMIT: '0', API_KEY_EVENT_RATE_LIMIT: '0' });
    expect(await off.consumeForApiKey(key, 'requests', 1)).toBeNull();
    expect(await off.consumeForApiKey(key, 'events', 100)).toBeNull();
    const on = limiter(script, { API_KEY_RATE_LIMIT: '50', API_KEY_RATE_PERIOD_SECONDS: '60' });
    const outcome = await on.consumeForApiKey(key, 'requests', 1);
    expect(outcome?.rules).toEqual([
      { field: 'requests:60s', limit: 50, periodMs: 60_000, algorithm: 'sliding' },
    ]);
    expect(outcome?.decision).toMatchObject({ allowed: true, states: [{ remaining: 49 }] });
    expect(calls).toEqual([[1, '{k:key-1}', 1, 1, 'requests:60s', 50, 60_000, 'sliding', 1]]);
    await on.consumeForApiKey(key, 'events', 250);
    expect(calls[1]).toEqual([1, '{k:key-1}', 1, 1, 'events:1s', 50_000, 1000, 'sliding', 250]);
  });

  it("uses a key's own limit for a class in place of the configured one, even where that is off", async () => {
    const calls: unknown[][] = [];
    const script = async (...args: unknown[]) => {
      calls.push(args);
      return [NOW, 1, -1, 0, 0];
    };
    const own = { keyId: 'key-2', rateLimits: { requests: { limit: 7, periodSeconds: 3600 } } };
    const off = limiter(script, { API_KEY_RATE_LIMIT: '0', API_KEY_EVENT_RATE_LIMIT: '0' });
    expect((await off.consumeForApiKey(own, 'requests', 1))?.rules).toEqual([
      { field: 'requests:3600s', limit: 7, periodMs: 3_600_000, algorithm: 'sliding' },
    ]);
    expect(await off.consumeForApiKey(own, 'events', 1)).toBeNull();
    expect(calls).toEqual([[1, '{k:key-2}', 1, 1, 'requests:3600s', 7, 3_600_000, 'sliding', 1]]);
  });
});
