import { shardOf } from './shard';

describe('shardOf', () => {
  it('is stable for a tenant and customer', () => {
    expect(shardOf('t', 'c-42', 16)).toBe(shardOf('t', 'c-42', 16));
  });

  it('spreads one tenant’s customers over every shard', () => {
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[shardOf('tenant', `c-${i}`, 16)]++;
    expect(Math.min(...counts)).toBeGreaterThan(800);
    expect(Math.max(...counts)).toBeLessThan(1200);
  });

  it('separates tenant and customer so the pair cannot collide by concatenation', () => {
    const pairs = [shardOf('ab', 'c', 1024), shardOf('a', 'bc', 1024)];
    expect(pairs[0]).not.toBe(pairs[1]);
  });
});
