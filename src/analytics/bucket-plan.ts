export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Where a segment's rows come from: a rollup grain, or the windows themselves. */
export type SegmentSource = 'day' | 'hour' | 'window';

/** Windows starting in [fromMs, toMs) of `source`, counted `sign` times into `bucket`. */
export interface Segment {
  source: SegmentSource;
  fromMs: number;
  toMs: number;
  bucket: number;
  sign: 1 | -1;
}

const UNITS: { source: SegmentSource; ms: number }[] = [
  { source: 'day', ms: DAY_MS },
  { source: 'hour', ms: HOUR_MS },
];

/**
 * How to read each bucket [bounds[i], bounds[i + 1]) with the fewest rows per customer:
 * whole UTC days from the daily rollup, whole UTC hours from the hourly one, the rest from
 * windows. An edge may be moved out to a unit boundary and what that adds beyond it
 * subtracted (sign -1) one level down: a Berlin day [23:00, 23:00) is one UTC day plus the
 * hour before it minus its last hour, three rows instead of 24. Each level tries the
 * boundaries on either side of both edges and keeps the cheapest plan, so a Kolkata hour
 * (on :30) is read from its 120 windows rather than an hour plus and minus half hours.
 * Sums are exact integers: a window outside a bucket that is added and subtracted counts
 * zero. Bounds must be window-aligned; UTC days and hours are, as windows align to the epoch.
 */
export function planSegments(bounds: readonly number[], windowMs: number): Segment[] {
  const segments: Segment[] = [];
  for (let bucket = 0; bucket + 1 < bounds.length; bucket++) {
    for (const part of cover(bounds[bucket], bounds[bucket + 1], 0, windowMs).parts) {
      segments.push({ ...part, bucket });
    }
  }
  return segments;
}

type Part = Omit<Segment, 'bucket'>;

interface Plan {
  /** Rows read per customer. */
  cost: number;
  parts: Part[];
}

function cover(from: number, to: number, level: number, windowMs: number): Plan {
  if (from >= to) return { cost: 0, parts: [] };
  const unit = UNITS[level];
  if (!unit) {
    return {
      cost: (to - from) / windowMs,
      parts: [{ source: 'window', fromMs: from, toMs: to, sign: 1 }],
    };
  }
  let best = cover(from, to, level + 1, windowMs);
  for (const lo of around(from, unit.ms)) {
    for (const hi of around(to, unit.ms)) {
      if (lo >= hi) continue;
      // The unit read [lo, hi) against the bucket [from, to): what it reads beyond an edge
      // is subtracted, what it leaves out is added.
      const head =
        lo < from
          ? negate(cover(lo, from, level + 1, windowMs))
          : cover(from, lo, level + 1, windowMs);
      const tail =
        hi > to ? negate(cover(to, hi, level + 1, windowMs)) : cover(hi, to, level + 1, windowMs);
      const cost = (hi - lo) / unit.ms + head.cost + tail.cost;
      if (cost < best.cost) {
        best = {
          cost,
          parts: [
            { source: unit.source, fromMs: lo, toMs: hi, sign: 1 },
            ...head.parts,
            ...tail.parts,
          ],
        };
      }
    }
  }
  return best;
}

function negate(plan: Plan): Plan {
  return { cost: plan.cost, parts: plan.parts.map((p) => ({ ...p, sign: p.sign === 1 ? -1 : 1 })) };
}

function around(ms: number, unit: number): number[] {
  const down = Math.floor(ms / unit) * unit;
  return down === ms ? [ms] : [down, down + unit];
}
