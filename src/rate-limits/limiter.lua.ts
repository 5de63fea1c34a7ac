/**
 * `decide` from limiter-math.ts, atomically, over one or more bucket hashes (one per
 * customer or API key). KEYS: the buckets. ARGV: the rule count, then per rule: its
 * bucket's index in KEYS (from 1), field name, limit, period ms, algorithm and units to
 * charge. Each rule keeps `<field>:w`, `<field>:c` and `<field>:p` (window index, current
 * and previous units) in its bucket.
 *
 * Time comes from Redis, so every instance judges windows by one clock. Every rule is
 * judged before any is charged: all are charged or none. A rule given zero units is only
 * read. A bucket lives until the last of its charged windows stops mattering (the end of
 * the current window for fixed, of the next one for sliding), so usage also clears itself.
 *
 * Returns the time used and 1 or 0 (allowed), then per rule the counters as read
 * before rolling (window -1 when absent), for the caller to re-run `decide` on.
 */
export const LIMITER_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[1])
local out = {now, 1}
local rules = {}
for i = 1, n do
  local a = 2 + (i - 1) * 6
  local key = KEYS[tonumber(ARGV[a])]
  local f = ARGV[a + 1]
  local limit = tonumber(ARGV[a + 2])
  local period = tonumber(ARGV[a + 3])
  local sliding = ARGV[a + 4] == 'sliding'
  local units = tonumber(ARGV[a + 5])
  local stored = redis.call('HMGET', key, f .. ':w', f .. ':c', f .. ':p')
  local sw = tonumber(stored[1]) or -1
  local c = tonumber(stored[2]) or 0
  local p = tonumber(stored[3]) or 0
  out[#out + 1] = sw
  out[#out + 1] = c
  out[#out + 1] = p
  local w = math.floor(now / period)
  if sw == w - 1 then
    p = c
    c = 0
  elseif sw ~= w then
    p = 0
    c = 0
  end
  local used = c
  if sliding then used = c + (p * (period - (now - w * period))) / period end
  if math.floor(limit - used) < units then out[2] = 0 end
  local untilMs = (w + 1) * period
  if sliding then untilMs = untilMs + period end
  rules[i] = {key = key, f = f, w = w, c = c, p = p, units = units, untilMs = untilMs}
end
if out[2] == 1 then
  local keep = {}
  for i = 1, n do
    local r = rules[i]
    if r.units > 0 then
      redis.call('HSET', r.key, r.f .. ':w', r.w, r.f .. ':c', r.c + r.units, r.f .. ':p', r.p)
      if (keep[r.key] or 0) < r.untilMs then keep[r.key] = r.untilMs end
    end
  end
  for key, untilMs in pairs(keep) do
    if redis.call('PTTL', key) < untilMs - now then redis.call('PEXPIREAT', key, untilMs) end
  end
end
return out
`;
