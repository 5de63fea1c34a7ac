import { DomainError } from '../errors/domain-error';
import { decodeCursor, encodeCursor } from './cursor';

describe('cursor', () => {
  it('gives back the key it was made from', () => {
    expect(decodeCursor(encodeCursor([1700, 'c-1']), ['number', 'string'])).toEqual([1700, 'c-1']);
  });

  it.each([
    ['not base64 JSON', 'abc'],
    ['the wrong kinds', encodeCursor(['1700', 'c-1'])],
    ['the wrong length', encodeCursor([1700])],
    ['not an array', Buffer.from('{"a":1}').toString('base64url')],
  ])('refuses %s with a 400 naming the cursor', (_, cursor) => {
    const thrown = (() => {
      try {
        decodeCursor(cursor, ['number', 'string']);
      } catch (error) {
        return error;
      }
    })();
    expect(thrown).toBeInstanceOf(DomainError);
    expect((thrown as DomainError).extras.errors).toEqual([
      { path: '/cursor', message: expect.any(String) },
    ]);
  });
});
