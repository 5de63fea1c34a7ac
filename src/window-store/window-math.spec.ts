import { isBeyondLateness, latestDueEnd, windowEndOf, windowStartOf } from './window-math';

describe('window arithmetic', () => {
  const W = 30_000;

  it.each([
    [0, 0],
    [1, 0],
    [29_999, 0],
    [30_000, 30_000],
    [Date.parse('2026-11-21T10:00:03.120Z'), Date.parse('2026-11-21T10:00:00.000Z')],
    [Date.parse('2026-11-21T10:00:30.000Z'), Date.parse('2026-11-21T10:00:30.000Z')],
  ])('puts %d into the window starting at %d', (ts, start) => {
    expect(windowStartOf(ts, W)).toBe(start);
    expect(windowEndOf(ts, W)).toBe(start + W);
  });

  it('is due exactly when end + grace has passed', () => {
    expect(30_000 <= latestDueEnd(34_999, 5_000)).toBe(false);
    expect(30_000 <= latestDueEnd(35_000, 5_000)).toBe(true);
  });

  it('is beyond lateness strictly after end + max lateness', () => {
    expect(isBeyondLateness(30_000, 60_000, 90_000)).toBe(false);
    expect(isBeyondLateness(30_000, 60_000, 90_001)).toBe(true);
  });
});
