import { DomainError, ErrorCode } from '../errors/domain-error';
import { isUuid } from '../uuid';
import { MAX_INSTANT_MS, MIN_INSTANT_MS } from '../validation/exact-instant';
import { isStorableText } from '../validation/storable-text';

/**
 * What a cursor's values hold, each checked as it is decoded, so a forged cursor is a
 * 400 here and never reaches a query: `string`, text Postgres can store; `uuid`;
 * `timestamp`, whole epoch milliseconds within years 0001–9999 (exact-instant.ts).
 */
const KINDS = {
  string: (value: unknown) => typeof value === 'string' && isStorableText(value),
  uuid: (value: unknown) => typeof value === 'string' && isUuid(value),
  timestamp: (value: unknown) =>
    Number.isSafeInteger(value) &&
    (value as number) >= MIN_INSTANT_MS &&
    (value as number) <= MAX_INSTANT_MS,
};

type Kind = keyof typeof KINDS;
type Decoded<K extends readonly Kind[]> = {
  -readonly [I in keyof K]: K[I] extends 'timestamp' ? number : string;
};

/** Keyset pagination: a cursor is the sort key of a page's last row, opaque to the caller. */
export function encodeCursor(key: (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** Reads a cursor back as the given kinds of values, or answers 400 naming `/cursor`. */
export function decodeCursor<const K extends readonly Kind[]>(
  cursor: string,
  kinds: K,
): Decoded<K> {
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, 'base64url').toString());
  } catch {
    values = undefined;
  }
  if (
    Array.isArray(values) &&
    values.length === kinds.length &&
    values.every((value, i) => KINDS[kinds[i]](value))
  ) {
    return values as Decoded<K>;
  }
  throw new DomainError(ErrorCode.ValidationFailed, 'The cursor is not valid.', {
    errors: [{ path: '/cursor', message: 'is not a cursor returned by this endpoint' }],
  });
}
