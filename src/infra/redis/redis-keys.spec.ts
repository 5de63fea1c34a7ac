import {
  AnalyticsKeys,
  LiveKeys,
  QuotaKeys,
  ruleField,
  TicketKeys,
  WindowKeys,
} from './redis-keys';

// Golden strings: every key a running deployment holds has exactly this shape. A test
// that fails here means data under the old shape would be stranded by the change.
describe('Redis keys', () => {
  const ref = {
    shard: 3,
    tenantId: 'tenant-uuid',
    windowStartMs: 1_700_000_000_000,
    customerId: 'c:with:colons',
  };

  describe('WindowKeys', () => {
    const windows = new WindowKeys('p:', 16);

    it.each([
      ['window hash', windows.windowKey(ref), 'p:{3}:w:tenant-uuid:1700000000000:c:with:colons'],
      ['dedup hash', windows.dedupKey(ref), 'p:{3}:dd:tenant-uuid:1700000000000:c:with:colons'],
      [
        'legacy dedup set',
        windows.legacyDedupKey(ref),
        'p:{3}:d:tenant-uuid:1700000000000:c:with:colons',
      ],
      ['open index', windows.openIndex(3), 'p:{3}:open'],
      ['recompute index', windows.recomputeIndex(3), 'p:{3}:recompute'],
      ['event stream', windows.stream(3), 'p:{3}:events'],
      ['closer lock', windows.closerLock(3), 'p:{3}:lock:closer'],
      ['epoch marker', windows.epochMarker(), 'p:epoch'],
      ['recovery lock', windows.recoveryLock(), 'p:lock:recovery'],
    ])('names the %s %s', (_what, key, golden) => {
      expect(key).toBe(golden);
    });

    it('keeps everything of a shard under one hash tag', () => {
      for (const key of [
        windows.windowKey(ref),
        windows.dedupKey(ref),
        windows.legacyDedupKey(ref),
        windows.openIndex(3),
        windows.stream(3),
        windows.closerLock(3),
      ]) {
        expect(key.startsWith('p:{3}:')).toBe(true);
      }
    });

    it('parses a window key back, customer ids with colons included', () => {
      expect(windows.parseWindowKey(windows.windowKey(ref))).toEqual(ref);
    });

    it('refuses keys that are not window keys', () => {
      expect(() => windows.parseWindowKey('p:{3}:open')).toThrow('not a window key');
      expect(() => windows.parseWindowKey('other:{3}:w:t:1:c')).toThrow('not a window key');
    });
  });

  it.each([
    ['quota customer hash', new QuotaKeys('p:').customer('t-1', 'c:1'), 'p:{q:t-1:c:1}'],
    ['quota API-key hash', new QuotaKeys('p:').apiKey('k-1'), 'p:{k:k-1}'],
    ['quota changes channel', new QuotaKeys('p:').definitionsChannel, 'p:quota-definitions'],
    ['quota rule field', ruleField('calls', 60), 'calls:60s'],
    ['analytics versions', new AnalyticsKeys('p:').versions('t-1'), 'p:{a:t-1}:versions'],
    ['analytics answer', new AnalyticsKeys('p:').answer('t-1', 'q', 'v'), 'p:{a:t-1}:answer:q:v'],
    ['analytics hot queries', new AnalyticsKeys('p:').hot('t-1'), 'p:{a:t-1}:hot'],
    ['analytics channel', new AnalyticsKeys('p:').channel, 'p:analytics-versions'],
    ['live history', new LiveKeys('p:').history('t-1'), 'p:live:t-1:history'],
    ['live channel', new LiveKeys('p:').channel('t-1'), 'p:live:t-1:updates'],
    ['live watched mark', new LiveKeys('p:').watched('t-1'), 'p:live:t-1:watched'],
    ['live streams', new LiveKeys('p:').streams('t-1'), 'p:live:t-1:streams'],
    ['live usage turn', new LiveKeys('p:').usageTurn('t-1', 'c:1'), 'p:live:t-1:turn:c:1'],
    ['stream ticket', new TicketKeys('p:').claimed('j-1'), 'p:ticket:j-1'],
  ])('names the %s %s', (_what, key, golden) => {
    expect(key).toBe(golden);
  });
});
