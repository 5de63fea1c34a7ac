import { DomainError, ErrorCode } from '../errors/domain-error';

type Kind = 'string' | 'number';
type Decoded<K extends readonly Kind[]> = {
  -readonly [I in keyof K]: K[I] extends 'number' ? number : string;
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
    values.every((value, i) => typeof value === kinds[i])
  ) {
    return values as Decoded<K>;
  }
  throw invalidCursor();
}

export function invalidCursor(): DomainError {
  return new DomainError(ErrorCode.ValidationFailed, 'The cursor is not valid.', {
    errors: [{ path: '/cursor', message: 'is not a cursor returned by this endpoint' }],
  });
}
