/**
 * Removes flushed windows from the open index, but only those whose hash revision is
 * still the one that was flushed: a late event that arrived during the flush keeps
 * its window open for the next tick. KEYS: open index, window hashes; ARGV: revisions.
 */
export const RELEASE_FLUSHED_LUA = `
for i = 2, #KEYS do
  if (redis.call('HGET', KEYS[i], 'rev') or '') == ARGV[i - 1] then
    redis.call('ZREM', KEYS[1], KEYS[i])
  end
end
return 0
`;

/**
 * Removes recomputed windows from the recompute index unless a newer request (a new
 * score) arrived meanwhile. KEYS[1]: recompute index; ARGV: member, score pairs.
 */
export const RELEASE_RECOMPUTED_LUA = `
for i = 1, #ARGV, 2 do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return 0
`;
