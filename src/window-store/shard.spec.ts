import { shardOf } from './shard';

describe('shardOf', () => {
  // Golden values, computed outside this code (FNV-1a 32 over the UTF-16 code units of
  // `tenant \0 customer`): a shard is part of every Redis key, so a changed hash would
  // strand every open window and dedup set of a running deployment.
  it.each([
    ['t', 'c-42', 16, 15],
    ['6d3f4c1e-9a51-4c5f-8d2e-111111111111', 'c-1', 16, 11],
    ['6d3f4c1e-9a51-4c5f-8d2e-111111111111', 'acme:eu/42', 16, 5],
    ['tenant', '', 1024, 703],
  ])('maps (%s, %s) over %i shards to %i, in every version', (tenant, customer, shards, shard) => {
    expect(shardOf(tenant, customer, shards)).toBe(shard);
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
