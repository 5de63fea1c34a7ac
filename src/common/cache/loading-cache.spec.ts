import { DomainError, ErrorCode } from '../errors/domain-error';
import { LoadingCache } from './loading-cache';

describe('LoadingCache', () => {
  let now: number;
  const clock = { now: () => now };
  let loads: string[];
  const loader = (value: string) => () => {
    loads.push(value);
    return Promise.resolve(value);
  };
  const down = () => {
    loads.push('down');
    return Promise.reject(new DomainError(ErrorCode.Unavailable, 'source down'));
  };
  const cache = (freshMs = 5_000, staleMs = 60_000, maxEntries?: number) =>
    new LoadingCache<string>({ freshMs, staleMs, clock, maxEntries });

  beforeEach(() => {
    now = 1_000;
    loads = [];
  });

  describe('while the source answers', () => {
    it('shares one load among callers that miss together', async () => {
      const c = cache();
      const results = await Promise.all([1, 2, 3].map(() => c.get('k', loader('v'))));
      expect(results).toEqual(['v', 'v', 'v']);
      expect(loads).toEqual(['v']);
    });

    it('keeps a value for its time to live, then loads it again', async () => {
      const c = cache();
      await c.get('k', loader('old'));
      now += 5_000;
      expect(await c.get('k', loader('new'))).toBe('old');
      now += 1;
      expect(await c.get('k', loader('new'))).toBe('new');
    });

    it('keeps nothing with a time to live of zero', async () => {
      const c = cache(0);
      await c.get('k', loader('a'));
      expect(await c.get('k', loader('b'))).toBe('b');
    });

    it('does not keep a failed load', async () => {
      const c = cache();
      await expect(c.get('k', () => Promise.reject(new Error('bug')))).rejects.toThrow('bug');
      expect(await c.get('k', loader('up'))).toBe('up');
    });

    it('drops the least recently used entry past its size', async () => {
      const c = cache(5_000, 60_000, 2);
      await c.get('a', loader('a'));
      await c.get('b', loader('b'));
      await c.get('a', loader('a again'));
      await c.get('c', loader('c'));
      expect(await c.get('a', loader('a again'))).toBe('a');
      expect(await c.get('b', loader('b again'))).toBe('b again');
    });

    it('forgets one key on delete and every key on clear', async () => {
      const c = cache();
      await c.get('a', loader('a'));
      await c.get('b', loader('b'));
      c.delete('a');
      expect(await c.get('a', loader('a again'))).toBe('a again');
      expect(await c.get('b', loader('b again'))).toBe('b');
      c.clear();
      expect(await c.get('b', loader('b again'))).toBe('b again');
    });

    it('gives callers waiting on a load its value, but does not keep it after a delete', async () => {
      const c = cache();
      let finish!: (v: string) => void;
      const waiting = c.get('k', () => new Promise((resolve) => (finish = resolve)));
      c.delete('k');
      finish('read before the change');
      expect(await waiting).toBe('read before the change');
      expect(await c.get('k', loader('after'))).toBe('after');
    });
  });

  describe('when the source is unavailable', () => {
    it('serves the last value and retries once per time to live, not once per call', async () => {
      const c = cache();
      await c.get('k', loader('v1'));
      now += 5_001;
      expect(await c.get('k', down)).toBe('v1');
      now += 4_000;
      for (let i = 0; i < 10; i++) expect(await c.get('k', down)).toBe('v1');
      expect(loads).toEqual(['v1', 'down']);
      now += 1_001;
      expect(await c.get('k', down)).toBe('v1');
      expect(loads).toEqual(['v1', 'down', 'down']);
    });

    it('does not hold callers up while a retry is under way', async () => {
      const c = cache();
      await c.get('k', loader('v1'));
      now += 5_001;
      await c.get('k', down);
      now += 5_001;
      const hanging = () => new Promise<string>(() => undefined);
      expect(await c.get('k', hanging)).toBe('v1');
      expect(await c.get('k', hanging)).toBe('v1');
    });

    it('serves the new value once the source answers again', async () => {
      const c = cache();
      await c.get('k', loader('v1'));
      now += 5_001;
      await c.get('k', down);
      now += 5_001;
      // The retry runs in the background; the call after it sees its result.
      expect(await c.get('k', loader('v2'))).toBe('v1');
      expect(await c.get('k', loader('v3'))).toBe('v2');
    });

    it('fails beyond the staleness bound, with the source error', async () => {
      const c = cache(5_000, 12_000);
      await c.get('k', loader('v1'));
      now += 5_001;
      expect(await c.get('k', down)).toBe('v1');
      now += 5_001;
      expect(await c.get('k', down)).toBe('v1');
      now += 2_000; // 12,002 ms after the last successful load
      await expect(c.get('k', down)).rejects.toMatchObject({ code: ErrorCode.Unavailable });
      await expect(c.get('k', down)).rejects.toMatchObject({ code: ErrorCode.Unavailable });
    });

    it('serves nothing stale with a bound of zero', async () => {
      const c = cache(5_000, 0);
      await c.get('k', loader('v1'));
      now += 5_001;
      await expect(c.get('k', down)).rejects.toMatchObject({ code: ErrorCode.Unavailable });
    });

    it('has nothing to serve for a key never loaded', async () => {
      const c = cache();
      await expect(c.get('k', down)).rejects.toMatchObject({ code: ErrorCode.Unavailable });
      expect(await c.get('k', loader('up'))).toBe('up');
    });

    it('does not hide a failure that is not unavailability, and drops the value', async () => {
      const c = cache();
      await c.get('k', loader('v1'));
      now += 5_001;
      await expect(c.get('k', () => Promise.reject(new Error('bug')))).rejects.toThrow('bug');
      await expect(c.get('k', down)).rejects.toMatchObject({ code: ErrorCode.Unavailable });
    });

    it('keeps a deleted key from falling back', async () => {
      const c = cache();
      await c.get('k', loader('v1'));
      c.delete('k');
      await expect(c.get('k', down)).rejects.toMatchObject({ code: ErrorCode.Unavailable });
    });
  });

  describe('expire', () => {
    it('reloads before serving again, and keeps the value as the fallback', async () => {
      const c = cache();
      await c.get('a', loader('a1'));
      await c.get('b', loader('b1'));
      c.expire('a');
      expect(await c.get('a', loader('a2'))).toBe('a2');
      expect(await c.get('b', loader('b2'))).toBe('b1');
      c.expireAll();
      expect(await c.get('a', down)).toBe('a2');
      expect(await c.get('b', loader('b2'))).toBe('b2');
    });

    it('does not serve the expired value to callers that arrive during its reload', async () => {
      const c = cache();
      await c.get('k', loader('v1'));
      c.expire('k');
      let finish!: (v: string) => void;
      const first = c.get('k', () => new Promise((resolve) => (finish = resolve)));
      const second = c.get('k', loader('not called'));
      finish('v2');
      expect(await Promise.all([first, second])).toEqual(['v2', 'v2']);
      expect(loads).toEqual(['v1']);
    });

    it('drops a load under way: it may have read the state before the change', async () => {
      const c = cache();
      let finish!: (v: string) => void;
      const waiting = c.get('k', () => new Promise((resolve) => (finish = resolve)));
      c.expireAll();
      finish('before');
      expect(await waiting).toBe('before');
      expect(await c.get('k', loader('after'))).toBe('after');
    });
  });
});
