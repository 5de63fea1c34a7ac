/**
 * Starts a new epoch unless someone else has: if the marker still holds ARGV[1] (the value
 * the caller read, '' for none), it becomes ARGV[2] plus the start in Redis time (ms).
 * Returns the marker as it is afterwards, the caller's or a concurrent detector's.
 * KEYS[1]: the epoch marker.
 */
export const CLAIM_EPOCH_LUA = `
local current = redis.call('GET', KEYS[1])
if (current or '') == ARGV[1] then
  local t = redis.call('TIME')
  current = ARGV[2] .. ':' .. (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
  redis.call('SET', KEYS[1], current)
end
return current
`;
