/** One route's cumulative latency histogram from /metrics: upper bound (s) → count. */
export type Buckets = { le: number; count: number }[];

/**
 * The 2xx answers of `route` in the Prometheus text of
 * `tally_http_request_duration_seconds`, summed over their status codes.
 */
export function routeBuckets(metricsText: string, route: string): Buckets {
  const pattern =
    /^tally_http_request_duration_seconds_bucket\{le="([^"]+)",method="POST",route="([^"]+)",status="2\d\d"\} (\d+)$/gm;
  const byBound = new Map<number, number>();
  for (const [, le, r, count] of metricsText.matchAll(pattern)) {
    if (r !== route) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    byBound.set(bound, (byBound.get(bound) ?? 0) + Number(count));
  }
  return [...byBound].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/** What was observed between two scrapes, so the warm-up does not count. */
export function subtractBuckets(after: Buckets, before: Buckets): Buckets {
  return after.map((b) => ({
    le: b.le,
    count: b.count - (before.find((o) => o.le === b.le)?.count ?? 0),
  }));
}

/** The smallest bucket bound holding quantile q: a bound, not an interpolation. */
export function histogramQuantile(buckets: Buckets, q: number): string {
  const total = buckets.at(-1)?.count ?? 0;
  const bucket = buckets.find((b) => b.count >= total * q);
  if (total === 0 || bucket === undefined) return '?';
  return bucket.le === Infinity ? '> last bound' : `≤ ${bucket.le * 1000} ms`;
}

/** The share of answers within `seconds` (a bucket bound), as a percentage. */
export function shareWithin(buckets: Buckets, seconds: number): string {
  const total = buckets.at(-1)?.count ?? 0;
  const within = buckets.find((b) => b.le === seconds)?.count;
  return total === 0 || within === undefined ? '?' : `${((100 * within) / total).toFixed(2)} %`;
}
