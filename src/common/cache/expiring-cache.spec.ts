import { ExpiringCache } from './expiring-cache';

describe('ExpiringCache', () => {
  let now: number;
  const clock = { now: () => now };
  let loads: string[];
  const loader = (value: string) => () => {
    loads.push(value);
    return Promise.resolve(value);
  };

  beforeEach(() => {
    now = 1_000;
    loads = [];
  });

  it('shares one load among callers that miss together', async () => {
    const cache = new ExpiringCache<string>(5_000, clock);
    const results = await Promise.all([1, 2, 3].map(() => cache.get('k', loader('v'))));
    expect(results).toEqual(['v', 'v', 'v']);
    expect(loads).toEqual(['v']);
  });

  it('keeps a value for exactly its time to live', async () => {
    const cache = new ExpiringCache<string>(5_000, clock);
    await cache.get('k', loader('old'));
    now += 4_999;
    expect(await cache.get('k', loader('new'))).toBe('old');
    now += 1;
    expect(await cache.get('k', loader('new'))).toBe('new');
  });

  it('keeps nothing with a time to live of zero', async () => {
    const cache = new ExpiringCache<string>(0, clock);
    await cache.get('k', loader('a'));
    expect(await cache.get('k', loader('b'))).toBe('b');
  });

  it('does not keep a failed load', async () => {
    const cache = new ExpiringCache<string>(5_000, clock);
    await expect(cache.get('k', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('k', loader('up'))).toBe('up');
  });

  it('drops the entries a predicate matches, and the oldest past its size', async () => {
    const cache = new ExpiringCache<string>(5_000, clock, 2);
    await cache.get('a:1', loader('a1'));
    await cache.get('a:2', loader('a2'));
    cache.deleteWhere((k) => k === 'a:1');
    expect(await cache.get('a:1', loader('a1 again'))).toBe('a1 again');
    await cache.get('b', loader('b'));
    expect(await cache.get('a:2', loader('a2 again'))).toBe('a2 again');
  });

  it('forgets one key on delete and keeps the others', async () => {
    const cache = new ExpiringCache<string>(5_000, clock);
    await cache.get('a', loader('a'));
    await cache.get('b', loader('b'));
    cache.delete('a');
    expect(await cache.get('a', loader('a again'))).toBe('a again');
    expect(await cache.get('b', loader('b again'))).toBe('b');
  });
});
