import type { AppConfig } from '../config/app-config';
import { windowEndOf, windowStartOf } from './window-math';

/** What the epoch marker key holds: `<epoch id>:<its start, Redis time in ms>`. */
export interface EpochMarker {
  id: string;
  startedAtMs: number;
  /** The value as stored, for a compare-and-set that replaces exactly what was read. */
  raw: string;
}

const MARKER = /^([0-9a-f-]{36}):(\d+)$/;

/** null for a missing key; a value in any other shape is no epoch of ours either. */
export function parseMarker(raw: string | null): EpochMarker | null {
  const match = raw === null ? null : MARKER.exec(raw);
  if (!match) return null;
  return { id: match[1], startedAtMs: Number(match[2]), raw: raw! };
}

export interface LossHorizon {
  /** The start of the oldest window whose hash Redis could still hold at the loss. */
  recoverFromMs: number;
  /**
   * Windows starting before this may hold events accepted before the loss, so the fresh
   * Redis hash holds only part of them: Postgres owns them (recomputed from raw events).
   */
  ownedBeforeMs: number;
}

/**
 * What a loss found at `startedAtMs` (the new epoch's start; the data was lost before it)
 * leaves to recompute. Every window hash lives until its end + max lateness + the dedup
 * margin, so older windows had nothing in Redis. An event accepted before the loss is
 * timestamped at most the future skew after its acceptance, judged by an instance's
 * clock: the grace covers the difference between that clock and Redis's.
 */
export function lossHorizon(startedAtMs: number, config: AppConfig): LossHorizon {
  const { ms, graceMs, maxLatenessMs, retentionMarginMs } = config.window;
  return {
    recoverFromMs: windowStartOf(startedAtMs - maxLatenessMs - retentionMarginMs, ms),
    ownedBeforeMs: windowEndOf(startedAtMs + config.ingest.maxFutureSkewMs + graceMs, ms),
  };
}
