import fc from 'fast-check';
import { DAY_MS, HOUR_MS, planSegments, type Segment } from './bucket-plan';

const WINDOW_MS = 30_000;
const day = (iso: string) => Date.parse(iso);

/** How many times each window start in [from, to) is counted into each bucket. */
function coefficients(segments: Segment[], from: number, to: number, buckets: number) {
  const counts = Array.from({ length: buckets }, () => new Map<number, number>());
  for (const s of segments) {
    for (let w = s.fromMs; w < s.toMs; w += WINDOW_MS) {
      counts[s.bucket].set(w, (counts[s.bucket].get(w) ?? 0) + s.sign);
    }
  }
  return counts.map((m) =>
    [...m].filter(([w, c]) => c !== 0 && w >= from - DAY_MS && w < to + DAY_MS),
  );
}

describe('planSegments', () => {
  it('reads a UTC day from the daily rollup alone', () => {
    expect(
      planSegments([day('2026-11-20T00:00:00Z'), day('2026-11-21T00:00:00Z')], WINDOW_MS),
    ).toEqual([
      {
        source: 'day',
        fromMs: day('2026-11-20T00:00:00Z'),
        toMs: day('2026-11-21T00:00:00Z'),
        bucket: 0,
        sign: 1,
      },
    ]);
  });

  it('reads a Berlin winter day as the UTC day, plus the hour before, minus its last hour', () => {
    const segments = planSegments(
      [day('2026-11-19T23:00:00Z'), day('2026-11-20T23:00:00Z')],
      WINDOW_MS,
    );
    expect(segments).toEqual([
      {
        source: 'day',
        fromMs: day('2026-11-20T00:00:00Z'),
        toMs: day('2026-11-21T00:00:00Z'),
        bucket: 0,
        sign: 1,
      },
      {
        source: 'hour',
        fromMs: day('2026-11-19T23:00:00Z'),
        toMs: day('2026-11-20T00:00:00Z'),
        bucket: 0,
        sign: 1,
      },
      {
        source: 'hour',
        fromMs: day('2026-11-20T23:00:00Z'),
        toMs: day('2026-11-21T00:00:00Z'),
        bucket: 0,
        sign: -1,
      },
    ]);
  });

  it('reads a Kolkata hour (on :30) from its windows, a Kolkata day mostly from rollups', () => {
    const hour = planSegments(
      [day('2026-11-20T04:30:00Z'), day('2026-11-20T05:30:00Z')],
      WINDOW_MS,
    );
    expect(hour.map((s) => s.source)).toEqual(['window']);
    const local = planSegments(
      [day('2026-11-19T18:30:00Z'), day('2026-11-20T18:30:00Z')],
      WINDOW_MS,
    );
    expect(local.filter((s) => s.source === 'window')).toHaveLength(2);
    expect(local.filter((s) => s.source !== 'window').length).toBeLessThanOrEqual(8);
  });

  it('reads minutes from windows', () => {
    const segments = planSegments(
      [day('2026-11-20T04:31:00Z'), day('2026-11-20T04:32:00Z')],
      WINDOW_MS,
    );
    expect(segments).toEqual([
      {
        source: 'window',
        fromMs: day('2026-11-20T04:31:00Z'),
        toMs: day('2026-11-20T04:32:00Z'),
        bucket: 0,
        sign: 1,
      },
    ]);
  });

  it('counts every window of a bucket exactly once and nothing else, for any window-aligned bounds', () => {
    const base = day('2026-10-20T00:00:00Z');
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: (2 * DAY_MS) / WINDOW_MS }), {
          minLength: 2,
          maxLength: 6,
        }),
        (steps) => {
          const bounds = [...steps].sort((a, b) => a - b).map((s) => base + s * WINDOW_MS);
          const segments = planSegments(bounds, WINDOW_MS);
          const counted = coefficients(segments, bounds[0], bounds.at(-1)!, bounds.length - 1);
          counted.forEach((windows, bucket) => {
            const expected: [number, number][] = [];
            for (let w = bounds[bucket]; w < bounds[bucket + 1]; w += WINDOW_MS)
              expected.push([w, 1]);
            expect(windows.sort((a, b) => a[0] - b[0])).toEqual(expected);
          });
        },
      ),
    );
  });

  it('uses at most a few segments per bucket on hour-aligned bounds', () => {
    const start = day('2026-11-01T23:00:00Z');
    const bounds = Array.from({ length: 31 }, (_, i) => start + i * DAY_MS);
    const segments = planSegments(bounds, WINDOW_MS);
    expect(segments.every((s) => s.source !== 'window')).toBe(true);
    expect(segments.length).toBeLessThanOrEqual(3 * 30);
    expect(HOUR_MS).toBe(3_600_000);
  });
});
