import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { REQUIRED_ENV } from '../config/required-env.fixture';
import { loadConfig } from '../config/load-config';
import { Metrics } from '../infra/metrics/metrics';
import { addressOf, KeyLookupBudget } from './key-lookup-budget';

describe('KeyLookupBudget', () => {
  let now: number;
  const clock = { now: () => now };
  let finds: number;
  const missing = () => {
    finds += 1;
    return Promise.resolve(null);
  };
  const existing = () => {
    finds += 1;
    return Promise.resolve({ key: 'state' });
  };

  function budget(limit = 3, periodSeconds = 60) {
    const config = loadConfig({
      ...REQUIRED_ENV,
      UNKNOWN_KEY_LIMIT: String(limit),
      UNKNOWN_KEY_PERIOD_SECONDS: String(periodSeconds),
    });
    return new KeyLookupBudget(config, clock, new Metrics());
  }

  async function refusal(attempt: Promise<unknown>): Promise<DomainError> {
    const error: unknown = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof DomainError))
      throw new Error(`expected a refusal, got ${String(error)}`);
    return error;
  }

  beforeEach(() => {
    now = 1_000_000;
    finds = 0;
  });

  it('refuses past the limit without looking, for the rest of a fixed window', async () => {
    const b = budget(3, 60);
    for (let i = 0; i < 3; i++) expect(await b.lookup('10.0.0.1', `h${i}`, missing)).toBeNull();
    now += 20_000;
    const error = await refusal(b.lookup('10.0.0.1', 'h9', missing));
    expect(error.code).toBe(ErrorCode.RateLimited);
    expect(error.extras.retryAfterSeconds).toBe(40);
    expect(finds).toBe(3);
    now += 40_001;
    expect(await b.lookup('10.0.0.1', 'h9', missing)).toBeNull();
    expect(finds).toBe(4);
  });

  it('charges a lookup before it runs, so concurrent misses cannot overdraw', async () => {
    const b = budget(3);
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => b.lookup('10.0.0.1', `h${i}`, missing)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(finds).toBe(3);
  });

  it('charges nothing for a key that exists, nor for a failed lookup', async () => {
    const b = budget(1);
    expect(await b.lookup('10.0.0.1', 'real', existing)).toEqual({ key: 'state' });
    await expect(
      b.lookup('10.0.0.1', 'h1', () => Promise.reject(new Error('db down'))),
    ).rejects.toThrow('db down');
    expect(await b.lookup('10.0.0.1', 'h2', missing)).toBeNull();
    await refusal(b.lookup('10.0.0.1', 'h3', missing));
  });

  it('never refuses a key seen to exist, from any address', async () => {
    const b = budget(1);
    await b.lookup('10.0.0.9', 'real', existing);
    await b.lookup('10.0.0.1', 'h1', missing);
    await refusal(b.lookup('10.0.0.1', 'h2', missing));
    expect(await b.lookup('10.0.0.1', 'real', existing)).toEqual({ key: 'state' });
  });

  it('counts nothing when the limit is 0 (off)', async () => {
    const b = budget(0);
    for (let i = 0; i < 50; i++) await b.lookup('10.0.0.1', `h${i}`, missing);
    expect(finds).toBe(50);
  });
});

describe('addressOf', () => {
  it.each([
    ['10.1.2.3', '10.1.2.3'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:0000::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::10.1.2.3', '64:ff9b:0:0::/64'],
  ])('groups %s as %s', (ip, expected) => {
    expect(addressOf(ip)).toBe(expected);
  });
});
