/** Windows are aligned to the Unix epoch, so every instance computes the same boundaries. */
export function windowStartOf(timestampMs: number, windowMs: number): number {
  return Math.floor(timestampMs / windowMs) * windowMs;
}

export function windowEndOf(timestampMs: number, windowMs: number): number {
  return windowStartOf(timestampMs, windowMs) + windowMs;
}

/** A window may be flushed once its end plus the grace period has passed. */
export function isDue(windowEndMs: number, graceMs: number, nowMs: number): boolean {
  return windowEndMs + graceMs <= nowMs;
}

/** Past this, Redis no longer takes events for the window and Postgres raw events are the truth. */
export function isBeyondLateness(
  windowEndMs: number,
  maxLatenessMs: number,
  nowMs: number,
): boolean {
  return nowMs > windowEndMs + maxLatenessMs;
}
