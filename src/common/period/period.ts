import type { FieldError } from '../errors/domain-error';

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
type Unit = keyof typeof UNIT_SECONDS;

/** `30s`, `15m`, `1h`, `7d`: a count and one unit, no fractions, no mixtures. */
export const PERIOD_PATTERN = '^[1-9][0-9]{0,7}[smhd]$';

/** A year and a day: long enough for annual plans, short enough for Lua doubles and TTLs. */
export const MAX_PERIOD_SECONDS = 366 * 86_400;

/** A period longer than MAX_PERIOD_SECONDS, as the error at `path`; null when it is not. */
export function periodTooLong(seconds: number, path: string): FieldError | null {
  return seconds > MAX_PERIOD_SECONDS
    ? { path, message: `must be at most ${MAX_PERIOD_SECONDS / 86_400}d` }
    : null;
}

/** Seconds in a period that matches PERIOD_PATTERN; the caller checks periodTooLong. */
export function periodSeconds(period: string): number {
  const unit = period.slice(-1) as Unit;
  return Number(period.slice(0, -1)) * UNIT_SECONDS[unit];
}

/** The canonical spelling, in the largest unit that divides it: 3600 → `1h`, 90 → `90s`. */
export function formatPeriod(seconds: number): string {
  for (const unit of ['d', 'h', 'm'] as const) {
    if (seconds % UNIT_SECONDS[unit] === 0) return `${seconds / UNIT_SECONDS[unit]}${unit}`;
  }
  return `${seconds}s`;
}
