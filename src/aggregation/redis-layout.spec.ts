import { RedisLayout } from './redis-layout';

describe('RedisLayout', () => {
  const layout = new RedisLayout('p:', 16);
  const ref = {
    shard: 3,
    tenantId: 'tenant-uuid',
    windowStartMs: 1_700_000_000_000,
    customerId: 'c:with:colons',
  };

  it('keeps everything of a shard under one hash tag', () => {
    for (const key of [
      layout.windowKey(ref),
      layout.dedupKey(ref),
      layout.legacyDedupKey(ref),
      layout.openIndex(3),
      layout.stream(3),
      layout.closerLock(3),
    ]) {
      expect(key.startsWith('p:{3}:')).toBe(true);
    }
  });

  it('parses a window key back, customer ids with colons included', () => {
    expect(layout.parseWindowKey(layout.windowKey(ref))).toEqual(ref);
  });

  it('refuses keys that are not window keys', () => {
    expect(() => layout.parseWindowKey('p:{3}:open')).toThrow('not a window key');
    expect(() => layout.parseWindowKey('other:{3}:w:t:1:c')).toThrow('not a window key');
  });
});
