import { DomainError } from '../errors/domain-error';
import { MAX_INSTANT_MS, MIN_INSTANT_MS } from '../validation/exact-instant';
import { decodeCursor, encodeCursor } from './cursor';

const UUID = '3f0c8a52-6d0e-4a8e-9d43-6f1d2c1b9a70';

function refusal(check: () => unknown): DomainError {
  try {
    check();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('cursor', () => {
  it('gives back the key it was made from', () => {
    expect(decodeCursor(encodeCursor([1700, 'c-1']), ['timestamp', 'string'])).toEqual([
      1700,
      'c-1',
    ]);
    expect(decodeCursor(encodeCursor([UUID]), ['uuid'])).toEqual([UUID]);
    const edges = [MIN_INSTANT_MS, MAX_INSTANT_MS];
    for (const ms of edges) expect(decodeCursor(encodeCursor([ms]), ['timestamp'])).toEqual([ms]);
  });

  it.each([
    ['not base64 JSON', 'abc', ['timestamp', 'string']],
    ['the wrong kinds', encodeCursor(['1700', 'c-1']), ['timestamp', 'string']],
    ['the wrong length', encodeCursor([1700]), ['timestamp', 'string']],
    ['not an array', Buffer.from('{"a":1}').toString('base64url'), ['timestamp', 'string']],
    ['a huge number', encodeCursor([1e308, 'c']), ['timestamp', 'string']],
    ['an instant past year 9999', encodeCursor([8.64e15, 'c']), ['timestamp', 'string']],
    ['an instant before year 0001', encodeCursor([MIN_INSTANT_MS - 1, 'c']), ['timestamp']],
    ['a fraction', encodeCursor([1700.5, 'c']), ['timestamp', 'string']],
    ['a NUL in its text', encodeCursor([1700, 'c\u0000']), ['timestamp', 'string']],
    ['an unpaired surrogate', encodeCursor(['\ud800']), ['string']],
    ['a uuid that is not one', encodeCursor(['not-a-uuid']), ['uuid']],
  ] as const)('refuses %s with a 400 naming the cursor', (_, cursor, kinds) => {
    expect(refusal(() => decodeCursor(cursor, kinds)).extras.errors).toEqual([
      { path: '/cursor', message: expect.any(String) },
    ]);
  });
});
