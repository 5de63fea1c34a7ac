import { isStorableText, unstorablePaths } from './storable-text';

describe('storable text', () => {
  it.each([
    ['a NUL', 'a\u0000b', false],
    ['a lone high surrogate', 'x\ud800', false],
    ['a lone low surrogate', '\udc00x', false],
    ['a surrogate pair', 'c-\ud83d\ude00', true],
    ['other control characters', 'a\u0001\u001f\u007fb', true],
    ['an escaped backslash-u as text', '\\u0000', true],
  ])('judges %s', (_, text, storable) => {
    expect(isStorableText(text)).toBe(storable);
  });

  it('names every unstorable string and member name by its JSON Pointer, escaped', () => {
    const value = {
      ok: 'fine',
      name: 'a\u0000b',
      list: ['x', 'y\ud800', { 'a/b~c': '\u0000' }],
      ['k\u0000']: 1,
      nested: { deeper: { deepest: '\udfff' } },
    };
    expect(unstorablePaths(value, '/3')).toEqual([
      '/3/k\u0000',
      '/3/list/1',
      '/3/list/2/a~1b~0c',
      '/3/name',
      '/3/nested/deeper/deepest',
    ]);
  });

  it('finds nothing in storable values, scalars included', () => {
    expect(unstorablePaths({ a: [1, true, null, 'ü', { b: '😀' }] })).toEqual([]);
    expect(unstorablePaths(42)).toEqual([]);
    expect(unstorablePaths('\u0000')).toEqual(['']);
  });

  it('walks a value nested far deeper than the call stack allows', () => {
    let deep: unknown = '\u0000';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(unstorablePaths(deep)).toHaveLength(1);
  });
});
