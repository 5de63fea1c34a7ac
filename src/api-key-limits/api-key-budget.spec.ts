import { QuotaKeys } from '../infra/redis/redis-keys';
import { Metrics } from '../infra/metrics/metrics';
import { HOUR, limiter, NOW, windowOf } from '../rate-limits/limiter.fixture';
import type { NamedRule } from '../rate-limits/rate-limiter';
import { ApiKeyBudget } from './api-key-budget';
import { loadConfig } from '../config/load-config';
import { REQUIRED_ENV } from '../config/required-env.fixture';

const perHour: NamedRule = { field: 'h', limit: 10, periodMs: HOUR, algorithm: 'fixed' };

/** The key budget over a limiter whose script is `script`, with the env's settings. */
function budget(
  script: (...args: unknown[]) => Promise<unknown>,
  env: Record<string, string> = {},
  metrics = new Metrics(),
) {
  const config = loadConfig({ ...REQUIRED_ENV, QUOTA_REDIS_TIMEOUT_MS: '20', ...env });
  return new ApiKeyBudget(limiter(script, env, metrics), new QuotaKeys(''), config);
}

describe('ApiKeyBudget', () => {
  it("judges a consume and the key's event budget in one call, each described on its own", async () => {
    const calls: unknown[][] = [];
    const metrics = new Metrics();
    // The key's rule (events, 2 a second) is full; the customer's hour has 7 of 10 used.
    const reply = [NOW, 0, Math.floor(NOW / 1000), 2, 0, windowOf(perHour), 7, 0];
    const on = budget(
      async (...args: unknown[]) => {
        calls.push(args);
        return reply;
      },
      { API_KEY_EVENT_RATE_LIMIT: '2' },
      metrics,
    );
    const { key, quota } = await on.chargeWith(
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
    const off = budget(script, { API_KEY_RATE_LIMIT: '0', API_KEY_EVENT_RATE_LIMIT: '0' });
    expect(await off.charge(key, 'requests', 1)).toBeNull();
    expect(await off.charge(key, 'events', 100)).toBeNull();
    const on = budget(script, { API_KEY_RATE_LIMIT: '50', API_KEY_RATE_PERIOD_SECONDS: '60' });
    const outcome = await on.charge(key, 'requests', 1);
    expect(outcome?.rules).toEqual([
      { field: 'requests:60s', limit: 50, periodMs: 60_000, algorithm: 'sliding' },
    ]);
    expect(outcome?.decision).toMatchObject({ allowed: true, states: [{ remaining: 49 }] });
    expect(calls).toEqual([[1, '{k:key-1}', 1, 1, 'requests:60s', 50, 60_000, 'sliding', 1]]);
    await on.charge(key, 'events', 250);
    expect(calls[1]).toEqual([1, '{k:key-1}', 1, 1, 'events:1s', 50_000, 1000, 'sliding', 250]);
  });

  it("uses a key's own limit for a class in place of the configured one, even where that is off", async () => {
    const calls: unknown[][] = [];
    const script = async (...args: unknown[]) => {
      calls.push(args);
      return [NOW, 1, -1, 0, 0];
    };
    const own = { keyId: 'key-2', rateLimits: { requests: { limit: 7, periodSeconds: 3600 } } };
    const off = budget(script, { API_KEY_RATE_LIMIT: '0', API_KEY_EVENT_RATE_LIMIT: '0' });
    expect((await off.charge(own, 'requests', 1))?.rules).toEqual([
      { field: 'requests:3600s', limit: 7, periodMs: 3_600_000, algorithm: 'sliding' },
    ]);
    expect(await off.charge(own, 'events', 1)).toBeNull();
    expect(calls).toEqual([[1, '{k:key-2}', 1, 1, 'requests:3600s', 7, 3_600_000, 'sliding', 1]]);
  });
});
