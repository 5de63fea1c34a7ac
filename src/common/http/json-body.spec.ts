import { nestsDeeperThan } from './json-body';

function nested(levels: number, leaf: unknown = 1): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

describe('nestsDeeperThan', () => {
  it('counts the outermost array or object as level 1; scalars add none', () => {
    expect(nestsDeeperThan(7, 0)).toBe(false);
    expect(nestsDeeperThan('x', 0)).toBe(false);
    expect(nestsDeeperThan([], 0)).toBe(true);
    expect(nestsDeeperThan(nested(3), 3)).toBe(false);
    expect(nestsDeeperThan(nested(4), 3)).toBe(true);
    expect(nestsDeeperThan(nested(3, {}), 3)).toBe(true);
    expect(nestsDeeperThan(nested(3, null), 3)).toBe(false);
  });

  it('finds the one deep branch among shallow ones', () => {
    const body = [{ metadata: { a: 1 } }, { metadata: { b: nested(30) } }, { c: 'x' }];
    expect(nestsDeeperThan(body, 32)).toBe(true);
    expect(nestsDeeperThan(body, 33)).toBe(false);
  });

  it('checks a value nested far deeper than the call stack allows', () => {
    expect(nestsDeeperThan(JSON.parse('['.repeat(500_000) + ']'.repeat(500_000)), 32)).toBe(true);
  });
});
