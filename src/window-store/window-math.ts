/** Windows are aligned to the Unix epoch, so every instance computes the same boundaries. */
export function windowStartOf(timestampMs: number, windowMs: number): number {
  return Math.floor(timestampMs / windowMs) * windowMs;
}

export function windowEndOf(timestampMs: number, windowMs: number): number {
  return windowStartOf(timestampMs, windowMs) + windowMs;
}

/**
 * A window may be flushed once its end plus the grace period has passed: the latest
 * window end that is due now (the closer's bound on the open index's scores).
 */
export function latestDueEnd(nowMs: number, graceMs: number): number {
  return nowMs - graceMs;
}

/** Past this, Redis no longer takes events for the window and Postgres raw events are the truth. */
export function isBeyondLateness(
  windowEndMs: number,
  maxLatenessMs: number,
  nowMs: number,
): boolean {
  return nowMs > windowEndMs + maxLatenessMs;
}
