import fc from 'fast-check';
import { latestDueEnd, windowEndOf, windowStartOf } from './window-math';

describe('window assignment (properties)', () => {
  const windowMs = fc.integer({ min: 1, max: 86_400_000 });
  const timestamp = fc.integer({ min: 0, max: 4_102_444_800_000 });

  it('puts every timestamp in exactly one aligned window that contains it', () => {
    fc.assert(
      fc.property(timestamp, windowMs, (ts, w) => {
        const start = windowStartOf(ts, w);
        expect(start % w).toBe(0);
        expect(start).toBeLessThanOrEqual(ts);
        expect(ts).toBeLessThan(windowEndOf(ts, w));
        expect(windowStartOf(start, w)).toBe(start);
        expect(windowStartOf(start + w, w)).toBe(start + w);
      }),
    );
  });

  it('keeps order: a later timestamp never lands in an earlier window', () => {
    fc.assert(
      fc.property(timestamp, timestamp, windowMs, (a, b, w) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(windowStartOf(lo, w)).toBeLessThanOrEqual(windowStartOf(hi, w));
      }),
    );
  });

  it('once due, a window stays due', () => {
    fc.assert(
      fc.property(timestamp, fc.nat(60_000), fc.nat(1_000_000), (end, grace, later) => {
        if (end <= latestDueEnd(end + grace, grace))
          expect(end <= latestDueEnd(end + grace + later, grace)).toBe(true);
      }),
    );
  });
});
