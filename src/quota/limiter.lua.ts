/**
 * `decide` from limiter-math.ts, atomically. KEYS[1]: the bucket hash (one per customer or
 * API key). ARGV: units, rule count, then per rule: field name, limit, period ms,
 * algorithm. Each rule keeps `<field>:w`, `<field>:c` and `<field>:p` (window index,
 * current and previous units) in the bucket.
 *
 * Time comes from Redis, so every instance judges windows by one clock. Every rule is
 * judged before any is charged: all are charged or none. Zero units only reads. The
 * bucket lives until the last of its windows stops mattering (the end of the current
 * window for fixed, of the next one for sliding), so usage also clears itself.
 *
 * Returns the time used and 1 or 0 (allowed), then per rule the counters as read
 * before rolling (window -1 when absent), for the caller to re-run `decide` on.
 */
export const LIMITER_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local units = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local fields = {}
for i = 1, n do
  local f = ARGV[3 + (i - 1) * 4]
  fields[3 * i - 2] = f .. ':w'
  fields[3 * i - 1] = f .. ':c'
  fields[3 * i] = f .. ':p'
end
local stored = redis.call('HMGET', KEYS[1], unpack(fields))
local out = {now, 1}
local rolled = {}
local keep = 0
for i = 1, n do
  local a = 3 + (i - 1) * 4
  local limit = tonumber(ARGV[a + 1])
  local period = tonumber(ARGV[a + 2])
  local sliding = ARGV[a + 3] == 'sliding'
  local sw = tonumber(stored[3 * i - 2]) or -1
  local c = tonumber(stored[3 * i - 1]) or 0
  local p = tonumber(stored[3 * i]) or 0
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
  rolled[i] = {w, c, p}
  local untilMs = (w + 1) * period
  if sliding then untilMs = untilMs + period end
  if untilMs > keep then keep = untilMs end
end
if out[2] == 1 and units > 0 then
  local set = {}
  for i = 1, n do
    set[#set + 1] = fields[3 * i - 2]
    set[#set + 1] = rolled[i][1]
    set[#set + 1] = fields[3 * i - 1]
    set[#set + 1] = rolled[i][2] + units
    set[#set + 1] = fields[3 * i]
    set[#set + 1] = rolled[i][3]
  end
  redis.call('HSET', KEYS[1], unpack(set))
  if redis.call('PTTL', KEYS[1]) < keep - now then redis.call('PEXPIREAT', KEYS[1], keep) end
end
return out
`;
