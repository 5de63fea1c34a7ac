/**
 * RFC 3339 date-time as ajv-formats reads it (separator `T`, `t` or a space; zone `Z`,
 * `z` or an offset, with ISO 8601's `±hh` and `±hhmm` besides `±hh:mm`). Parsed here, not
 * by `Date.parse`, whose answers to those forms are implementation-defined (`+05` is NaN).
 */
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2})(?::?(\d{2}))?)$/;

/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: what Postgres and RFC 3339 both hold. */
export const MIN_INSTANT_MS = -62_135_596_800_000;
export const MAX_INSTANT_MS = 253_402_300_799_999;

/** The rule as a field error states it. */
export const DATE_TIME_RULE =
  'must be an RFC 3339 date-time with a zone naming an exact instant from ' +
  '0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z (a leap second, :60, has none)';

/**
 * The instant a date-time names, in epoch milliseconds (digits beyond the millisecond
 * are dropped), or undefined when it names none: not the grammar above, a day the
 * calendar lacks, a leap second (the engine's clock, like POSIX time, has no 23:59:60),
 * or outside years 0001 to 9999 once the offset is applied.
 */
export function parseInstant(text: string): number | undefined {
  // An event's timestamp is parsed by the schema's format check, then again for its
  // value: the second parse of the same text is this one comparison.
  if (text === last.text) return last.ms;
  const ms = parse(text);
  last.text = text;
  last.ms = ms;
  return ms;
}

const last: { text: string | undefined; ms: number | undefined } = {
  text: undefined,
  ms: undefined,
};

function parse(text: string): number | undefined {
  const m = DATE_TIME.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const offsetMinutes = m[8] ? (m[8] === '-' ? -1 : 1) * (+m[9] * 60 + +(m[10] ?? 0)) : 0;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  if (m[8] && (+m[9] > 23 || +(m[10] ?? 0) > 59)) return undefined;
  // setUTCFullYear, unlike Date.UTC, does not read years 0-99 as 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  const millis = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  const ms = date.getTime() + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + millis;
  return ms >= MIN_INSTANT_MS && ms <= MAX_INSTANT_MS ? ms : undefined;
}

export function isExactInstant(text: string): boolean {
  return parseInstant(text) !== undefined;
}

/** For a value the `date-time` format has already admitted. */
export function instantOf(text: string): number {
  const ms = parseInstant(text);
  if (ms === undefined) throw new Error(`not a validated date-time: ${JSON.stringify(text)}`);
  return ms;
}
