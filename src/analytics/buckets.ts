import { LRUCache } from 'lru-cache';
import { DateTime, IANAZone } from 'luxon';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { MAX_INSTANT_MS, MIN_INSTANT_MS } from '../common/validation/exact-instant';

export type Granularity = 'minute' | 'hour' | 'day' | 'month';

const UNIT = { minute: 'minute', hour: 'hour', day: 'day', month: 'month' } as const;
/** Shortest length of a bucket, to bound the count before making any. */
const MIN_MS: Record<Granularity, number> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 23 * 3_600_000,
  month: 28 * 86_400_000,
};

/** The zone by its IANA name, or a 400 naming `path`. */
export function zoneOf(name: string, path = '/timezone'): IANAZone {
  const zone = IANAZone.create(name);
  if (!zone.isValid) {
    throw new DomainError(ErrorCode.ValidationFailed, `'${name}' is not an IANA time zone.`, {
      errors: [{ path, message: 'must be an IANA time zone name such as Europe/Berlin' }],
    });
  }
  return zone;
}

/** The start of the bucket of `granularity` in `zone` that holds `ms`. */
export function bucketStartOf(ms: number, granularity: Granularity, zone: IANAZone): number {
  return DateTime.fromMillis(ms, { zone }).startOf(UNIT[granularity]).toMillis();
}

/** Minutes and hours are fixed lengths of absolute time in every zone (luxon adds them so too). */
const FIXED_MS: Partial<Record<Granularity, number>> = { minute: 60_000, hour: 3_600_000 };

/** The start of the bucket after the one that starts at `startMs` (a 23- or 25-hour day across DST). */
export function nextBucket(startMs: number, granularity: Granularity, zone: IANAZone): number {
  const fixed = FIXED_MS[granularity];
  if (fixed !== undefined) return startMs + fixed;
  return DateTime.fromMillis(startMs, { zone })
    .plus({ [UNIT[granularity]]: 1 })
    .toMillis();
}

/**
 * Calendar arithmetic through luxon (Intl underneath) costs tens of microseconds a step,
 * and every request of a dashboard asks for the same buckets again: keep them.
 */
const remembered = new LRUCache<string, readonly number[]>({ max: 1000 });

/** The bounds from the bucket starting at `first` through the one starting at `last`, and the end of that one. */
function boundsThrough(
  first: number,
  last: number,
  granularity: Granularity,
  zone: IANAZone,
): number[] {
  const key = `${granularity}|${zone.name}|${first}|${last}`;
  const known = remembered.get(key);
  if (known) return [...known];
  const bounds = [first];
  while (bounds.at(-1)! <= last) bounds.push(nextBucket(bounds.at(-1)!, granularity, zone));
  remembered.set(key, bounds);
  return [...bounds];
}

/**
 * The bucket boundaries covering [fromMs, toMs), rounded out to whole buckets of the zone.
 * Refused with 400 beyond `maxBuckets`, or when a boundary falls inside a window (a window
 * length that does not divide the bucket), since a window is the smallest thing counted.
 */
export function bucketBounds(
  fromMs: number,
  toMs: number,
  granularity: Granularity,
  zone: IANAZone,
  { windowMs, maxBuckets }: { windowMs: number; maxBuckets: number },
): number[] {
  const first = bucketStartOf(fromMs, granularity, zone);
  if (Math.ceil((toMs - first) / MIN_MS[granularity]) > maxBuckets + 1) {
    throw tooMany(granularity, maxBuckets);
  }
  const last = bucketStartOf(toMs - 1, granularity, zone);
  const bounds = boundsThrough(first, last, granularity, zone);
  if (bounds.length - 1 > maxBuckets) throw tooMany(granularity, maxBuckets);
  // Whole buckets round the range out: near either end of the instants the service takes,
  // the first or last bucket would reach a year Postgres is never given (exact-instant.ts).
  if (bounds[0] < MIN_INSTANT_MS || bounds.at(-1)! > MAX_INSTANT_MS) {
    const path = bounds[0] < MIN_INSTANT_MS ? '/from' : '/to';
    throw new DomainError(
      ErrorCode.ValidationFailed,
      `Whole ${granularity} buckets around this range would reach beyond years 0001-9999.`,
      { errors: [{ path, message: `rounds out to a ${granularity} beyond years 0001-9999` }] },
    );
  }
  if (bounds.some((ms) => ms % windowMs !== 0)) {
    throw new DomainError(
      ErrorCode.ValidationFailed,
      `${granularity} buckets in ${zone.name} do not start on ${windowMs / 1000}-second window boundaries.`,
      { errors: [{ path: '/granularity', message: 'is finer than the windows allow here' }] },
    );
  }
  return bounds;
}

function tooMany(granularity: Granularity, maxBuckets: number): DomainError {
  return new DomainError(
    ErrorCode.ValidationFailed,
    `The range holds more than ${maxBuckets} ${granularity} buckets; narrow from/to or use a coarser granularity.`,
    { errors: [{ path: '/granularity', message: `makes more than ${maxBuckets} buckets` }] },
  );
}

/**
 * A boundary as ISO 8601 with the zone's offset at that instant (`Z` for UTC), as luxon's
 * `toISO()` writes it, without building a DateTime: answers format every bucket boundary,
 * and that was most of a cached answer's time.
 */
export function isoInZone(ms: number, zone: IANAZone): string {
  if (zone.name === 'UTC') return new Date(ms).toISOString();
  const offset = offsetOf(ms, zone);
  const local = new Date(ms + offset * 60_000).toISOString();
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local.slice(0, -1)}${sign}${hh}:${mm}`;
}

/** The calendar date (YYYY-MM-DD) in the zone of a day bucket starting at `ms`. */
export function dateInZone(ms: number, zone: IANAZone): string {
  return new Date(ms + offsetOf(ms, zone) * 60_000).toISOString().slice(0, 10);
}

const offsets = new LRUCache<string, number>({ max: 10_000 });

/** The zone's offset in minutes at `ms`; luxon asks Intl each time, and answers repeat their bounds. */
function offsetOf(ms: number, zone: IANAZone): number {
  if (zone.name === 'UTC') return 0;
  const key = `${zone.name}|${ms}`;
  let offset = offsets.get(key);
  if (offset === undefined) {
    offset = zone.offset(ms);
    offsets.set(key, offset);
  }
  return offset;
}

/** The bounds of the `count` buckets that end with the one holding `nowMs`. */
export function lastBuckets(
  nowMs: number,
  count: number,
  granularity: Granularity,
  zone: IANAZone,
): number[] {
  const current = bucketStartOf(nowMs, granularity, zone);
  const fixed = FIXED_MS[granularity];
  const first =
    fixed !== undefined
      ? current - (count - 1) * fixed
      : DateTime.fromMillis(current, { zone })
          .minus({ [UNIT[granularity]]: count - 1 })
          .toMillis();
  return boundsThrough(first, current, granularity, zone);
}
