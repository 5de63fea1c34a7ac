import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { Metrics } from '../infra/metrics/metrics';
import { HOUR, limiter, NOW, windowOf } from './limiter.fixture';
import type { NamedRule } from './rate-limiter';

const perSecond: NamedRule = { field: 's', limit: 5, periodMs: 1_000, algorithm: 'fixed' };
const perHour: NamedRule = { field: 'h', limit: 10, periodMs: HOUR, algorithm: 'fixed' };

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
});
